"""Staff side of client notifications (issue 7).

* events.py — hooks registered at import: intake confirmation (AFTER_INTAKE); the "notify?"
  prompt on READY, the estimate on "approval", status updates (AFTER_STATUS); the delivery
  state on the card (CARD_LINES) and its buttons (CARD_ROWS);
* card.py — the card's buttons: ✅ ready shortcut, template taps, "не уведомлять", retry, QR;
* templates.py — /templates (owner, manager);
* switches.py — /settings → 🔔 (owner).

The client side (linking by contact, /start st_<token>, /status, estimate answers) lives in
handlers/client.py.
"""

from __future__ import annotations

from aiogram import Router

from bot.config import Settings
from handlers.notify import card, events, switches, templates

__all__ = ["events", "setup"]


def setup(settings: Settings) -> Router:
    events.register()
    router = Router(name="notify")
    router.include_router(card.setup(settings))
    router.include_router(templates.setup(settings))
    router.include_router(switches.setup(settings))
    return router
