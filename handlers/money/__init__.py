"""Money at the desk (issue 4): the ticket's "Оплата" and "Расходы" tabs, paying with change and
split parts, closing a ticket with the master's commission, the price list (/services), the
drawer (/cash, "💰 Касса", quick sales), refunds and the owner's payment types.

Hooks into shared screens (ticket card, menu section, settings entry, error texts) are
registered once, at import: `setup()` runs once per Dispatcher and only builds routers."""

from __future__ import annotations

from aiogram import Router

from bot.config import Settings
from handlers.money import (
    card,
    cash,
    closing,
    common,
    expenses,
    pay,
    pay_types,
    price_list,
    receipts,
    refunds,
)
from handlers.staff_admin import SETTINGS_ITEMS

card.register()
cash.register()
common.register_error_texts()
if pay_types.settings_button not in SETTINGS_ITEMS:
    SETTINGS_ITEMS.append(pay_types.settings_button)


def setup(settings: Settings) -> Router:
    router = Router(name="money")
    for module in (receipts, pay, expenses, closing, refunds, price_list, cash, pay_types):
        router.include_router(module.setup(settings))
    return router
