"""What the report screens share: the shop's today and the period a button carries."""

from __future__ import annotations

from datetime import date

from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from db.reports.periods import MAX_DAYS, Period
from db.reports.queries import today_in
from keyboards.reports import ExportCb, ReceiptsCb, ReportCb, period_of


def local_today(settings: Settings) -> date:
    return today_in(settings.tz)


def button_period(data: ReportCb | ExportCb | ReceiptsCb) -> Period | None:
    """The period a button carries; None when forged or longer than reports go."""
    period = period_of(data.start, data.end)
    if period is None or period.days > MAX_DAYS:
        return None
    return period


async def answer_stale(query: CallbackQuery) -> None:
    await query.answer(_("Кнопка устарела."), show_alert=True)
