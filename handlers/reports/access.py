"""Who sees what in the reports. Checked by router filters on every message and button:

- owner: everything;
- manager: the receipts list always (refunds and reprints are their job); the totals
  (/today, /report, payroll, exports) when the owner allows it in ⚙️ Настройки → 📊 Отчёты;
- master: "no access".

Screen modules take their router from `totals_router` or `desk_router`; `setup()` here
builds the refusals, which router.py includes after every screen, so they only get what no
screen took. The report settings are the owner's alone (handlers/reports/settings.py).
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command, Filter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from db.desk.models import Role, Staff
from db.engine import DbSession
from db.reports.settings import can_see_totals
from handlers.filters import IsStaff, TextIs
from keyboards.menu import REPORTS
from keyboards.reports import (
    ExportCb,
    ReceiptOpenCb,
    ReceiptsCb,
    ReportCb,
    ReportSettingsCb,
)


class SeesTotals(Filter):
    """Owners, and managers when the owner allowed them the totals."""

    async def __call__(self, event: TelegramObject, staff: Staff | None = None,
                       session: DbSession | None = None, **_: Any) -> bool:
        if staff is None or session is None:
            return False
        return await can_see_totals(session, staff)


def _router(name: str, *filters: Filter) -> Router:
    router = Router(name=name)
    router.message.filter(*filters)
    router.callback_query.filter(*filters)
    return router


def totals_router(name: str) -> Router:
    """For the totals' screens: owners, and managers the owner allowed."""
    return _router(name, IsStaff(Role.OWNER, Role.MANAGER), SeesTotals())


def desk_router(name: str) -> Router:
    """For the screens of owners and managers alike."""
    return _router(name, IsStaff(Role.OWNER, Role.MANAGER))


def no_totals_text() -> str:
    return _("⛔ Итоги и отчёты видит владелец. Он может открыть их менеджерам: "
             "⚙️ Настройки → 📊 Отчёты и сводка.")


def masters_refused_text() -> str:
    return _("⛔ Нет доступа: отчёты видят владелец и менеджеры.")


async def totals_refused(message: Message) -> None:
    await message.answer(no_totals_text())


async def totals_refused_button(query: CallbackQuery) -> None:
    await query.answer(no_totals_text(), show_alert=True)


async def masters_refused(message: Message) -> None:
    await message.answer(masters_refused_text())


async def masters_refused_button(query: CallbackQuery) -> None:
    await query.answer(masters_refused_text(), show_alert=True)


def setup() -> Router:
    router = Router(name="reports.refused")
    managers = IsStaff(Role.MANAGER)  # here: those the owner has not shown the totals
    router.message.register(totals_refused, managers, Command("today", "report"))
    for totals_button in (ReportCb, ExportCb):
        router.callback_query.register(totals_refused_button, managers, totals_button.filter())
    masters = IsStaff(Role.MASTER)
    router.message.register(masters_refused, masters, Command("today", "report"))
    router.message.register(masters_refused, masters, TextIs(REPORTS))
    for any_button in (ReportCb, ReceiptsCb, ReceiptOpenCb, ExportCb, ReportSettingsCb):
        router.callback_query.register(masters_refused_button, masters, any_button.filter())
    return router
