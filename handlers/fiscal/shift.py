"""Fiscal side (issue 5): /shift with X and Z reports, receipts for people, fiscal error notices.

Thin: everything that talks to the PRRO or closes a shift runs after the update's commit
(`after_commit`), through the same use cases the scheduler uses (bot.fiscalization), so no
database transaction is held open while waiting for Checkbox.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services import Services
from bot.usecases.shift_close import close_due_at
from bot.views import fiscal_texts as ft
from bot.views.formatting import clip, local_dt
from bot.views.receipts import load_receipt, receipt_qr, render_receipt
from db.base import utcnow
from db.desk.models import Staff
from db.errors import NotFound
from db.fiscal import queue
from db.fiscal.queue import FiscalKind
from db.money.errors import NoOpenShift, ShiftAlreadyOpen
from db.money.shifts import current_shift, open_shift, shift_is_stale, shift_totals, x_report
from db.notify.templates import client_language
from fiscal import FiscalError, FiscalShiftNotOpen
from handlers.filters import IsStaff
from handlers.ui import callback_message, edit_or_send
from keyboards.callbacks import ReceiptPrintCb
from keyboards.fiscal import (
    FiscalRetryCb,
    ShiftCb,
    close_confirm_markup,
    failed_items_markup,
    receipt_markup,
    shift_markup,
)

logger = logging.getLogger(__name__)
AfterCommit = list[Callable[[], Awaitable[Any]]]


async def shift_card(session: AsyncSession, staff: Staff, lang: str, settings: Settings,
                     services: Services) -> tuple[str, InlineKeyboardMarkup]:
    """The /shift screen: the open shift with its totals so far, or the last closed one."""
    now = utcnow()
    tz = settings.tz
    shift = await current_shift(session)
    backlog = await queue.backlog(session)
    lines: list[str] = []
    if shift is None:
        lines.append(_("🧾 <b>Кассовая смена не открыта</b>"))
        last = await queue.last_closed_shift(session)
        if last is not None and last.closed_at is not None:
            lines.append(_("Последняя: №{number}, закрыта {date}").format(
                number=last.number, date=local_dt(last.closed_at, tz, lang)))
        lines.append(_("Смена откроется сама с первой оплатой."))
    else:
        report = await shift_totals(session, staff, shift.id)
        lines.append(_("🧾 <b>Кассовая смена №{number}</b> — открыта").format(
            number=shift.number))
        lines.append(_("Открыта {date} ({age} назад)").format(
            date=local_dt(shift.opened_at, tz, lang), age=ft.duration(now - shift.opened_at)))
        lines.append("")
        lines.extend(ft.money_lines(report, lang))
        overdue = now >= close_due_at(shift.opened_at, settings.autoclose_time, tz)
        warning = ft.shift_age_warning(shift.opened_at, now,
                                       stale=shift_is_stale(shift, now), overdue=overdue)
        if warning:
            lines.append("")
            lines.append(warning)
    lines.append("")
    if services.fiscal_enabled:
        lines.append(_("ПРРО Checkbox: в очереди {pending}, с ошибкой {errors}.").format(
            pending=backlog.pending, errors=backlog.errors))
    else:
        lines.append(_("Чеки внутренние (ПРРО не подключён)."))
    if settings.autoclose_time is not None:
        lines.append(_("Автозакрытие смены в {time}.").format(time=settings.shift_autoclose_at))
    else:
        lines.append(_("Автозакрытие выключено: закрывайте смену здесь."))
    keyboard = shift_markup(can_manage=staff.is_manager_or_owner, is_open=shift is not None,
                            shift_id=shift.id if shift else 0, errors=backlog.errors)
    return "\n".join(lines), keyboard


def setup(settings: Settings) -> Router:
    router = Router(name="fiscal")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())

    async def _deny(query: CallbackQuery) -> None:
        await query.answer(_("Это могут только владелец и менеджер."), show_alert=True)

    # ---- /shift -------------------------------------------------------------------------
    @router.message(Command("shift"))
    async def shift_command(message: Message, session: AsyncSession, staff: Staff, lang: str,
                            services: Services) -> None:
        text, keyboard = await shift_card(session, staff, lang, settings, services)
        await message.answer(text, reply_markup=keyboard)

    @router.callback_query(ShiftCb.filter(F.action == "show"))
    async def shift_show(query: CallbackQuery, session: AsyncSession, staff: Staff, lang: str,
                         services: Services) -> None:
        text, keyboard = await shift_card(session, staff, lang, settings, services)
        await edit_or_send(query, text, keyboard)
        await query.answer()

    @router.callback_query(ShiftCb.filter(F.action == "open"))
    async def shift_open(query: CallbackQuery, session: AsyncSession, staff: Staff, lang: str,
                         services: Services, after_commit: AfterCommit, bot: Bot,
                         i18n: I18n) -> None:
        if not staff.is_manager_or_owner:
            await _deny(query)
            return
        try:
            shift = await open_shift(session, staff)
        except ShiftAlreadyOpen:
            await query.answer(_("Смена уже открыта."), show_alert=True)
        else:
            await query.answer(_("Смена №{number} открыта.").format(number=shift.number))
        text, keyboard = await shift_card(session, staff, lang, settings, services)
        await edit_or_send(query, text, keyboard)
        if not services.fiscal_enabled:
            return
        chat_id = query.from_user.id

        async def open_fiscal_shift() -> None:
            try:
                fiscal_shift = await services.fiscal.open_shift()
                message = _("Смена в ПРРО открыта (№{serial}).").format(
                    serial=fiscal_shift.serial or "—")
            except FiscalError as exc:
                message = _("Смену в ПРРО открыть не удалось: {error}\nОна откроется сама "
                            "перед первым фискальным чеком.").format(error=exc.message)
            await bot.send_message(chat_id, message)

        after_commit.append(_in_locale(i18n, lang, open_fiscal_shift))

    @router.callback_query(ShiftCb.filter(F.action == "x"))
    async def shift_x(query: CallbackQuery, session: AsyncSession, staff: Staff, lang: str,
                      services: Services, after_commit: AfterCommit, bot: Bot,
                      i18n: I18n) -> None:
        if not staff.is_manager_or_owner:
            await _deny(query)
            return
        try:
            report = await x_report(session, staff)
        except NoOpenShift:
            await query.answer(_("Смена не открыта."), show_alert=True)
            return
        lines = [_("📊 <b>X-отчёт</b> · смена №{number} · {date}").format(
            number=report.number, date=local_dt(utcnow(), settings.tz, lang))]
        lines.extend(ft.money_lines(report, lang))
        chat_id = query.from_user.id
        await bot.send_message(chat_id, clip("\n".join(lines)))
        await query.answer()
        if not services.fiscal_enabled:
            return

        async def fiscal_x() -> None:
            try:
                fiscal_report = await services.fiscal.x_report()
                text = "\n".join(ft.fiscal_report_lines(fiscal_report, lang))
            except FiscalShiftNotOpen:
                text = _("В ПРРО смена ещё не открыта: фискальных чеков в этой смене не было.")
            except FiscalError as exc:
                text = _("X-отчёт ПРРО получить не удалось: {error}").format(error=exc.message)
            await bot.send_message(chat_id, clip(text))

        after_commit.append(_in_locale(i18n, lang, fiscal_x))

    @router.callback_query(ShiftCb.filter(F.action == "z"))
    async def shift_z(query: CallbackQuery, session: AsyncSession, staff: Staff) -> None:
        if not staff.is_manager_or_owner:
            await _deny(query)
            return
        shift = await current_shift(session)
        if shift is None:
            await query.answer(_("Смена не открыта."), show_alert=True)
            return
        text = _("Закрыть смену №{number}?\n\nОставшиеся чеки уйдут в ПРРО, будет снят "
                 "Z-отчёт. Следующая оплата откроет новую смену.").format(number=shift.number)
        await edit_or_send(query, text, close_confirm_markup(shift.id))
        await query.answer()

    @router.callback_query(ShiftCb.filter(F.action == "zok"))
    async def shift_z_confirmed(query: CallbackQuery, callback_data: ShiftCb, staff: Staff,
                                lang: str, services: Services,
                                session_factory: async_sessionmaker[AsyncSession],
                                after_commit: AfterCommit, bot: Bot, i18n: I18n) -> None:
        if not staff.is_manager_or_owner:
            await _deny(query)
            return
        runtime = services.fiscal_runtime
        runtime.attach_bot(bot, i18n)
        await query.answer(_("Закрываю смену…"))
        await edit_or_send(query, _("⏳ Закрываю смену: отправляю оставшиеся чеки, снимаю "
                                    "Z-отчёт…"))
        chat_id, actor_id = query.from_user.id, staff.id

        async def close() -> None:
            result = await runtime.closer.close(actor_id=actor_id, reason="manual",
                                                expected_shift_id=callback_data.id)
            if result.status == "closed":
                text = ft.close_summary(result, lang, settings.tz,
                                        fiscal=services.fiscal_enabled)
            elif result.status == "failed":
                text = ft.close_failed(result, lang, automatic=False)
            else:
                text = _("Эта смена уже закрыта.")
            await bot.send_message(chat_id, clip(text))

        after_commit.append(_in_locale(i18n, lang, close))

    @router.callback_query(ShiftCb.filter(F.action == "errs"))
    async def fiscal_errors(query: CallbackQuery, session: AsyncSession, lang: str) -> None:
        items = await queue.failed_items(session, limit=10)
        if not items:
            await query.answer(_("Ошибок фискализации нет."), show_alert=True)
            return
        lines = [_("⚠️ <b>Не фискализировано</b> (ПРРО отказал):")]
        lines.extend(ft.failed_item_line(item, lang, settings.tz) for item in items)
        lines.append(_("Проверьте причину в кабинете Checkbox, затем нажмите «Повторить»."))
        buttons = [(item.kind.value, item.row_id,
                    ft.item_title(item.kind, item.row_id, item.receipt_kind, item.amount, lang))
                   for item in items]
        await edit_or_send(query, "\n".join(lines), failed_items_markup(buttons))
        await query.answer()

    @router.callback_query(FiscalRetryCb.filter())
    async def fiscal_retry(query: CallbackQuery, callback_data: FiscalRetryCb,
                           session: AsyncSession, services: Services,
                           session_factory: async_sessionmaker[AsyncSession],
                           after_commit: AfterCommit, bot: Bot, i18n: I18n) -> None:
        try:
            kind = FiscalKind(callback_data.kind)
        except ValueError:
            kind = None
        if kind is None or not await queue.request_retry(session, kind, callback_data.id,
                                                         utcnow()):
            await query.answer(_("Этот чек уже не в ошибке (или не найден)."), show_alert=True)
            return
        # The retry loop is woken by the commit (db.signals).
        await query.answer(_("Поставлено в очередь: отправлю в ПРРО сейчас."))
        message = callback_message(query)
        if message is not None and message.text:
            await edit_or_send(query, message.html_text + "\n\n" + _("🔁 Повтор запрошен."))

    # ---- receipts for people ------------------------------------------------------------
    @router.callback_query(ReceiptPrintCb.filter())
    async def print_receipt(query: CallbackQuery, callback_data: ReceiptPrintCb,
                            session: AsyncSession, lang: str, bot: Bot, i18n: I18n) -> None:
        try:
            bundle = await load_receipt(session, callback_data.id)
        except NotFound:
            await query.answer(_("Чек не найден."), show_alert=True)
            return
        qr = receipt_qr(bundle)
        if not callback_data.to_client:
            text = render_receipt(bundle, settings, lang)
            markup = receipt_markup(bundle.receipt.id,
                                    client_linked=bundle.client_chat_id is not None)
            await bot.send_message(query.from_user.id, text, reply_markup=markup)
            if qr is not None:
                await bot.send_photo(query.from_user.id, BufferedInputFile(qr, "receipt-qr.png"),
                                     caption=_("QR-код для проверки чека на сайте налоговой"))
            await query.answer()
            return
        chat_id = bundle.client_chat_id
        if chat_id is None:
            await query.answer(_("Клиент не подключён к боту: чек можно показать с экрана."),
                               show_alert=True)
            return
        client_lang = client_language(bundle.client.language if bundle.client else None,
                                      settings.client_language)
        with i18n.use_locale(client_lang):
            text = render_receipt(bundle, settings, client_lang, for_client=True)
            caption = _("QR-код для проверки чека на сайте налоговой")
        try:
            await bot.send_message(chat_id, text)
            if qr is not None:
                await bot.send_photo(chat_id, BufferedInputFile(qr, "receipt-qr.png"),
                                     caption=caption)
        except TelegramForbiddenError:
            await query.answer(_("Клиент заблокировал бота: чек не доставлен."), show_alert=True)
            return
        except TelegramAPIError as exc:
            logger.warning("receipt %s to client chat failed: %s", bundle.receipt.id, exc)
            await query.answer(_("Не удалось отправить чек клиенту, попробуйте позже."),
                               show_alert=True)
            return
        await query.answer(_("Чек отправлен клиенту."))

    return router


def _in_locale(i18n: I18n, lang: str, job: Callable[[], Awaitable[None]]
               ) -> Callable[[], Awaitable[None]]:
    """after_commit jobs run outside the update's i18n context: give them the reader's."""

    async def run() -> None:
        with i18n.context(), i18n.use_locale(lang):
            await job()

    return run
