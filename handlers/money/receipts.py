"""The "💳 Оплата" tab: a ticket's receipts (and quick sales from the drawer), one receipt,
"Новый чек", removing a line, deleting an unpaid receipt. Typing lines is receipt_lines.py."""

from __future__ import annotations

import math

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import money
from bot.views.receipts import line_text
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.receipts import (
    create_receipt,
    delete_receipt,
    get_receipt,
    remove_line,
    start_receipt,
)
from handlers.filters import IsStaff
from handlers.money.common import PAGE, alert, leave_form, money_error, paid_error
from handlers.money.forms import ReceiptForm
from handlers.money.receipt_lines import back_to_receipt, start_adding
from handlers.money.views import receipt_screen, render_tab
from handlers.ui import edit_and_answer, edit_or_send
from keyboards.common import button, markup, pager
from keyboards.money import CashAction, CashCb, ReceiptAction, ReceiptCb


async def tab(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
              state: FSMContext, lang: str, settings: Settings) -> None:
    await leave_form(state)
    text, kb = await render_tab(session, callback_data.id, callback_data.arg, lang, settings.tz)
    await edit_and_answer(query, text, kb)


async def view(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
               state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    await leave_form(state)
    text, kb = await receipt_screen(session, callback_data.id, staff, lang, settings)
    await edit_and_answer(query, text, kb)


async def new(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
              state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    try:
        receipt = await start_receipt(session, staff, callback_data.id)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    await start_adding(query, session, state, receipt.id, staff, lang, settings)
    await query.answer(_("Чек №{id} создан").format(id=receipt.id))


async def quick_sale(query: CallbackQuery, session: DbSession, state: FSMContext, staff: Staff,
                     lang: str, settings: Settings) -> None:
    receipt = await create_receipt(session, staff, None)
    await start_adding(query, session, state, receipt.id, staff, lang, settings)
    await query.answer()


async def add(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
              state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    receipt = await get_receipt(session, callback_data.id)
    if receipt.is_paid:
        await alert(query, paid_error(receipt.id))
        return
    await start_adding(query, session, state, receipt.id, staff, lang, settings)
    await query.answer()


async def pick_line(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
                    lang: str) -> None:
    receipt = await get_receipt(session, callback_data.id)
    lines = receipt.lines
    pages = max(1, math.ceil(len(lines) / PAGE))
    page = min(max(callback_data.arg, 0), pages - 1)
    rows = [[button("✖ " + line_text(page * PAGE + i, line, lang, html=False),
                    ReceiptCb(action=ReceiptAction.DROP_LINE, id=receipt.id, arg=line.id))]
            for i, line in enumerate(lines[page * PAGE:(page + 1) * PAGE], 1)]
    rows.append(pager(page, pages, lambda p: ReceiptCb(action=ReceiptAction.PICK_LINE,
                                                       id=receipt.id, arg=p)))
    rows.extend(back_to_receipt(receipt.id).inline_keyboard)
    await edit_and_answer(query, _("Какую строку убрать из чека №{id}?").format(id=receipt.id),
                          markup(rows))


async def drop_line(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
                    staff: Staff, lang: str, settings: Settings) -> None:
    try:
        await remove_line(session, staff, callback_data.arg, receipt_id=callback_data.id)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    text, kb = await receipt_screen(session, callback_data.id, staff, lang, settings)
    await edit_and_answer(query, text, kb, note=_("Строка убрана"))


async def ask_delete(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
                     lang: str) -> None:
    receipt = await get_receipt(session, callback_data.id)
    if receipt.is_paid:
        await alert(query, paid_error(receipt.id))
        return
    await edit_and_answer(query, _("Удалить неоплаченный чек №{id} на {amount}?").format(
        id=receipt.id, amount=money(receipt.total, lang)), markup([[
            button(_("🗑 Да, удалить"),
                   ReceiptCb(action=ReceiptAction.DELETE_OK, id=receipt.id)),
            button(_("Нет"), ReceiptCb(action=ReceiptAction.VIEW, id=receipt.id))]]))


async def do_delete(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
                    state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    try:
        ticket_id = (await get_receipt(session, callback_data.id)).ticket_id
        await delete_receipt(session, staff, callback_data.id)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    if await state.get_state() in ReceiptForm.__all_states_names__:
        await state.set_state(None)
    if ticket_id is None:
        await edit_or_send(query, _("Чек №{id} удалён.").format(id=callback_data.id),
                           markup([[button(_("← Касса"), CashCb(action=CashAction.VIEW))]]))
    else:
        text, kb = await render_tab(session, ticket_id, 0, lang, settings.tz)
        await edit_or_send(query, text, kb)
    await query.answer(_("Чек №{id} удалён").format(id=callback_data.id))


def setup() -> Router:
    router = Router(name="money.receipts")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(tab, ReceiptCb.filter(F.action == ReceiptAction.TAB))
    router.callback_query.register(view, ReceiptCb.filter(F.action == ReceiptAction.VIEW))
    router.callback_query.register(new, ReceiptCb.filter(F.action == ReceiptAction.NEW))
    router.callback_query.register(quick_sale, CashCb.filter(F.action == CashAction.SALE))
    router.callback_query.register(add, ReceiptCb.filter(F.action == ReceiptAction.ADD))
    router.callback_query.register(pick_line,
                                   ReceiptCb.filter(F.action == ReceiptAction.PICK_LINE))
    router.callback_query.register(drop_line,
                                   ReceiptCb.filter(F.action == ReceiptAction.DROP_LINE))
    router.callback_query.register(ask_delete, ReceiptCb.filter(F.action == ReceiptAction.DELETE))
    router.callback_query.register(do_delete,
                                   ReceiptCb.filter(F.action == ReceiptAction.DELETE_OK))
    return router
