"""Taking payment for a receipt: one payment type (cash asks "Получено" and shows the change),
or split into parts; a confirmation screen; then paid, with who, when and how.

The parts being put together live in FSM data (`pay`: receipt id, parts); the domain checks
them again when paying, so a stale or forged screen cannot pay a wrong amount or pay twice."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services import Services
from bot.views.formatting import h, local_dt, money
from db.desk.models import Staff
from db.desk.tickets import get_ticket
from db.errors import DomainError
from db.money.amounts import parse_amount
from db.money.errors import ReceivedTooLittle
from db.money.models import PaymentKind, PaymentType, Receipt
from db.money.payment_types import get_payment_type, list_payment_types
from db.money.payments import pay_receipt
from db.money.receipts import get_receipt
from handlers.filters import IsStaff, NotCommand
from handlers.money.common import (
    alert,
    flow_reply,
    money_error,
    paid_error,
    remember_ui,
    stale,
)
from handlers.money.views import (
    kind_icon,
    payment_types_by_id,
    payments_block,
    render_receipt,
    type_buttons,
)
from handlers.ui import edit_or_send
from keyboards.callbacks import ReceiptPrintCb, TicketAction, TicketCb
from keyboards.common import button, markup
from keyboards.money import CashCb, CloseCb, PayCb, ReceiptCb

BANKNOTES = (10000, 20000, 50000, 100000)  # 100, 200, 500, 1000 ₴: what clients hand over


class PayForm(StatesGroup):
    received = State()  # cash handed over (data: pay)
    part = State()  # amount of one split part (data: pay, part_type)


def suggestions(amount: int) -> list[int]:
    """Round sums a client is likely to hand over for `amount` (for one-tap "Получено")."""
    sums = {-(-amount // note) * note for note in BANKNOTES}
    return sorted(s for s in sums if s > amount)[:3]


def _parts(data: dict[str, Any], rid: int) -> list[list[Any]] | None:
    pay = data.get("pay") or {}
    return pay.get("parts") if pay.get("rid") == rid else None


def setup(settings: Settings) -> Router:
    router = Router(name="money.pay")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    tz = settings.tz

    async def payable(query: CallbackQuery, session: AsyncSession, rid: int, staff: Staff,
                      lang: str) -> Receipt | None:
        """The receipt if it can still be paid; otherwise say why and show it."""
        receipt = await get_receipt(session, rid)
        if receipt.is_paid:
            text, kb = await render_receipt(session, receipt.id, staff, lang, tz)
            await edit_or_send(query, text, kb)
            await alert(query, paid_error(receipt.id))
            return None
        return receipt

    async def show(target: CallbackQuery | Message, state: FSMContext, text: str,
                   kb: InlineKeyboardMarkup) -> None:
        """A step reached by a button edits its message; one reached by typing is sent anew."""
        if isinstance(target, CallbackQuery):
            await edit_or_send(target, text, kb)
            await target.answer()
        else:
            await flow_reply(target, state, text, kb)

    async def set_parts(state: FSMContext, rid: int, parts: list[list[Any]]) -> None:
        await state.update_data(pay={"rid": rid, "parts": parts})

    def parts_lines(parts: list[list[Any]], types: dict[int, PaymentType], lang: str
                    ) -> list[str]:
        out = []
        for tid, amount, received in parts:
            t = types[tid]
            text = f"{kind_icon(t.kind)} {h(t.title(lang))}: {money(amount, lang)}"
            if received is not None and received != amount:
                text += " · " + _("получено {received}").format(received=money(received, lang))
            out.append(text)
        return out

    # ---- choosing how -------------------------------------------------------------------
    @router.callback_query(PayCb.filter(F.action == "start"))
    async def start(query: CallbackQuery, callback_data: PayCb, session: AsyncSession,
                    state: FSMContext, staff: Staff, lang: str) -> None:
        receipt = await payable(query, session, callback_data.id, staff, lang)
        if receipt is None:
            return
        await state.set_state(None)
        await set_parts(state, receipt.id, [])
        rows = [*type_buttons(await list_payment_types(session), lang,
                              lambda t: PayCb(action="type", id=receipt.id, arg=t.id)),
                [button(_("➗ Частями (наличные + карта)"), PayCb(action="split", id=receipt.id))],
                [button(_("← Чек"), ReceiptCb(action="view", id=receipt.id))]]
        await edit_or_send(query, _("💳 Оплата чека №{id}: <b>{total}</b>\nКак платит клиент?"
                                    ).format(id=receipt.id, total=money(receipt.total, lang)),
                           markup(rows))
        await query.answer()

    @router.callback_query(PayCb.filter(F.action == "type"))
    async def pick_type(query: CallbackQuery, callback_data: PayCb, session: AsyncSession,
                        state: FSMContext, staff: Staff, lang: str) -> None:
        receipt = await payable(query, session, callback_data.id, staff, lang)
        if receipt is None:
            return
        try:
            ptype = await get_payment_type(session, callback_data.arg)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        await set_parts(state, receipt.id, [[ptype.id, receipt.total, None]])
        if ptype.kind != PaymentKind.CASH:
            await state.set_state(None)
            await confirm_screen(query, session, state, receipt, lang)
            return
        await state.set_state(PayForm.received)
        quick = [button(money(s, lang), PayCb(action="recv", id=receipt.id, arg=s))
                 for s in suggestions(receipt.total)]
        rows = [[button(_("Без сдачи — ровно {total}").format(total=money(receipt.total, lang)),
                        PayCb(action="exact", id=receipt.id))], quick,
                [button(_("← Назад"), PayCb(action="start", id=receipt.id))]]
        await edit_or_send(query, _(
            "💵 {type}: к оплате <b>{total}</b>.\nСколько получено от клиента? Напишите сумму "
            "или нажмите кнопку — покажу сдачу.").format(type=h(ptype.title(lang)),
                                                        total=money(receipt.total, lang)),
            markup(rows))
        await remember_ui(query, state)
        await query.answer()

    # ---- cash received -------------------------------------------------------------------
    async def set_received(session: AsyncSession, state: FSMContext, rid: int,
                           received: int | None) -> list[Any]:
        """Cash handed over for the (first) cash part; None = exactly its amount."""
        parts = _parts(await state.get_data(), rid)
        if not parts:
            return []
        types = await payment_types_by_id(session)
        cash = next((p for p in parts if types[p[0]].kind == PaymentKind.CASH), None)
        if cash is not None:
            if received is not None and received < cash[1]:
                raise ReceivedTooLittle(cash[1], received)
            cash[2] = received
        await set_parts(state, rid, parts)
        return parts

    @router.callback_query(PayCb.filter(F.action.in_({"exact", "recv"})))
    async def received_button(query: CallbackQuery, callback_data: PayCb, session: AsyncSession,
                              state: FSMContext, staff: Staff, lang: str) -> None:
        receipt = await payable(query, session, callback_data.id, staff, lang)
        if receipt is None:
            return
        if callback_data.action == "recv" and not callback_data.arg:
            # From a split's confirmation: type how much cash was handed over.
            await state.set_state(PayForm.received)
            await edit_or_send(query, _("Сколько наличных получено от клиента? Напишите сумму — "
                                        "покажу сдачу."),
                               markup([[button(_("← Назад"), PayCb(action="conf",
                                                                  id=receipt.id))]]))
            await remember_ui(query, state)
            await query.answer()
            return
        try:
            parts = await set_received(session, state, receipt.id, callback_data.arg or None)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        if not parts:
            await alert(query, stale())
            return
        await state.set_state(None)
        await confirm_screen(query, session, state, receipt, lang)

    @router.message(PayForm.received, F.text, NotCommand())
    async def typed_received(message: Message, session: AsyncSession, state: FSMContext,
                             lang: str) -> None:
        rid = ((await state.get_data()).get("pay") or {}).get("rid")
        if not rid:
            await state.set_state(None)
            await message.answer(stale())
            return
        try:
            received = parse_amount(message.text or "")
            await set_received(session, state, rid, received)
        except DomainError as exc:
            await message.answer(money_error(exc))
            return
        await state.set_state(None)
        receipt = await get_receipt(session, rid)
        await confirm_screen(message, session, state, receipt, lang)

    @router.message(PayForm.received, NotCommand())
    async def wrong_received(message: Message) -> None:
        await message.answer(_("Напишите, сколько получено, числом: например 2000 или "
                               "1 200,50. Отмена — /cancel."))

    # ---- split ---------------------------------------------------------------------------
    async def split_screen(target: CallbackQuery | Message, session: AsyncSession,
                           state: FSMContext, receipt: Receipt, lang: str) -> None:
        parts = _parts(await state.get_data(), receipt.id) or []
        types = await payment_types_by_id(session)
        left = receipt.total - sum(p[1] for p in parts)
        lines = [_("➗ Оплата частями, чек №{id}: <b>{total}</b>").format(
            id=receipt.id, total=money(receipt.total, lang))]
        lines.extend(parts_lines(parts, types, lang))
        lines.append(_("Осталось: <b>{left}</b>. Чем платят следующую часть?").format(
            left=money(left, lang)))
        rows = type_buttons(await list_payment_types(session), lang,
                            lambda t: PayCb(action="part", id=receipt.id, arg=t.id))
        if parts:
            rows.append([button(_("↺ Сначала"), PayCb(action="reset", id=receipt.id))])
        rows.append([button(_("← Назад"), PayCb(action="start", id=receipt.id))])
        await show(target, state, "\n".join(lines), markup(rows))

    @router.callback_query(PayCb.filter(F.action.in_({"split", "reset"})))
    async def split(query: CallbackQuery, callback_data: PayCb, session: AsyncSession,
                    state: FSMContext, staff: Staff, lang: str) -> None:
        receipt = await payable(query, session, callback_data.id, staff, lang)
        if receipt is None:
            return
        await state.set_state(None)
        await set_parts(state, receipt.id, [])
        await split_screen(query, session, state, receipt, lang)

    @router.callback_query(PayCb.filter(F.action.in_({"part", "rest"})))
    async def part(query: CallbackQuery, callback_data: PayCb, session: AsyncSession,
                   state: FSMContext, staff: Staff, lang: str) -> None:
        receipt = await payable(query, session, callback_data.id, staff, lang)
        if receipt is None:
            return
        parts = _parts(await state.get_data(), receipt.id)
        if parts is None:
            await alert(query, stale())
            return
        try:
            ptype = await get_payment_type(session, callback_data.arg)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        left = receipt.total - sum(p[1] for p in parts)
        if callback_data.action == "rest":
            await add_part(query, session, state, receipt, ptype.id, left, lang)
            return
        await state.set_state(PayForm.part)
        await state.update_data(part_type=ptype.id)
        await edit_or_send(query, _("{icon} {type}: какая сумма? Осталось {left}.").format(
            icon=kind_icon(ptype.kind), type=h(ptype.title(lang)), left=money(left, lang)),
            markup([[button(_("Весь остаток {left}").format(left=money(left, lang)),
                            PayCb(action="rest", id=receipt.id, arg=ptype.id))],
                    [button(_("← Назад"), PayCb(action="back", id=receipt.id))]]))
        await remember_ui(query, state)
        await query.answer()

    @router.callback_query(PayCb.filter(F.action == "back"))
    async def back_to_split(query: CallbackQuery, callback_data: PayCb, session: AsyncSession,
                            state: FSMContext, staff: Staff, lang: str) -> None:
        receipt = await payable(query, session, callback_data.id, staff, lang)
        if receipt is None:
            return
        await state.set_state(None)
        await split_screen(query, session, state, receipt, lang)

    async def add_part(target: CallbackQuery | Message, session: AsyncSession,
                       state: FSMContext, receipt: Receipt, tid: int, amount: int,
                       lang: str) -> None:
        parts = _parts(await state.get_data(), receipt.id) or []
        left = receipt.total - sum(p[1] for p in parts)
        if amount > left:
            text = _("Это больше остатка ({left}). Напишите сумму не больше остатка.").format(
                left=money(left, lang))
            if isinstance(target, CallbackQuery):
                await alert(target, text)
            else:
                await target.answer(text)
            return
        same = next((p for p in parts if p[0] == tid), None)
        if same is not None:
            same[1] += amount
        else:
            parts.append([tid, amount, None])
        await set_parts(state, receipt.id, parts)
        await state.set_state(None)
        if amount == left:
            await confirm_screen(target, session, state, receipt, lang)
        else:
            await split_screen(target, session, state, receipt, lang)

    @router.message(PayForm.part, F.text, NotCommand())
    async def typed_part(message: Message, session: AsyncSession, state: FSMContext,
                         lang: str) -> None:
        data = await state.get_data()
        rid = (data.get("pay") or {}).get("rid")
        if not rid or not data.get("part_type"):
            await state.set_state(None)
            await message.answer(stale())
            return
        try:
            amount = parse_amount(message.text or "")
        except DomainError as exc:
            await message.answer(money_error(exc))
            return
        receipt = await get_receipt(session, rid)
        await add_part(message, session, state, receipt, data["part_type"], amount, lang)

    @router.message(PayForm.part, NotCommand())
    async def wrong_part(message: Message) -> None:
        await message.answer(_("Напишите сумму этой части числом, например 500 или 1 200,50. "
                               "Отмена — /cancel."))

    # ---- confirm and pay -----------------------------------------------------------------
    async def confirm_screen(target: CallbackQuery | Message, session: AsyncSession,
                             state: FSMContext, receipt: Receipt, lang: str) -> None:
        parts = _parts(await state.get_data(), receipt.id) or []
        types = await payment_types_by_id(session)
        change = sum(p[2] - p[1] for p in parts if p[2] is not None)
        lines = [_("Проверьте оплату чека №{id}:").format(id=receipt.id),
                 _("Итого: <b>{total}</b>").format(total=money(receipt.total, lang)),
                 *parts_lines(parts, types, lang)]
        if change:
            lines.append(_("💵 <b>Сдача: {change}</b>").format(change=money(change, lang)))
        rows: list[list[InlineKeyboardButton]] = [
            [button(_("✅ Оплачено"), PayCb(action="ok", id=receipt.id))]]
        cash = [p for p in parts if types[p[0]].kind == PaymentKind.CASH]
        if len(parts) > 1 and cash:
            rows.append([button(_("💵 Дали больше — посчитать сдачу"),
                                PayCb(action="recv", id=receipt.id))])
        rows.append([button(_("← Изменить"), PayCb(action="start", id=receipt.id))])
        await show(target, state, "\n".join(lines), markup(rows))

    @router.callback_query(PayCb.filter(F.action == "conf"))
    async def back_to_confirm(query: CallbackQuery, callback_data: PayCb, session: AsyncSession,
                              state: FSMContext, staff: Staff, lang: str) -> None:
        receipt = await payable(query, session, callback_data.id, staff, lang)
        if receipt is None:
            return
        await state.set_state(None)
        await confirm_screen(query, session, state, receipt, lang)

    @router.callback_query(PayCb.filter(F.action == "ok"))
    async def pay(query: CallbackQuery, callback_data: PayCb, session: AsyncSession,
                  state: FSMContext, staff: Staff, lang: str, services: Services,
                  after_commit: list[Any]) -> None:
        receipt = await payable(query, session, callback_data.id, staff, lang)
        if receipt is None:
            return
        parts = _parts(await state.get_data(), receipt.id)
        if not parts:
            await alert(query, _("Оплата не собрана — начните заново: «💳 Оплатить»."))
            return
        try:
            result = await pay_receipt(session, staff, receipt.id,
                                       [(p[0], p[1], p[2]) for p in parts],
                                       fiscal=services.fiscal_enabled)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        await state.update_data(pay=None)
        paid = result.receipt
        types = await payment_types_by_id(session)
        lines = [_("✅ Чек №{id} оплачен: <b>{total}</b>").format(
            id=paid.id, total=money(paid.total, lang)), *payments_block(paid, types, lang)]
        if result.change:
            lines.append(_("💵 <b>Сдача: {change}</b>").format(change=money(result.change, lang)))
        lines.append(_("Принял: {who}, {at}").format(
            who=h(staff.name), at=local_dt(paid.paid_at or result.shift.opened_at, tz, lang)))
        rows = [[button(_("🧾 Чек"), ReceiptPrintCb(id=paid.id))]]
        if paid.ticket_id is not None:
            ticket = await get_ticket(session, paid.ticket_id)
            if not ticket.status.kind.is_closed:
                rows.append([button(_("🏁 Закрыть обращение"),
                                    CloseCb(action="start", id=ticket.id))])
            rows.append([button(_("← К обращению"),
                                TicketCb(action=TicketAction.CARD, id=ticket.id))])
        else:
            rows.append([button(_("← Касса"), CashCb(action="view"))])
        await edit_or_send(query, "\n".join(lines), markup(rows))
        await query.answer(_("Оплачено"))

    return router
