"""Taking payment for a receipt: one payment type (cash asks "Получено" and shows the change) or
split into parts (pay_split.py); a confirmation screen; then paid, with who, when and how.

The plan being put together is the form's data (PayData); the domain checks it again when
paying, so a stale or forged screen cannot pay a wrong amount or pay twice."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.services import Services
from bot.usecases.payment import pay
from bot.views.formatting import h, local_dt, money
from bot.views.receipts import payment_text
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.amounts import parse_amount
from db.money.errors import ReceiptPaid
from db.money.models import PaymentKind, PaymentType, Receipt
from db.money.payment_types import get_payment_type, list_payment_types, payment_types_by_id
from db.money.payments import PaymentPlan
from db.money.receipts import get_receipt
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, save, update
from handlers.money.common import (
    alert,
    money_error,
    paid_error,
    remember_ui,
    show_step,
    stale,
)
from handlers.money.forms import MoneyForm, PayData, PayForm
from handlers.money.views import paid_rows, plan_lines, receipt_screen, suggestions, type_buttons
from handlers.ui import edit_and_answer, edit_or_send
from keyboards.common import button, markup
from keyboards.money import (
    PayAction,
    PayCb,
    ReceiptAction,
    ReceiptCb,
)


async def payable(query: CallbackQuery, session: DbSession, receipt_id: int, staff: Staff,
                  lang: str, settings: Settings) -> Receipt | None:
    """The receipt if it can still be paid; otherwise say why and show it."""
    receipt = await get_receipt(session, receipt_id)
    if receipt.is_paid:
        await show_paid(query, session, receipt.id, staff, lang, settings)
        return None
    return receipt


async def show_paid(query: CallbackQuery, session: DbSession, receipt_id: int, staff: Staff,
                    lang: str, settings: Settings) -> None:
    """A tap on a receipt paid meanwhile: the receipt as it is now, and why nothing happened."""
    text, kb = await receipt_screen(session, receipt_id, staff, lang, settings)
    await edit_or_send(query, text, kb)
    await alert(query, paid_error(receipt_id))


async def pay_form(state: FSMContext, receipt_id: int) -> PayData | None:
    """The payment being put together for this receipt, None when it is not the current one."""
    form = await load(state, PayData)
    return form if form is not None and form.receipt_id == receipt_id else None


async def new_form(state: FSMContext, receipt_id: int, plan: PaymentPlan) -> PayData:
    previous = await load(state, MoneyForm)
    form = PayData(receipt_id=receipt_id, parts=list(plan.parts),
                   ui_id=previous.ui_id if previous else None)
    await save(state, form)
    return form


# ---- choosing how -----------------------------------------------------------------------

async def start(query: CallbackQuery, callback_data: PayCb, session: DbSession,
                state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    """Cash is preselected (the first active cash type): the screen asks at once how much was
    handed over; other types and a split are buttons on it. Without a cash type: the types."""
    receipt = await payable(query, session, callback_data.id, staff, lang, settings)
    if receipt is None:
        return
    types = await list_payment_types(session)
    cash = next((t for t in types if t.kind == PaymentKind.CASH), None)
    if cash is not None:
        await cash_screen(query, state, receipt, cash, types, lang)
        return
    await state.set_state(None)
    await new_form(state, receipt.id, PaymentPlan(receipt.total))
    await edit_and_answer(query, _("💳 Оплата чека №{id}: <b>{total}</b>\nКак платит клиент?"
                                   ).format(id=receipt.id, total=money(receipt.total, lang)),
                          markup([*other_ways(receipt, types, None, lang),
                                  [back_to_receipt(receipt)]]))


def back_to_receipt(receipt: Receipt) -> InlineKeyboardButton:
    return button(_("← Чек"), ReceiptCb(action=ReceiptAction.VIEW, id=receipt.id))


def other_ways(receipt: Receipt, types: list[PaymentType], chosen: PaymentType | None,
               lang: str) -> list[list[InlineKeyboardButton]]:
    """The payment types but `chosen`, and a split."""
    return [*type_buttons([t for t in types if chosen is None or t.id != chosen.id], lang,
                          lambda t: PayCb(action=PayAction.TYPE, id=receipt.id, arg=t.id)),
            [button(_("➗ Частями (наличные + карта)"),
                    PayCb(action=PayAction.SPLIT, id=receipt.id))]]


async def pick_type(query: CallbackQuery, callback_data: PayCb, session: DbSession,
                    state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    receipt = await payable(query, session, callback_data.id, staff, lang, settings)
    if receipt is None:
        return
    # Every type at once, for the confirmation's lines: the chosen one then comes from the
    # session's identity map, without a statement of its own.
    types = await payment_types_by_id(session)
    try:
        payment_type = await get_payment_type(session, callback_data.arg)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    if payment_type.kind == PaymentKind.CASH:
        await cash_screen(query, state, receipt, payment_type,
                          await list_payment_types(session), lang)
        return
    form = await new_form(state, receipt.id, PaymentPlan.whole(receipt.total, payment_type))
    await state.set_state(None)
    await confirm_screen(query, session, state, form, receipt, lang, types)


async def cash_screen(query: CallbackQuery, state: FSMContext, receipt: Receipt,
                      cash: PaymentType, types: list[PaymentType], lang: str) -> None:
    """The whole receipt in `cash`: typing the sum handed over (or a tap on a round sum, or
    "Без сдачи") leads to the confirmation with the change."""
    form = await new_form(state, receipt.id, PaymentPlan.whole(receipt.total, cash))
    await state.set_state(PayForm.received)
    quick = [button(money(s, lang), PayCb(action=PayAction.RECEIVED, id=receipt.id, arg=s))
             for s in suggestions(receipt.total)]
    rows = [[button(_("Без сдачи — ровно {total}").format(total=money(receipt.total, lang)),
                    PayCb(action=PayAction.EXACT, id=receipt.id))], quick,
            *other_ways(receipt, types, cash, lang), [back_to_receipt(receipt)]]
    await edit_and_answer(query, _(
        "💳 Оплата чека №{id}: <b>{total}</b>\n💵 {type}: сколько получено от клиента? "
        "Напишите сумму или нажмите кнопку — покажу сдачу. Другой способ оплаты — кнопкой ниже."
    ).format(id=receipt.id, type=h(cash.title(lang)), total=money(receipt.total, lang)),
        markup(rows))
    await remember_ui(query, state, form)


# ---- cash received ----------------------------------------------------------------------

async def received_button(query: CallbackQuery, callback_data: PayCb, session: DbSession,
                          state: FSMContext, staff: Staff, lang: str,
                          settings: Settings) -> None:
    """"Без сдачи" (exactly the cash part) or a suggested sum handed over."""
    receipt = await payable(query, session, callback_data.id, staff, lang, settings)
    if receipt is None:
        return
    form = await pay_form(state, receipt.id)
    if form is None or not form.parts:
        await alert(query, stale())
        return
    received = callback_data.arg if callback_data.action == PayAction.RECEIVED else None
    try:
        plan = form.plan(receipt.total).receive(received)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    form = await update(state, form, parts=list(plan.parts))
    await state.set_state(None)
    await confirm_screen(query, session, state, form, receipt, lang)


async def ask_received(query: CallbackQuery, callback_data: PayCb, session: DbSession,
                       state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    """From a split's confirmation: type how much cash was handed over."""
    receipt = await payable(query, session, callback_data.id, staff, lang, settings)
    if receipt is None:
        return
    form = await pay_form(state, receipt.id)
    if form is None:
        await alert(query, stale())
        return
    await state.set_state(PayForm.received)
    await edit_and_answer(query, _("Сколько наличных получено от клиента? Напишите сумму — "
                                   "покажу сдачу."),
                          markup([[button(_("← Назад"),
                                          PayCb(action=PayAction.CONFIRM, id=receipt.id))]]))
    await remember_ui(query, state, form)


