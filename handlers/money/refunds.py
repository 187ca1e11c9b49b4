"""Refunds (`RefundCb`, shared with the reports' receipt list): a full or partial return against a
paid receipt — pick lines and quantities, a payment type, confirm. Owners and managers only;
the bounds (never more than sold, the drawer for cash) are the domain's (db.money.refunds)."""

from __future__ import annotations

import math
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services import Services
from bot.views.formatting import h, local_dt, money, quantity
from db.desk.models import Staff
from db.desk.tickets import get_ticket
from db.errors import DomainError
from db.money.amounts import line_amount
from db.money.models import PaymentType, ReceiptKind
from db.money.payment_types import get_payment_type, list_payment_types
from db.money.receipts import get_receipt
from db.money.refunds import RefundableLine, refund, refundable_lines
from handlers.filters import IsStaff
from handlers.money.common import (
    alert,
    is_manager,
    money_error,
    stale,
)
from handlers.money.views import kind_icon, type_buttons
from handlers.ui import edit_or_send
from keyboards.callbacks import ReceiptPrintCb, RefundCb, TicketAction, TicketCb
from keyboards.common import button, markup, pager
from keyboards.money import CashCb, ReceiptCb

LINES_PAGE = 8


def refund_amount(item: RefundableLine, quantity: int) -> int:
    """What the domain will give back for `quantity` of this line (see db.money.refunds)."""
    if quantity == item.available_quantity:
        return item.available_amount
    return min(line_amount(item.line.price, quantity), item.available_amount)


def next_quantity(current: int, available: int) -> int:
    """One more item per tap; past what is left it wraps to nothing."""
    if current >= available:
        return 0
    return min(current + 1000, available)


