"""Refunds (`RefundCb`, shared with the reports' receipt screen): a full or partial return
against a paid receipt — pick lines and quantities (or an amount of a line, typed:
handlers/money/refund_amount.py), a payment type, confirm.
Owners and managers; the bounds (never more than sold, the drawer for cash) and the amounts
are the domain's (db.money.refunds), the act is bot.usecases.refund."""

from __future__ import annotations

import math
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.services import Services
from bot.usecases.refund import Refunded, refund
from bot.views.formatting import h, local_dt, money, quantity
from bot.views.receipts import kind_icon
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.amounts import ONE
from db.money.models import ReceiptKind
from db.money.payment_types import get_payment_type, list_payment_types
from db.money.receipts import get_receipt
from db.money.refunds import RefundableLine, picked, refund_amount, refundable_lines
from handlers.filters import IsStaff
from handlers.forms import load, save, update
from handlers.money.common import alert, money_error, stale
from handlers.money.forms import RefundData
from handlers.money.views import type_buttons
from handlers.ui import edit_and_answer
from keyboards.callbacks import ReceiptPrintCb, RefundAction, RefundCb, TicketAction, TicketCb
from keyboards.common import button, markup, pager
from keyboards.money import CashAction, CashCb, ReceiptAction, ReceiptCb

LINES_PAGE = 8
NAME_SHOWN = 30  # of a line's name on its button


def next_quantity(current: int, available: int) -> int:
    """One more item per tap; past what is left it wraps to nothing."""
    if current >= available:
        return 0
    return min(current + ONE, available)


async def allowed(query: CallbackQuery, staff: Staff) -> bool:
    """Masters are not offered refunds (the domain refuses them anyway)."""
    if not staff.is_manager_or_owner:
        await alert(query, _("Возврат оформляет владелец или менеджер."))
        return False
    return True


async def refund_form(state: FSMContext, receipt_id: int) -> RefundData | None:
    form = await load(state, RefundData)
    return form if form is not None and form.receipt_id == receipt_id else None


def to_refund(items: Sequence[RefundableLine], form: RefundData) -> int:
    """What the form gives back: the picked quantities' amounts and the typed amounts."""
    return (sum(p.amount for p in picked(items, form.selection))
            + sum(a for line_id, a in form.amounts.items()
                  if any(i.line.id == line_id for i in items)))


def _line_buttons(i: int, item: RefundableLine, form: RefundData, lang: str
                  ) -> list[InlineKeyboardButton]:
    rid, line_id = item.line.receipt_id, item.line.id
    typed = form.amounts.get(line_id)
    row = []
    if item.available_quantity > 0 and typed is None:
        row.append(button(_("{i}. {name}: {picked} из {left}").format(
            i=i, name=item.line.name[:NAME_SHOWN],
            picked=quantity(form.selection.get(line_id, 0), lang),
            left=quantity(item.available_quantity, lang)),
            RefundCb(action=RefundAction.LINE, id=rid, arg=line_id)))
    if item.available_amount > 0:
        label = (_("💵 {amount}").format(amount=money(typed, lang)) if typed is not None
                 else _("💵 Сумма"))
        row.append(button(label, RefundCb(action=RefundAction.AMOUNT, id=rid, arg=line_id)))
    return row


def line_rows(items: Sequence[RefundableLine], form: RefundData, page: int,
              lang: str) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    lines, rows = [], []
    first = page * LINES_PAGE
    for i, item in enumerate(items[first:first + LINES_PAGE], first + 1):
        lines.append(_("{i}. {name} — {price} × {sold}, можно вернуть {left}").format(
            i=i, name=h(item.line.name), price=money(item.line.price, lang),
            sold=quantity(item.line.quantity, lang),
            left=quantity(item.available_quantity, lang)))
        if item.refunded_amount and item.available_amount:
            lines.append(_("   уже возвращено {back}, осталось {left}").format(
                back=money(item.refunded_amount, lang), left=money(item.available_amount, lang)))
        if row := _line_buttons(i, item, form, lang):
            rows.append(row)
    return lines, rows


