"""Telegram UI: one Router per feature, built in factories so each Dispatcher gets fresh ones."""

from __future__ import annotations

from aiogram import Router

from bot.config import Settings


def setup_routers(settings: Settings) -> Router:
    from handlers import (
        client,
        clients,
        common,
        deny,
        fiscal,
        intake,
        money,
        notify,
        reports,
        staff_admin,
        tickets,
    )

    root = Router(name="root")
    root.include_router(common.setup(settings))
    root.include_router(staff_admin.setup(settings))
    root.include_router(intake.setup(settings))
    root.include_router(money.setup(settings))
    root.include_router(fiscal.setup(settings))
    root.include_router(reports.setup(settings))
    root.include_router(notify.setup(settings))
    root.include_router(tickets.setup(settings))
    # Clients last among staff routers: it owns the catch-all "typed a phone or a name".
    root.include_router(clients.setup(settings))
    root.include_router(client.setup(settings))
    root.include_router(deny.setup(settings))
    return root