def setup(settings: Settings) -> Router:
    router = Router(name="money.refunds")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    tz = settings.tz

    async def allowed(query: CallbackQuery, staff: Staff) -> bool:
        if not is_manager(staff):
            await alert(query, _("Возврат оформляет владелец или менеджер."))
            return False
        return True

    async def selection(state: FSMContext, rid: int) -> dict[str, int] | None:
        data = (await state.get_data()).get("refund") or {}
        return data.get("sel") if data.get("rid") == rid else None

    async def chosen(session: AsyncSession, rid: int, sel: dict[str, int]
                     ) -> tuple[list[tuple[RefundableLine, int]], int]:
        items = {str(r.line.id): r for r in await refundable_lines(session, rid)}
        picked = [(items[k], q) for k, q in sel.items() if k in items and q > 0]
        return picked, sum(refund_amount(item, q) for item, q in picked)

    async def render_pick(session: AsyncSession, rid: int, sel: dict[str, int], page: int,
                          lang: str) -> tuple[str, InlineKeyboardMarkup]:
        receipt = await get_receipt(session, rid)
        items = await refundable_lines(session, rid)
        lines = [_("↩️ <b>Возврат по чеку №{id}</b> · {total} · оплачен {at}").format(
            id=receipt.id, total=money(receipt.total, lang),
            at=local_dt(receipt.paid_at, tz, lang) if receipt.paid_at else "—"),
            _("Нажмите строку — добавится одна штука к возврату:")]
        pages = max(1, math.ceil(len(items) / LINES_PAGE))
        page = min(max(page, 0), pages - 1)
        rows: list[list[InlineKeyboardButton]] = []
        for i, item in enumerate(items[page * LINES_PAGE:(page + 1) * LINES_PAGE],
                                 page * LINES_PAGE + 1):
            lines.append(_("{i}. {name} — {price} × {sold}, можно вернуть {left}").format(
                i=i, name=h(item.line.name), price=money(item.line.price, lang),
                sold=quantity(item.line.quantity, lang),
                left=quantity(item.available_quantity, lang)))
            if item.available_quantity > 0:
                picked = sel.get(str(item.line.id), 0)
                rows.append([button(_("{i}. {name}: {picked} из {left}").format(
                    i=i, name=item.line.name[:30], picked=quantity(picked, lang),
                    left=quantity(item.available_quantity, lang)),
                    RefundCb(action="line", id=rid, arg=item.line.id))])
        rows.append(pager(page, pages, lambda p: RefundCb(action="page", id=rid, arg=p)))
        picked, total = await chosen(session, rid, sel)
        left = sum(refund_amount(i, i.available_quantity) for i in items)
        lines.append(_("К возврату: <b>{amount}</b>").format(amount=money(total, lang)))
        if picked:
            rows.append([button(_("Далее → чем вернуть {amount}").format(amount=money(total, lang)),
                                RefundCb(action="next", id=rid))])
        rows.append([button(_("↩️ Вернуть всё ({amount})").format(amount=money(left, lang)),
                            RefundCb(action="all", id=rid))])
        rows.append([button(_("← Чек"), ReceiptCb(action="view", id=rid))])
        return "\n".join(lines), markup(rows)

    @router.callback_query(RefundCb.filter(F.action.in_({"start", "page"})))
    async def start(query: CallbackQuery, callback_data: RefundCb, session: AsyncSession,
                    state: FSMContext, staff: Staff, lang: str) -> None:
        if not await allowed(query, staff):
            return
        receipt = await get_receipt(session, callback_data.id)
        if receipt.kind != ReceiptKind.SALE or not receipt.is_paid:
            await alert(query, _("Возврат возможен только по оплаченному чеку продажи."))
            return
        items = await refundable_lines(session, receipt.id)
        if not any(i.available_quantity for i in items):
            await alert(query, _("По чеку №{id} уже всё возвращено.").format(id=receipt.id))
            return
        sel = await selection(state, receipt.id)
        if sel is None or callback_data.action == "start":
            sel = {}
            await state.update_data(refund={"rid": receipt.id, "sel": sel})
        text, kb = await render_pick(session, receipt.id, sel, callback_data.arg, lang)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(RefundCb.filter(F.action == "line"))
    async def toggle_line(query: CallbackQuery, callback_data: RefundCb, session: AsyncSession,
                          state: FSMContext, staff: Staff, lang: str) -> None:
        if not await allowed(query, staff):
            return
        sel = await selection(state, callback_data.id)
        items = {r.line.id: r for r in await refundable_lines(session, callback_data.id)}
        item = items.get(callback_data.arg)
        if sel is None or item is None:
            await alert(query, stale())
            return
        key = str(item.line.id)
        sel[key] = next_quantity(sel.get(key, 0), item.available_quantity)
        await state.update_data(refund={"rid": callback_data.id, "sel": sel})
        page = list(items).index(item.line.id) // LINES_PAGE
        text, kb = await render_pick(session, callback_data.id, sel, page, lang)
        await edit_or_send(query, text, kb)
        await query.answer()

    async def type_picker(query: CallbackQuery, session: AsyncSession, rid: int,
                          sel: dict[str, int], lang: str) -> None:
        receipt = await get_receipt(session, rid)
        _picked, total = await chosen(session, rid, sel)
        paid_with = [p.payment_type_id for p in receipt.payments]
        types: list[PaymentType] = sorted(
            await list_payment_types(session),
            key=lambda t: (t.id not in paid_with, t.position, t.id))
        rows = [*type_buttons(types, lang, lambda t: RefundCb(action="type", id=rid, arg=t.id)),
                [button(_("← Назад"), RefundCb(action="page", id=rid))]]
        await edit_or_send(query, _("Вернуть <b>{amount}</b> по чеку №{id}. Чем отдаём деньги? "
                                    "Наличные выйдут из кассы.").format(
            amount=money(total, lang), id=rid), markup(rows))
        await query.answer()

    @router.callback_query(RefundCb.filter(F.action.in_({"next", "all"})))
    async def pick_type(query: CallbackQuery, callback_data: RefundCb, session: AsyncSession,
                        state: FSMContext, staff: Staff, lang: str) -> None:
        if not await allowed(query, staff):
            return
        sel = await selection(state, callback_data.id)
        if callback_data.action == "all":
            items = await refundable_lines(session, callback_data.id)
            sel = {str(i.line.id): i.available_quantity for i in items if i.available_quantity}
            await state.update_data(refund={"rid": callback_data.id, "sel": sel})
        if not sel or not any(sel.values()):
            await alert(query, _("Отметьте, что возвращаем."))
            return
        await type_picker(query, session, callback_data.id, sel, lang)

    @router.callback_query(RefundCb.filter(F.action == "type"))
    async def confirm(query: CallbackQuery, callback_data: RefundCb, session: AsyncSession,
                      state: FSMContext, staff: Staff, lang: str) -> None:
        if not await allowed(query, staff):
            return
        sel = await selection(state, callback_data.id)
        if not sel:
            await alert(query, stale())
            return
        try:
            ptype = await get_payment_type(session, callback_data.arg)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        picked, total = await chosen(session, callback_data.id, sel)
        lines = [_("Вернуть клиенту <b>{amount}</b> — {icon} {type}, по чеку №{id}:").format(
            amount=money(total, lang), icon=kind_icon(ptype.kind), type=h(ptype.title(lang)),
            id=callback_data.id)]
        lines.extend(f"• {h(item.line.name)} × {quantity(q, lang)} — "
                     f"{money(refund_amount(item, q), lang)}" for item, q in picked)
        lines.append(_("Исходный чек не меняется, возврат будет отдельным чеком."))
        await edit_or_send(query, "\n".join(lines), markup([
            [button(_("✅ Вернуть {amount}").format(amount=money(total, lang)),
                    RefundCb(action="ok", id=callback_data.id, arg=ptype.id))],
            [button(_("← Назад"), RefundCb(action="next", id=callback_data.id))]]))
        await query.answer()

    @router.callback_query(RefundCb.filter(F.action == "ok"))
    async def do_refund(query: CallbackQuery, callback_data: RefundCb, session: AsyncSession,
                        state: FSMContext, staff: Staff, lang: str, services: Services,
                        after_commit: list[Any]) -> None:
        if not await allowed(query, staff):
            return
        sel = await selection(state, callback_data.id)
        if not sel:
            await alert(query, stale())
            return
        parts = [(int(k), q) for k, q in sel.items() if q > 0]
        try:
            result = await refund(session, staff, callback_data.id, parts, callback_data.arg,
                                  fiscal=services.fiscal_enabled)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        await state.update_data(refund=None)
        ret = result.receipt
        ptype = await get_payment_type(session, callback_data.arg, active=False)
        lines = [_("✅ Возврат №{id}: <b>{amount}</b> · {icon} {type}").format(
            id=ret.id, amount=money(ret.total, lang), icon=kind_icon(ptype.kind),
            type=h(ptype.title(lang))),
            _("по чеку №{id} · {who}").format(id=callback_data.id, who=h(staff.name))]
        rows = [[button(_("🧾 Чек возврата"), ReceiptPrintCb(id=ret.id)),
                 button(_("Чек №{id}").format(id=callback_data.id),
                        ReceiptCb(action="view", id=callback_data.id))]]
        if ret.ticket_id is not None:
            ticket = await get_ticket(session, ret.ticket_id)
            rows.append([button(_("← К обращению [{number}]").format(number=ticket.number),
                                TicketCb(action=TicketAction.CARD, id=ticket.id))])
        else:
            rows.append([button(_("← Касса"), CashCb(action="view"))])
        await edit_or_send(query, "\n".join(lines), markup(rows))
        await query.answer(_("Возврат оформлен"))

    return router