async def typed_received(message: Message, session: DbSession, state: FSMContext,
                         lang: str) -> None:
    form = await load(state, PayData)
    if form is None:
        await state.set_state(None)
        await message.answer(stale())
        return
    receipt = await get_receipt(session, form.receipt_id)
    try:
        plan = form.plan(receipt.total).receive(parse_amount(message.text or ""))
    except DomainError as exc:
        await message.answer(money_error(exc))
        return
    form = await update(state, form, parts=list(plan.parts))
    await state.set_state(None)
    await confirm_screen(message, session, state, form, receipt, lang)


async def wrong_received(message: Message) -> None:
    await message.answer(_("Напишите, сколько получено, числом: например 2000 или "
                           "1 200,50. Отмена — /cancel."))


# ---- confirm and pay --------------------------------------------------------------------

async def confirm_screen(target: CallbackQuery | Message, session: DbSession,
                         state: FSMContext, form: PayData, receipt: Receipt, lang: str,
                         types: dict[int, PaymentType] | None = None) -> None:
    plan = form.plan(receipt.total)
    lines = [_("Проверьте оплату чека №{id}:").format(id=receipt.id),
             _("Итого: <b>{total}</b>").format(total=money(receipt.total, lang)),
             *await plan_lines(session, plan, lang, types)]
    if plan.change:
        lines.append(_("💵 <b>Сдача: {change}</b>").format(change=money(plan.change, lang)))
    rows: list[list[InlineKeyboardButton]] = [
        [button(_("✅ Оплачено"), PayCb(action=PayAction.OK, id=receipt.id))]]
    if len(plan.parts) > 1 and plan.has_cash:
        rows.append([button(_("💵 Дали больше — посчитать сдачу"),
                            PayCb(action=PayAction.MORE, id=receipt.id))])
    rows.append([button(_("← Изменить"), PayCb(action=PayAction.START, id=receipt.id))])
    await show_step(target, state, form, "\n".join(lines), markup(rows))


