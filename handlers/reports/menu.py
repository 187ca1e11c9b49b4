"""The "📊 Отчеты" section: its menu, by the reply-keyboard button, /report without dates
and "← Отчеты". Managers without the totals see the receipts only."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from db.desk.models import Staff
from db.engine import DbSession
from db.reports.settings import can_see_totals
from handlers.filters import TextIs
from handlers.reports.access import desk_router
from handlers.reports.common import local_today
from handlers.ui import edit_or_send
from keyboards.menu import REPORTS
from keyboards.reports import ReportAction, ReportCb, reports_menu


async def show_menu(target: Message | CallbackQuery, session: DbSession, staff: Staff,
                    settings: Settings) -> None:
    allowed = await can_see_totals(session, staff)
    text = _("📊 <b>Отчеты</b>")
    if allowed:
        text += "\n" + _("Итоги дня, периоды, чеки, зарплата мастеров и выгрузка в "
                         "CSV/XLSX. Быстро: /today, /today вчера, /report 01.11 15.11.")
    else:
        text += "\n" + _("Чеки: поиск, возвраты, печать.")
    await edit_or_send(target, text, reports_menu(local_today(settings), totals=allowed))


async def section(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                  settings: Settings) -> None:
    await state.clear()
    await show_menu(message, session, staff, settings)


async def menu_button(query: CallbackQuery, session: DbSession, staff: Staff,
                      settings: Settings) -> None:
    await show_menu(query, session, staff, settings)
    await query.answer()


def setup() -> Router:
    router = desk_router("reports.menu")
    router.message.register(section, TextIs(REPORTS))
    router.callback_query.register(menu_button, ReportCb.filter(F.action == ReportAction.MENU))
    return router
