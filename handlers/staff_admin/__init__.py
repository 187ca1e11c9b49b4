"""The owner's administration: staff and invites (staff.py), the settings menu and the device
types (settings.py), the intake receipt's terms (receipt_terms.py). Every handler here is for
the owner only; db.desk checks it again."""

from __future__ import annotations

from aiogram import Router

from handlers.staff_admin import receipt_terms, settings, staff


def setup() -> Router:
    router = Router(name="staff_admin")
    router.include_routers(staff.setup(), settings.setup(), receipt_terms.setup())
    return router
