"""Receipts the PRRO refused: the list under /shift and "🔁 Повторить" (also under the staff
notice of a refusal), which puts one back in the fiscal queue; the commit wakes the worker."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views import fiscal_texts as ft
from db.base import utcnow
from db.desk.models import Staff
from db.engine import DbSession
from db.fiscal import queue
from handlers.filters import CallbackPrefixes, IsStaff
from handlers.ui import callback_message, edit_and_answer, edit_or_send
from keyboards.fiscal import FiscalRetryCb, ShiftAction, ShiftCb, failed_items_markup

FAILED_SHOWN = 10  # refused items listed (and given a button) at once


def not_in_error() -> str:
    return _("Этот чек уже не в ошибке (или не найден).")


async def fiscal_errors(query: CallbackQuery, session: DbSession, lang: str,
                        settings: Settings) -> None:
    items = await queue.failed_items(session, limit=FAILED_SHOWN)
    if not items:
        await query.answer(_("Ошибок фискализации нет."), show_alert=True)
        return
    lines = [_("⚠️ <b>Не фискализировано</b> (ПРРО отказал):")]
    lines.extend(ft.failed_item_line(item, lang, settings.tz) for item in items)
    lines.append(_("Проверьте причину в кабинете Checkbox, затем нажмите «Повторить»."))
    buttons = [(item.kind, item.row_id,
                ft.item_title(item.kind, item.row_id, item.receipt_kind, item.amount, lang))
               for item in items]
    await edit_and_answer(query, "\n".join(lines), failed_items_markup(buttons))


async def fiscal_retry(query: CallbackQuery, callback_data: FiscalRetryCb,
                       session: DbSession, staff: Staff) -> None:
    if not await queue.request_retry(session, callback_data.kind, callback_data.id, utcnow(),
                                     staff):
        await query.answer(not_in_error(), show_alert=True)
        return
    await query.answer(_("Поставлено в очередь: отправлю в ПРРО сейчас."))
    message = callback_message(query)
    if message is not None and message.text:
        await edit_or_send(query, message.html_text + "\n\n" + _("🔁 Повтор запрошен."))


async def unreadable_retry(query: CallbackQuery) -> None:
    """A retry button whose data does not parse (forged, or from an older release): nothing
    to retry, said the same way as for a receipt that is no longer in error."""
    await query.answer(not_in_error(), show_alert=True)


def setup() -> Router:
    router = Router(name="fiscal_retries")
    router.callback_query.filter(IsStaff())
    router.callback_query.register(fiscal_errors, ShiftCb.filter(F.action == ShiftAction.ERRORS))
    router.callback_query.register(fiscal_retry, FiscalRetryCb.filter())
    router.callback_query.register(unreadable_retry, CallbackPrefixes([FiscalRetryCb]))
    return router
