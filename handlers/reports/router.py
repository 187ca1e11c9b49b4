"""The reports' router tree, in the order updates try it: the totals' screens (owners, and
managers the owner allowed), then the screens of owners and managers, then the refusals for
whatever of the section is left (handlers/reports/access.py says who sees what)."""

from __future__ import annotations

from aiogram import Router

from handlers.reports import (
    access,
    exports,
    menu,
    payroll,
    period,
    receipts,
    today,
)
from handlers.reports import settings as report_settings


def setup() -> Router:
    root = Router(name="reports")
    root.include_routers(
        today.setup(),
        period.setup(),
        payroll.setup(),
        exports.setup(),
        menu.setup(),
        receipts.setup(),
        report_settings.setup(),
        access.setup(),
    )
    return root
