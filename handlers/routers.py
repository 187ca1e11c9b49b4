"""The router tree: every feature's router, in the order updates try them. Each module builds
fresh routers in its `setup()`, so every Dispatcher (one per test) gets its own."""

from __future__ import annotations

import logging

from aiogram import Router

from bot.config import Settings
from handlers import (
    client,
    clients,
    comments,
    common,
    deny,
    intake,
    staff_admin,
    tickets,
)
from handlers.fiscal import shift
from handlers.money import (
    cash,
    closing,
    expenses,
    pay,
    pay_split,
    pay_types,
    price_edit,
    price_list,
    receipt_lines,
    receipts,
    refunds,
)
from handlers.notify import card as notify_card
from handlers.notify import switches, templates
from handlers.reports import screens as reports

log = logging.getLogger(__name__)


def setup_routers(settings: Settings) -> Router:
    root = Router(name="root")
    root.include_routers(
        common.setup(settings),  # /start, /help, /cancel: for everyone, in any state
        staff_admin.setup(settings),
        intake.setup(settings),
        receipts.setup(),
        receipt_lines.setup(),
        pay.setup(),
        pay_split.setup(),
        expenses.setup(),
        closing.setup(),
        refunds.setup(),
        price_list.setup(),
        price_edit.setup(),
        cash.setup(),
        pay_types.setup(),
        shift.setup(settings),
        reports.setup(settings),
        notify_card.setup(settings),
        templates.setup(settings),
        switches.setup(settings),
        tickets.setup(),
        comments.setup(),
        # Clients last among staff routers: it owns the catch-all "typed a phone or a name".
        clients.setup(settings),
        client.setup(settings),  # what clients (non-staff) see
        deny.setup(settings),  # the rest: strangers learn nothing, stale buttons get a hint
    )
    return root


def describe(router: Router, depth: int = 0) -> list[str]:
    """The tree as indented names (logged at start, so a reader sees the order)."""
    lines = ["  " * depth + (router.name or "?")]
    for sub in router.sub_routers:
        lines.extend(describe(sub, depth + 1))
    return lines
