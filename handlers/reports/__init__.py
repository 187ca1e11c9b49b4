"""Owner reports (issue 6): /today, /report, receipts list, payroll, exports, digest.
Filled in by the reports work."""

from __future__ import annotations

from aiogram import Router

from bot.config import Settings


def setup(settings: Settings) -> Router:
    return Router(name="reports")
