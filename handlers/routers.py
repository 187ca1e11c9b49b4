"""The router tree: every feature's router, in the order updates try them. Each module builds
fresh routers in its `setup()`, so every Dispatcher (one per test) gets its own."""

from __future__ import annotations

import logging

from aiogram import Router

from bot.config import Settings
from handlers import (
    audit_log,
    backup,
    client,
    client_answers,
    clients,
    comments,
    common,
    deny,
    import_clients,
    intake,
    intake_receipt,
    staff_admin,
    tickets,
)
from handlers.fiscal import receipts as fiscal_receipts
from handlers.fiscal import retries as fiscal_retries
from handlers.fiscal import shift as fiscal_shift
from handlers.gates import gate_callbacks, gate_messages, grouped
from handlers.money import (
    cash,
    cash_settings,
    closing,
    expenses,
    pay,
    pay_split,
    pay_types,
    price_edit,
    price_list,
    receipt_lines,
    receipts,
    refund_amount,
    refunds,
)
from handlers.notify import card as notify_card
from handlers.notify import switches, template_form, templates
from handlers.reports import router as reports

log = logging.getLogger(__name__)


def setup_routers(settings: Settings) -> Router:
    features = feature_routers(settings)
    for feature in features:
        gate_callbacks(feature)
        gate_messages(feature)
    root = Router(name="root")
    root.include_routers(*grouped(features))
    return root


def feature_routers(settings: Settings) -> list[Router]:
    """Every feature's router, fresh, in the order updates try them."""
    return [
        common.setup(),  # /start, /help, /cancel: for everyone, in any state
        staff_admin.setup(),
        intake.setup(),
        receipts.setup(),
        receipt_lines.setup(),
        pay.setup(),
        pay_split.setup(),
        expenses.setup(),
        closing.setup(),
        refunds.setup(),
        refund_amount.setup(),
        price_list.setup(),
        price_edit.setup(),
        cash.setup(),
        cash_settings.setup(),
        pay_types.setup(),
        fiscal_shift.setup(),
        fiscal_retries.setup(),
        fiscal_receipts.setup(),
        reports.setup(),
        notify_card.setup(),
        templates.setup(),
        template_form.setup(),
        switches.setup(),
        tickets.setup(),
        intake_receipt.setup(),
        comments.setup(),
        backup.setup(),  # /backup (owner)
        audit_log.setup(),  # /audit (owner): money, statuses, access
        import_clients.setup(),  # a .csv/.xlsx sent outside any form (owner)
        # Clients last among staff routers: it owns the catch-all "typed a phone or a name".
        clients.setup(),
        client.setup(),  # what clients (non-staff) see
        client_answers.setup(),
        deny.setup(),  # the rest: strangers learn nothing, stale buttons get a hint
    ]


def describe(router: Router, depth: int = 0) -> list[str]:
    """The tree as indented names (logged at start, so a reader sees the order)."""
    name = router.name if depth else "dispatcher"
    lines = ["  " * depth + name]
    for sub in router.sub_routers:
        lines.extend(describe(sub, depth + 1))
    return lines