async def render_pick(session: DbSession, form: RefundData, page: int, lang: str, tz: ZoneInfo
                      ) -> tuple[str, InlineKeyboardMarkup]:
    receipt_id = form.receipt_id
    receipt = await get_receipt(session, receipt_id)
    items = await refundable_lines(session, receipt_id)
    pages = max(1, math.ceil(len(items) / LINES_PAGE))
    page = min(max(page, 0), pages - 1)
    item_lines, rows = line_rows(items, form, page, lang)
    total = to_refund(items, form)
    everything = sum(refund_amount(i, i.available_quantity) for i in items)
    lines = [_("↩️ <b>Возврат по чеку №{id}</b> · {total} · оплачен {at}").format(
        id=receipt.id, total=money(receipt.total, lang),
        at=local_dt(receipt.paid_at, tz, lang) if receipt.paid_at else "—"),
        _("Нажмите строку — добавится одна штука к возврату; 💵 — вернуть часть суммы "
          "строки:"), *item_lines,
        _("К возврату: <b>{amount}</b>").format(amount=money(total, lang))]
    rows.append(pager(page, pages,
                      lambda p: RefundCb(action=RefundAction.PAGE, id=receipt_id, arg=p)))
    if total or any(form.selection.values()):
        rows.append([button(_("Далее → чем вернуть {amount}").format(amount=money(total, lang)),
                            RefundCb(action=RefundAction.NEXT, id=receipt_id))])
    rows.append([button(_("↩️ Вернуть всё ({amount})").format(amount=money(everything, lang)),
                        RefundCb(action=RefundAction.ALL, id=receipt_id))])
    rows.append([button(_("← Чек"), ReceiptCb(action=ReceiptAction.VIEW, id=receipt_id))])
    return "\n".join(lines), markup(rows)


