"""A refund by amount (💵 on a line of the refund screen): the person types how much of the
line's money goes back (500 of a 1 500 service), up to what is left of it; the refund screen
(handlers/money/refunds.py) then shows it with the picked items, and the rest of the refund
is the same. The bound is checked again by db.money.refunds when the refund is made."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import h, money
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.refunds import RefundableLine, refundable_lines
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, update
from handlers.money.common import (
    alert,
    flow_reply,
    money_error,
    remember_ui,
    stale,
    typed_amount_of,
)
from handlers.money.forms import RefundData, RefundForm
from handlers.money.refunds import allowed, refund_form, render_pick
from handlers.ui import edit_and_answer
from keyboards.callbacks import RefundAction, RefundCb
from keyboards.common import button, markup


def back(receipt_id: int) -> InlineKeyboardMarkup:
    return markup([[button(_("← К возврату"), RefundCb(action=RefundAction.PAGE,
                                                        id=receipt_id))]])


def prompt(item: RefundableLine, lang: str) -> str:
    return _("💵 Сколько вернуть за «{name}»? Можно до {left}. Например 500. "
             "Отмена — /cancel.").format(name=h(item.line.name),
                                         left=money(item.available_amount, lang))


async def line_of(session: DbSession, receipt_id: int, line_id: int | None
                  ) -> RefundableLine | None:
    for item in await refundable_lines(session, receipt_id):
        if item.line.id == line_id and item.available_amount > 0:
            return item
    return None


async def ask_amount(query: CallbackQuery, callback_data: RefundCb, session: DbSession,
                     state: FSMContext, staff: Staff, lang: str) -> None:
    if not await allowed(query, staff):
        return
    form = await refund_form(state, callback_data.id)
    item = await line_of(session, callback_data.id, callback_data.arg)
    if form is None or item is None:
        await alert(query, stale())
        return
    form = await update(state, form, amount_line=item.line.id)
    await state.set_state(RefundForm.amount)
    await edit_and_answer(query, prompt(item, lang), back(form.receipt_id))
    await remember_ui(query, state, form)


async def typed_amount(message: Message, session: DbSession, state: FSMContext,
                       staff: Staff, lang: str, settings: Settings) -> None:
    form = await load(state, RefundData)
    item = (await line_of(session, form.receipt_id, form.amount_line)
            if form is not None and staff.is_manager_or_owner else None)
    if form is None or item is None:
        await state.set_state(None)
        await message.answer(stale())
        return
    amount = await typed_amount_of(message)
    if amount is None:
        return
    try:
        item.check_refund_amount(amount)  # checked again when the refund is made
    except DomainError as exc:
        await message.answer(money_error(exc))
        return
    line_id = item.line.id
    form = await update(
        state, form, amount_line=None, amounts={**form.amounts, line_id: amount},
        selection={k: v for k, v in form.selection.items() if k != line_id})
    await state.set_state(None)
    text, kb = await render_pick(session, form, 0, lang, settings.tz)
    await flow_reply(message, state, form, text, kb)


async def wrong_amount(message: Message) -> None:
    await message.answer(_("Напишите сумму числом, например 500 или 1 200,50. "
                           "Отмена — /cancel."))


def setup() -> Router:
    router = Router(name="money.refund_amount")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(ask_amount, RefundCb.filter(F.action == RefundAction.AMOUNT))
    router.message.register(typed_amount, RefundForm.amount, F.text, NotCommand())
    router.message.register(wrong_amount, RefundForm.amount, NotCommand())
    return router
