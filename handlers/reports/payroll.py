"""The masters' payroll over a period (commissions as stamped when tickets were closed)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.config import Settings
from db.engine import DbSession
from db.reports.periods import adjacent
from db.reports.queries import payroll
from handlers.reports.access import totals_router
from handlers.reports.common import answer_stale, button_period, local_today
from handlers.reports.render import render_payroll
from handlers.ui import edit_and_answer
from keyboards.reports import ReportAction, ReportCb, payroll_keyboard


async def payroll_button(query: CallbackQuery, callback_data: ReportCb, session: DbSession,
                         lang: str, settings: Settings) -> None:
    period = button_period(callback_data)
    if period is None:
        await answer_stale(query)
        return
    result = await payroll(session, period, settings.tz)
    previous, following = adjacent(period, local_today(settings))
    await edit_and_answer(query, render_payroll(result, lang),
                          payroll_keyboard(period, previous, following))


def setup() -> Router:
    router = totals_router("reports.payroll")
    router.callback_query.register(payroll_button,
                                   ReportCb.filter(F.action == ReportAction.PAYROLL))
    return router