async def start(query: CallbackQuery, callback_data: RefundCb, session: DbSession,
                state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    """"↩️ Возврат" (a fresh selection) and the pages of the lines (the selection kept)."""
    if not await allowed(query, staff):
        return
    receipt = await get_receipt(session, callback_data.id)
    if receipt.kind != ReceiptKind.SALE or not receipt.is_paid:
        await alert(query, _("Возврат возможен только по оплаченному чеку продажи."))
        return
    items = await refundable_lines(session, receipt.id)
    if not any(i.available_quantity or i.available_amount for i in items):
        await alert(query, _("По чеку №{id} уже всё возвращено.").format(id=receipt.id))
        return
    form = await refund_form(state, receipt.id)
    if form is None or callback_data.action == RefundAction.START:
        form = RefundData(receipt_id=receipt.id, selection={})
        await save(state, form)
    text, kb = await render_pick(session, form, callback_data.arg, lang, settings.tz)
    await edit_and_answer(query, text, kb)


async def toggle_line(query: CallbackQuery, callback_data: RefundCb, session: DbSession,
                      state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    if not await allowed(query, staff):
        return
    form = await refund_form(state, callback_data.id)
    items = {r.line.id: r for r in await refundable_lines(session, callback_data.id)}
    item = items.get(callback_data.arg)
    if form is None or item is None:
        await alert(query, stale())
        return
    line_id = item.line.id
    selection = {**form.selection,
                 line_id: next_quantity(form.selection.get(line_id, 0), item.available_quantity)}
    amounts = {k: v for k, v in form.amounts.items() if k != line_id}  # by items, or by amount
    form = await update(state, form, selection=selection, amounts=amounts)
    page = list(items).index(line_id) // LINES_PAGE
    text, kb = await render_pick(session, form, page, lang, settings.tz)
    await edit_and_answer(query, text, kb)


async def pick_type(query: CallbackQuery, callback_data: RefundCb, session: DbSession,
                    state: FSMContext, staff: Staff, lang: str) -> None:
    """"Далее" (what is picked) or "Вернуть всё": how is the money given back."""
    if not await allowed(query, staff):
        return
    rid = callback_data.id
    form = await refund_form(state, rid)
    if callback_data.action == RefundAction.ALL:
        items = await refundable_lines(session, rid)
        form = RefundData(receipt_id=rid, selection={
            i.line.id: i.available_quantity for i in items if i.available_quantity})
        await save(state, form)
    if form is None:
        await alert(query, stale())
        return
    if not any(form.selection.values()) and not form.amounts:
        await alert(query, _("Отметьте, что возвращаем."))
        return
    receipt = await get_receipt(session, rid)
    total = to_refund(await refundable_lines(session, rid), form)
    paid_with = [p.payment_type_id for p in receipt.payments]
    types = sorted(await list_payment_types(session),
                   key=lambda t: (t.id not in paid_with, t.position, t.id))
    rows = [*type_buttons(types, lang,
                          lambda t: RefundCb(action=RefundAction.TYPE, id=rid, arg=t.id)),
            [button(_("← Назад"), RefundCb(action=RefundAction.PAGE, id=rid))]]
    await edit_and_answer(query, _("Вернуть <b>{amount}</b> по чеку №{id}. Чем отдаём деньги? "
                                   "Наличные выйдут из кассы.").format(
        amount=money(total, lang), id=rid), markup(rows))


async def confirm(query: CallbackQuery, callback_data: RefundCb, session: DbSession,
                  state: FSMContext, staff: Staff, lang: str) -> None:
    if not await allowed(query, staff):
        return
    rid = callback_data.id
    form = await refund_form(state, rid)
    if form is None or not (form.selection or form.amounts):
        await alert(query, stale())
        return
    try:
        payment_type = await get_payment_type(session, callback_data.arg)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    items = await refundable_lines(session, rid)
    picks = picked(items, form.selection)
    total = to_refund(items, form)
    lines = [_("Вернуть клиенту <b>{amount}</b> — {icon} {type}, по чеку №{id}:").format(
        amount=money(total, lang), icon=kind_icon(payment_type.kind),
        type=h(payment_type.title(lang)), id=rid)]
    lines.extend(f"• {h(p.item.line.name)} × {quantity(p.quantity, lang)} — "
                 f"{money(p.amount, lang)}" for p in picks)
    lines.extend(_("• {name} — часть суммы: {amount}").format(
        name=h(i.line.name), amount=money(form.amounts[i.line.id], lang))
        for i in items if i.line.id in form.amounts)
    lines.append(_("Исходный чек не меняется, возврат будет отдельным чеком."))
    await edit_and_answer(query, "\n".join(lines), markup([
        [button(_("✅ Вернуть {amount}").format(amount=money(total, lang)),
                RefundCb(action=RefundAction.OK, id=rid, arg=payment_type.id))],
        [button(_("← Назад"), RefundCb(action=RefundAction.NEXT, id=rid))]]))


def refunded_rows(done: Refunded, original_id: int) -> list[list[InlineKeyboardButton]]:
    back = done.receipt
    rows = [[button(_("🧾 Чек возврата"), ReceiptPrintCb(id=back.id)),
             button(_("Чек №{id}").format(id=original_id),
                    ReceiptCb(action=ReceiptAction.VIEW, id=original_id))]]
    if back.ticket_id is None:
        return [*rows, [button(_("← Касса"), CashCb(action=CashAction.VIEW))]]
    return [*rows, [button(_("← К обращению [{number}]").format(number=done.ticket_number),
                           TicketCb(action=TicketAction.CARD, id=back.ticket_id))]]


async def do_refund(query: CallbackQuery, callback_data: RefundCb, session: DbSession,
                    state: FSMContext, staff: Staff, lang: str, services: Services) -> None:
    if not await allowed(query, staff):
        return
    form = await refund_form(state, callback_data.id)
    if form is None or not (form.selection or form.amounts):
        await alert(query, stale())
        return
    try:
        done = await refund(session, staff, callback_data.id, form.selection, callback_data.arg,
                            fiscal=services.fiscal_enabled, amounts=form.amounts)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    await state.clear()
    payment_type = done.payment_type
    lines = [_("✅ Возврат №{id}: <b>{amount}</b> · {icon} {type}").format(
        id=done.receipt.id, amount=money(done.receipt.total, lang),
        icon=kind_icon(payment_type.kind), type=h(payment_type.title(lang))),
        _("по чеку №{id} · {who}").format(id=callback_data.id, who=h(staff.name))]
    await edit_and_answer(query, "\n".join(lines), markup(refunded_rows(done, callback_data.id)),
                          note=_("Возврат оформлен"))


def setup() -> Router:
    router = Router(name="money.refunds")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(
        start, RefundCb.filter(F.action.in_({RefundAction.START, RefundAction.PAGE})))
    router.callback_query.register(toggle_line, RefundCb.filter(F.action == RefundAction.LINE))
    router.callback_query.register(
        pick_type, RefundCb.filter(F.action.in_({RefundAction.NEXT, RefundAction.ALL})))
    router.callback_query.register(confirm, RefundCb.filter(F.action == RefundAction.TYPE))
    router.callback_query.register(do_refund, RefundCb.filter(F.action == RefundAction.OK))
    return router
