"""A period's totals: /report [from] [to], the period buttons, and "✏️ Другой период" (the
period typed in a form). One day is shown as that day's totals."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from db.desk.models import Staff
from db.engine import DbSession
from db.reports.periods import BadPeriod, Period, adjacent, parse_period
from db.reports.queries import period_report
from handlers.filters import NotCommand
from handlers.forms import load, save
from handlers.reports.access import totals_router
from handlers.reports.common import answer_stale, button_period, local_today
from handlers.reports.error_texts import bad_period_text
from handlers.reports.forms import PeriodData, ReportForm
from handlers.reports.menu import show_menu
from handlers.reports.render import render_period
from handlers.reports.today import show_day
from handlers.ui import callback_message, edit_or_send
from keyboards.reports import ReportAction, ReportCb, period_keyboard


def period_examples() -> str:
    return _("Примеры: /report 01.11 15.11, /report 01.11.2026 30.11.2026, /report 2026-11-20, "
             "/report неделя, /report месяц, /report прошлый месяц, /report год.")


async def show_period(target: Message | CallbackQuery, session: DbSession, period: Period,
                      lang: str, settings: Settings) -> None:
    if period.is_day:
        await show_day(target, session, period.start, lang, settings)
        return
    report = await period_report(session, period, settings.tz)
    previous, following = adjacent(period, local_today(settings))
    await edit_or_send(target, render_period(report, lang, settings.tz),
                       period_keyboard(period, previous, following))


async def report_command(message: Message, command: CommandObject, session: DbSession,
                         state: FSMContext, staff: Staff, lang: str, settings: Settings
                         ) -> None:
    await state.clear()
    args = (command.args or "").strip()
    if not args:
        await show_menu(message, session, staff, settings)
        return
    try:
        period = parse_period(args, local_today(settings))
    except BadPeriod as exc:
        await message.answer(bad_period_text(exc) + "\n" + period_examples())
        return
    await show_period(message, session, period, lang, settings)


async def period_button(query: CallbackQuery, callback_data: ReportCb, session: DbSession,
                        lang: str, settings: Settings) -> None:
    period = button_period(callback_data)
    if period is None:
        await answer_stale(query)
        return
    await show_period(query, session, period, lang, settings)
    await query.answer()


async def ask_period(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ReportForm.period)
    await save(state, PeriodData.start())
    if (message := callback_message(query)) is not None:
        await message.answer(_("Напишите день или период: 20.11 · 01.11 15.11 · "
                               "01.11.2026 30.11.2026 · неделя · месяц · прошлый месяц · "
                               "год. Отмена — /cancel."))
    await query.answer()


async def period_typed(message: Message, session: DbSession, state: FSMContext, lang: str,
                       settings: Settings) -> None:
    if await load(state, PeriodData) is None:
        await state.clear()
        await message.answer(_("Форма устарела — откройте 📊 Отчеты заново."))
        return
    try:
        period = parse_period(message.text or "", local_today(settings))
    except BadPeriod as exc:
        await message.answer(bad_period_text(exc) + "\n" + _("Попробуйте ещё раз или "
                                                             "/cancel."))
        return
    await state.clear()
    await show_period(message, session, period, lang, settings)


async def period_wrong(message: Message) -> None:
    await message.answer(_("Нужны даты текстом, например: 01.11 15.11 или «прошлый "
                           "месяц». Отмена — /cancel."))


def setup() -> Router:
    router = totals_router("reports.period")
    router.message.register(report_command, Command("report"))
    router.callback_query.register(period_button,
                                   ReportCb.filter(F.action == ReportAction.PERIOD))
    router.callback_query.register(ask_period, ReportCb.filter(F.action == ReportAction.ASK))
    router.message.register(period_typed, ReportForm.period, F.text, NotCommand())
    router.message.register(period_wrong, ReportForm.period, NotCommand())
    return router
