"""Exports: the choice of files for a period, and the CSV/XLSX file itself.

Receipts: the update only checks that the period has any (one index probe) and commits; the
file is built after the commit by handlers/reports/receipts_export.py, streamed from its own
read-only session with a progress message. Payroll (a row per master) is read in the update
and built and uploaded after the commit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from aiogram import F, Router
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.unit_of_work import AfterCommit
from bot.views.exports import filename, payroll_csv, payroll_xlsx
from bot.views.formatting import money
from db.engine import DbSession, DbSessionFactory
from db.reports.export_rows import has_receipts
from db.reports.periods import Period, period_range
from db.reports.queries import payroll
from handlers.reports.access import totals_router
from handlers.reports.common import answer_stale, button_period
from handlers.reports.receipts_export import ReceiptsExport
from handlers.reports.render import period_title
from handlers.ui import callback_message, edit_and_answer
from keyboards.reports import (
    ExportCb,
    ExportFormat,
    ExportWhat,
    ReportAction,
    ReportCb,
    export_keyboard,
)

EXTENSION = {ExportFormat.CSV: "csv", ExportFormat.XLSX: "xlsx"}


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str
    caption: str
    build: Callable[[], bytes]  # run in a thread after the commit


async def export_menu(query: CallbackQuery, callback_data: ReportCb, lang: str) -> None:
    period = button_period(callback_data)
    if period is None:
        await answer_stale(query)
        return
    await edit_and_answer(query, _("📤 <b>Выгрузка: {period}</b>\nЧеки — каждая строка "
                                   "каждого чека; зарплата — по мастерам.").format(
        period=period_title(period, lang)), export_keyboard(period))


async def payroll_file(session: DbSession, period: Period, fmt: ExportFormat, lang: str,
                       settings: Settings) -> ExportFile | None:
    """Per master, and in XLSX every ticket behind it (None: no tickets closed)."""
    result = await payroll(session, period, settings.tz, with_tickets=fmt == ExportFormat.XLSX)
    if not result.masters:
        return None
    caption = _("💰 Зарплата мастеров за {period}: итого {sum}").format(
        period=period_title(period, lang), sum=money(result.total, lang))
    build = (partial(payroll_csv, result) if fmt == ExportFormat.CSV
             else partial(payroll_xlsx, result, settings.tz))
    return ExportFile(filename("payroll", period.start, period.end, EXTENSION[fmt]), caption,
                      build)


async def send_file(message: Message, file: ExportFile, i18n: I18n, lang: str) -> None:
    with i18n.context(), i18n.use_locale(lang):
        data = await asyncio.to_thread(file.build)
        await message.answer_document(BufferedInputFile(data, filename=file.name),
                                      caption=file.caption)


async def export_file(query: CallbackQuery, callback_data: ExportCb, session: DbSession,
                      lang: str, settings: Settings, i18n: I18n,
                      session_factory: DbSessionFactory,
                      after_commit: list[AfterCommit]) -> None:
    period = button_period(callback_data)
    message = callback_message(query)
    if period is None:
        await answer_stale(query)
        return
    if message is None:
        await query.answer()
        return
    if callback_data.what == ExportWhat.LINES:
        if not await has_receipts(session, *period_range(period, settings.tz)):
            await query.answer(_("За этот период чеков нет."), show_alert=True)
            return
        after_commit.append(ReceiptsExport(message, period, callback_data.fmt, lang, settings,
                                           i18n, session_factory))
    else:
        file = await payroll_file(session, period, callback_data.fmt, lang, settings)
        if file is None:
            await query.answer(_("За этот период нет выданных обращений."), show_alert=True)
            return
        after_commit.append(partial(send_file, message, file, i18n, lang))
    await query.answer(_("Готовлю файл…"))


def setup() -> Router:
    router = totals_router("reports.exports")
    router.callback_query.register(export_menu, ReportCb.filter(F.action == ReportAction.EXPORT))
    router.callback_query.register(export_file, ExportCb.filter())
    return router
