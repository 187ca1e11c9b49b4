"""Money at the desk (issue 4): payments tab, expenses tab, closing a ticket, price list,
cash drawer, shifts, refunds. Filled in by the money UI work."""

from __future__ import annotations

from aiogram import Router

from bot.config import Settings


def setup(settings: Settings) -> Router:
    return Router(name="money")
