"""Receipts as text + buttons: one receipt, a ticket's "💳 Оплата" tab."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.views.formatting import h, local_dt, money, quantity
from bot.views.receipts import receipt_text
from db.desk.models import Staff
from db.desk.tickets import get_ticket
from db.money.models import PaymentKind, PaymentType, Receipt, ReceiptKind, ReceiptLine
from db.money.receipts import FREE_LINE_CODE, receipt_facts, ticket_receipts
from db.money.refunds import refundable_lines
from handlers.money.common import PAGE, is_manager, short
from handlers.ticket_view import ticket_title
from keyboards.callbacks import ReceiptPrintCb, RefundCb, TicketAction, TicketCb
from keyboards.common import button, chunked, markup, pager
from keyboards.money import CashCb, PayCb, ReceiptCb

LINES_SHOWN = 25  # a receipt's lines on screen; the rest are counted (4096-char messages)


def receipt_name(receipt: Receipt) -> str:
    if receipt.kind == ReceiptKind.REFUND:
        return _("↩️ Возврат №{id}").format(id=receipt.id)
    icon = "🟢" if receipt.is_paid else "🟡"
    return _("{icon} Чек №{id}").format(icon=icon, id=receipt.id)


def line_text(index: int, line: ReceiptLine, lang: str, *, html: bool = True) -> str:
    """One receipt line; `html=False` for button labels (no escaping there)."""
    esc = h if html else str
    name = esc(short(line.name))
    code = "" if line.code == FREE_LINE_CODE else f" · {esc(line.code)}"
    if line.quantity == 1000:
        return f"{index}. {name}{code} — {money(line.amount, lang)}"
    return (f"{index}. {name}{code} — {quantity(line.quantity, lang)} × "
            f"{money(line.price, lang)} = {money(line.amount, lang)}")


def lines_block(lines: list[ReceiptLine], lang: str) -> list[str]:
    out = [line_text(i, line, lang) for i, line in enumerate(lines[:LINES_SHOWN], 1)]
    if len(lines) > LINES_SHOWN:
        out.append(_("… и ещё строк: {count}").format(count=len(lines) - LINES_SHOWN))
    return out or [_("Строк пока нет.")]


async def payment_types_by_id(session: AsyncSession) -> dict[int, PaymentType]:
    return {t.id: t for t in await session.scalars(select(PaymentType))}


async def staff_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {s.id: s.name for s in await session.scalars(select(Staff).where(Staff.id.in_(wanted)))}


def kind_icon(kind: PaymentKind) -> str:
    return "💵" if kind == PaymentKind.CASH else "💳"


def type_buttons(types: Iterable[PaymentType], lang: str,
                 to: Callable[[PaymentType], CallbackData]) -> list[list[InlineKeyboardButton]]:
    """The "how is it paid" buttons, two a row (payments, split parts, refunds, expenses)."""
    return chunked([button(f"{kind_icon(t.kind)} {t.title(lang)}", to(t)) for t in types], 2)


def payments_block(receipt: Receipt, types: dict[int, PaymentType], lang: str) -> list[str]:
    out = []
    for p in receipt.payments:
        name = h(types[p.payment_type_id].title(lang)) if p.payment_type_id in types else "?"
        text = f"{kind_icon(p.kind)} {name}: {money(p.amount, lang)}"
        if p.received is not None and p.change:
            text += " " + _("(получено {received}, сдача {change})").format(
                received=money(p.received, lang), change=money(p.change, lang))
        out.append(text)
    return out


def back_button(receipt: Receipt) -> InlineKeyboardButton:
    if receipt.ticket_id is None:
        return button(_("← Касса"), CashCb(action="view"))
    return button(_("← Чеки обращения"), ReceiptCb(action="tab", id=receipt.ticket_id))


async def render_receipt(session: AsyncSession, receipt_id: int, staff: Staff, lang: str,
                         tz: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    facts = await receipt_facts(session, receipt_id)
    receipt = facts.receipt
    ticket = await get_ticket(session, receipt.ticket_id) if receipt.ticket_id else None
    text = receipt_text(facts, lang, tz)
    rows: list[list[InlineKeyboardButton]] = []
    ticket_open = ticket is None or not ticket.status.kind.is_closed
    if receipt.kind == ReceiptKind.REFUND:
        rows.append([button(_("🧾 Чек возврата"), ReceiptPrintCb(id=receipt.id)),
                     button(_("Чек №{id}").format(id=receipt.related_receipt_id),
                            ReceiptCb(action="view", id=receipt.related_receipt_id or 0))])
    elif receipt.is_paid:
        returns = facts.refunds
        rows.append([button(_("🧾 Чек"), ReceiptPrintCb(id=receipt.id))])
        left = sum(r.available_quantity for r in await refundable_lines(session, receipt.id))
        if is_manager(staff) and left > 0:
            rows[-1].append(button(_("↩️ Возврат"), RefundCb(action="start", id=receipt.id)))
        rows.extend(chunked([button(_("↩️ Возврат №{id}").format(id=r.id),
                                    ReceiptCb(action="view", id=r.id)) for r in returns[-6:]], 3))
    else:
        if ticket_open:
            add = [button(_("➕ Добавить строку"), ReceiptCb(action="add", id=receipt.id))]
            if receipt.lines:
                add.append(button(_("➖ Убрать строку"), ReceiptCb(action="rml", id=receipt.id)))
            rows.append(add)
        if receipt.total > 0:
            rows.append([button(_("💳 Оплатить {amount}").format(amount=money(receipt.total, lang)),
                                PayCb(action="start", id=receipt.id))])
        if ticket_open or is_manager(staff):
            rows.append([button(_("🗑 Удалить чек"), ReceiptCb(action="del", id=receipt.id))])
    rows.append([back_button(receipt)])
    return text, markup(rows)


async def render_tab(session: AsyncSession, ticket_id: int, page: int, lang: str, tz: ZoneInfo
                     ) -> tuple[str, InlineKeyboardMarkup]:
    """The ticket's "💳 Оплата" tab: every receipt with its state, totals, pay buttons."""
    ticket = await get_ticket(session, ticket_id)
    receipts = await ticket_receipts(session, ticket.id)
    sales = [r for r in receipts if r.kind == ReceiptKind.SALE]
    refunds: dict[int, list[Receipt]] = {}
    for r in receipts:
        if r.kind == ReceiptKind.REFUND and r.related_receipt_id:
            refunds.setdefault(r.related_receipt_id, []).append(r)
    pages = max(1, math.ceil(len(sales) / PAGE))
    page = min(max(page, 0), pages - 1)
    shown = sales[page * PAGE:(page + 1) * PAGE]
    lines = [_("💳 <b>Оплата</b> · {title}").format(title=h(ticket_title(ticket)))]
    if not sales:
        lines.append(_("Чеков пока нет."))
    for r in shown:
        state = (_("оплачен {at}").format(at=local_dt(r.paid_at, tz, lang))
                 if r.is_paid and r.paid_at else _("не оплачен"))
        lines.append(f"{receipt_name(r)} — {money(r.total, lang)} · {state}")
        for ret in refunds.get(r.id, []):
            lines.append("   " + _("↩️ возврат №{id} — {amount}").format(
                id=ret.id, amount=money(ret.total, lang)))
    paid = sum(r.total for r in sales if r.is_paid)
    returned = sum(r.total for r in receipts if r.kind == ReceiptKind.REFUND)
    due = sum(r.total for r in sales if not r.is_paid)
    lines.append("")
    summary = _("Оплачено: {paid}").format(paid=money(paid, lang))
    if returned:
        summary += " · " + _("возвраты: {amount}").format(amount=money(returned, lang))
    summary += " · " + _("к оплате: {due}").format(due=money(due, lang))
    lines.append(f"<b>{summary}</b>")

    rows: list[list[InlineKeyboardButton]] = []
    for r in sales:
        if not r.is_paid and r.total > 0:
            rows.append([button(_("💳 Оплатить №{id} · {amount}").format(
                id=r.id, amount=money(r.total, lang)), PayCb(action="start", id=r.id))])
    rows = rows[:5]
    rows.extend(chunked([button(receipt_name(r), ReceiptCb(action="view", id=r.id))
                         for r in shown], 3))
    rows.append(pager(page, pages, lambda p: ReceiptCb(action="tab", id=ticket.id, arg=p)))
    if not ticket.status.kind.is_closed:
        rows.append([button(_("➕ Новый чек"), ReceiptCb(action="new", id=ticket.id))])
    rows.append([button(_("← К обращению"), TicketCb(action=TicketAction.CARD, id=ticket.id))])
    return "\n".join(lines), markup(rows)

