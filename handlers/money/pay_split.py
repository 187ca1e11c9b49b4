"""Paying a receipt in parts ("Частями": cash + card, …): each part's type, then its amount
(typed, or "Весь остаток"), until nothing is left; then the confirmation of pay.py. What is
left and the change are the plan's (db.money.payments.PaymentPlan)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import h, money
from bot.views.receipts import kind_icon
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.amounts import parse_amount
from db.money.models import PaymentType, Receipt
from db.money.payment_types import get_payment_type, list_payment_types
from db.money.payments import PaymentPlan
from db.money.receipts import get_receipt
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, update
from handlers.money.common import (
    alert,
    money_error,
    refuse,
    remember_ui,
    show_step,
    stale,
)
from handlers.money.forms import PayData, PayForm
from handlers.money.pay import confirm_screen, new_form, pay_form, payable
from handlers.money.views import plan_lines, type_buttons
from handlers.ui import edit_and_answer
from keyboards.common import button, markup
from keyboards.money import PayAction, PayCb


async def split_screen(target: CallbackQuery | Message, session: DbSession, state: FSMContext,
                       form: PayData, receipt: Receipt, lang: str) -> None:
    plan = form.plan(receipt.total)
    lines = [_("➗ Оплата частями, чек №{id}: <b>{total}</b>").format(
        id=receipt.id, total=money(receipt.total, lang)), *await plan_lines(session, plan, lang),
        _("Осталось: <b>{left}</b>. Чем платят следующую часть?").format(
            left=money(plan.left, lang))]
    rows = type_buttons(await list_payment_types(session), lang,
                        lambda t: PayCb(action=PayAction.PART, id=receipt.id, arg=t.id))
    if plan.parts:
        rows.append([button(_("↺ Сначала"), PayCb(action=PayAction.RESET, id=receipt.id))])
    rows.append([button(_("← Назад"), PayCb(action=PayAction.START, id=receipt.id))])
    await show_step(target, state, form, "\n".join(lines), markup(rows))


async def split(query: CallbackQuery, callback_data: PayCb, session: DbSession,
                state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    """"Частями" and "↺ Сначала": a split from nothing."""
    receipt = await payable(query, session, callback_data.id, staff, lang, settings)
    if receipt is None:
        return
    await state.set_state(None)
    form = await new_form(state, receipt.id, PaymentPlan(receipt.total))
    await split_screen(query, session, state, form, receipt, lang)


async def back_to_split(query: CallbackQuery, callback_data: PayCb, session: DbSession,
                        state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    receipt = await payable(query, session, callback_data.id, staff, lang, settings)
    if receipt is None:
        return
    form = await pay_form(state, receipt.id)
    if form is None:
        await alert(query, stale())
        return
    await state.set_state(None)
    await split_screen(query, session, state, form, receipt, lang)


async def add_part(target: CallbackQuery | Message, session: DbSession, state: FSMContext,
                   form: PayData, receipt: Receipt, payment_type: PaymentType, amount: int,
                   lang: str) -> None:
    try:
        plan = form.plan(receipt.total).add(payment_type, amount)
    except DomainError as exc:
        await refuse(target, money_error(exc))  # the amount prompt stays for another try
        return
    form = await update(state, form, parts=list(plan.parts), part_type_id=None)
    await state.set_state(None)
    if plan.left == 0:
        await confirm_screen(target, session, state, form, receipt, lang)
    else:
        await split_screen(target, session, state, form, receipt, lang)


async def part(query: CallbackQuery, callback_data: PayCb, session: DbSession,
               state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    """A part by a type: its amount is asked ("Весь остаток" is one tap)."""
    receipt = await payable(query, session, callback_data.id, staff, lang, settings)
    if receipt is None:
        return
    form = await pay_form(state, receipt.id)
    if form is None:
        await alert(query, stale())
        return
    try:
        payment_type = await get_payment_type(session, callback_data.arg)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    left = form.plan(receipt.total).left
    await state.set_state(PayForm.part)
    form = await update(state, form, part_type_id=payment_type.id)
    await edit_and_answer(query, _("{icon} {type}: какая сумма? Осталось {left}.").format(
        icon=kind_icon(payment_type.kind), type=h(payment_type.title(lang)),
        left=money(left, lang)),
        markup([[button(_("Весь остаток {left}").format(left=money(left, lang)),
                           PayCb(action=PayAction.REST, id=receipt.id, arg=payment_type.id))],
                [button(_("← Назад"), PayCb(action=PayAction.BACK, id=receipt.id))]]))
    await remember_ui(query, state, form)


async def rest(query: CallbackQuery, callback_data: PayCb, session: DbSession,
               state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    receipt = await payable(query, session, callback_data.id, staff, lang, settings)
    if receipt is None:
        return
    form = await pay_form(state, receipt.id)
    if form is None:
        await alert(query, stale())
        return
    try:
        payment_type = await get_payment_type(session, callback_data.arg)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    left = form.plan(receipt.total).left
    await add_part(query, session, state, form, receipt, payment_type, left, lang)


async def typed_part(message: Message, session: DbSession, state: FSMContext,
                     lang: str) -> None:
    form = await load(state, PayData)
    if form is None or form.part_type_id is None:
        await state.set_state(None)
        await message.answer(stale())
        return
    try:
        amount = parse_amount(message.text or "")
        payment_type = await get_payment_type(session, form.part_type_id)
    except DomainError as exc:
        await message.answer(money_error(exc))
        return
    receipt = await get_receipt(session, form.receipt_id)
    await add_part(message, session, state, form, receipt, payment_type, amount, lang)


async def wrong_part(message: Message) -> None:
    await message.answer(_("Напишите сумму этой части числом, например 500 или 1 200,50. "
                           "Отмена — /cancel."))


def setup() -> Router:
    router = Router(name="money.pay_split")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(
        split, PayCb.filter(F.action.in_({PayAction.SPLIT, PayAction.RESET})))
    router.callback_query.register(back_to_split, PayCb.filter(F.action == PayAction.BACK))
    router.callback_query.register(part, PayCb.filter(F.action == PayAction.PART))
    router.callback_query.register(rest, PayCb.filter(F.action == PayAction.REST))
    router.message.register(typed_part, PayForm.part, F.text, NotCommand())
    router.message.register(wrong_part, PayForm.part, NotCommand())
    return router