async def back_to_confirm(query: CallbackQuery, callback_data: PayCb, session: DbSession,
                          state: FSMContext, staff: Staff, lang: str,
                          settings: Settings) -> None:
    receipt = await payable(query, session, callback_data.id, staff, lang, settings)
    if receipt is None:
        return
    form = await pay_form(state, receipt.id)
    if form is None:
        await alert(query, stale())
        return
    await state.set_state(None)
    await confirm_screen(query, session, state, form, receipt, lang)


async def pay_now(query: CallbackQuery, callback_data: PayCb, session: DbSession,
                  state: FSMContext, staff: Staff, lang: str, settings: Settings,
                  services: Services) -> None:
    """Pays without reading the receipt first: the domain reads and checks it under its lock
    anyway, so the usual tap costs one read of it, not two."""
    form = await pay_form(state, callback_data.id)
    if form is None or not form.parts:
        if await payable(query, session, callback_data.id, staff, lang, settings) is not None:
            await alert(query, _("Оплата не собрана — начните заново: «💳 Оплатить»."))
        return
    # Loaded first, the types are where the domain looks up the parts' types (no query each).
    types = await payment_types_by_id(session)
    try:
        paid = await pay(session, staff, callback_data.id, [p.to_pay() for p in form.parts],
                         fiscal=services.fiscal_enabled)
    except ReceiptPaid:
        await show_paid(query, session, callback_data.id, staff, lang, settings)
        return
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    await state.clear()
    lines = [_("✅ Чек №{id} оплачен: <b>{total}</b>").format(
        id=paid.receipt.id, total=money(paid.receipt.total, lang)),
        *(payment_text(p, types, lang) for p in paid.receipt.payments)]
    if paid.change:
        lines.append(_("💵 <b>Сдача: {change}</b>").format(change=money(paid.change, lang)))
    lines.append(_("Принял: {who}, {at}").format(
        who=h(staff.name), at=local_dt(paid.paid_at, settings.tz, lang)))
    await edit_and_answer(query, "\n".join(lines), markup(paid_rows(paid)), note=_("Оплачено"))


def setup() -> Router:
    router = Router(name="money.pay")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(start, PayCb.filter(F.action == PayAction.START))
    router.callback_query.register(pick_type, PayCb.filter(F.action == PayAction.TYPE))
    router.callback_query.register(
        received_button, PayCb.filter(F.action.in_({PayAction.EXACT, PayAction.RECEIVED})))
    router.callback_query.register(ask_received, PayCb.filter(F.action == PayAction.MORE))
    router.message.register(typed_received, PayForm.received, F.text, NotCommand())
    router.message.register(wrong_received, PayForm.received, NotCommand())
    router.callback_query.register(back_to_confirm, PayCb.filter(F.action == PayAction.CONFIRM))
    router.callback_query.register(pay_now, PayCb.filter(F.action == PayAction.OK))
    return router
