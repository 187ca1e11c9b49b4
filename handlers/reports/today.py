"""A day's totals: /today [day] and the day buttons (◀ ▶, Сегодня, Вчера)."""

from __future__ import annotations

from datetime import date

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from db.base import utcnow
from db.engine import DbSession
from db.reports.periods import BadPeriod, parse_day
from db.reports.queries import day_report
from handlers.reports.access import totals_router
from handlers.reports.common import answer_stale, button_period, local_today
from handlers.reports.error_texts import bad_period_text
from handlers.reports.render import render_day
from handlers.ui import edit_or_send
from keyboards.reports import ReportAction, ReportCb, day_keyboard


def day_examples() -> str:
    return _("Примеры: /today 20.11, /today 20.11.2026, /today 2026-11-20, /today вчера, "
             "/today позавчера.")


async def show_day(target: Message | CallbackQuery, session: DbSession, day: date, lang: str,
                   settings: Settings) -> None:
    now = utcnow()
    report = await day_report(session, day, settings.tz, now=now)
    await edit_or_send(target, render_day(report, lang, settings.tz, now),
                       day_keyboard(day, local_today(settings)))


async def today_command(message: Message, command: CommandObject, session: DbSession,
                        state: FSMContext, lang: str, settings: Settings) -> None:
    await state.clear()
    args = (command.args or "").strip()
    today = local_today(settings)
    try:
        day = parse_day(args, today) if args else today
    except BadPeriod as exc:
        await message.answer(bad_period_text(exc) + "\n" + day_examples())
        return
    await show_day(message, session, day, lang, settings)


async def day_button(query: CallbackQuery, callback_data: ReportCb, session: DbSession,
                     lang: str, settings: Settings) -> None:
    period = button_period(callback_data)
    if period is None:
        await answer_stale(query)
        return
    await show_day(query, session, period.start, lang, settings)
    await query.answer()


def setup() -> Router:
    router = totals_router("reports.today")
    router.message.register(today_command, Command("today"))
    router.callback_query.register(day_button, ReportCb.filter(F.action == ReportAction.DAY))
    return router
