"""Money screens shared by several handler modules: a receipt with the staff's buttons, a
ticket's "💳 Оплата" tab, the "how is it paid" buttons. The receipt's text is the one every
reader gets (bot.views.receipts)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.usecases.payment import Paid
from bot.views.formatting import h, local_dt, money
from bot.views.receipts import kind_icon, receipt_name, receipt_text
from db.desk.models import Staff
from db.desk.tickets import get_ticket
from db.engine import DbSession
from db.money.closing import ticket_money
from db.money.models import PaymentType, Receipt, ReceiptKind
from db.money.payment_types import payment_types_by_id
from db.money.payments import PaymentPlan
from db.money.receipts import ReceiptFacts, receipt_facts, ticket_receipts
from db.money.refunds import refundable_lines
from handlers.money.common import PAGE
from handlers.ticket_view import ticket_title
from keyboards.callbacks import ReceiptPrintCb, RefundAction, RefundCb, TicketAction, TicketCb
from keyboards.common import button, chunked, markup, pager
from keyboards.money import (
    CashAction,
    CashCb,
    CloseAction,
    CloseCb,
    PayAction,
    PayCb,
    ReceiptAction,
    ReceiptCb,
)

TAB_PAY_BUTTONS = 5  # "Оплатить №…" buttons on a tab; the rest are paid from the receipt
RETURNS_SHOWN = 6  # buttons to a receipt's latest returns


def type_buttons(types: Iterable[PaymentType], lang: str,
                 to: Callable[[PaymentType], CallbackData]) -> list[list[InlineKeyboardButton]]:
    """The "how is it paid" buttons, two a row (payments, split parts, refunds, expenses)."""
    return chunked([button(f"{kind_icon(t.kind)} {t.title(lang)}", to(t)) for t in types], 2)


def back_button(receipt: Receipt) -> InlineKeyboardButton:
    if receipt.ticket_id is None:
        return button(_("← Касса"), CashCb(action=CashAction.VIEW))
    return button(_("← Чеки обращения"),
                  ReceiptCb(action=ReceiptAction.TAB, id=receipt.ticket_id))


async def _paid_rows(session: DbSession, facts: ReceiptFacts, staff: Staff
                     ) -> list[list[InlineKeyboardButton]]:
    receipt = facts.receipt
    first = [button(_("🧾 Чек"), ReceiptPrintCb(id=receipt.id))]
    left = sum(r.available_quantity for r in await refundable_lines(session, receipt.id))
    if staff.is_manager_or_owner and left > 0:
        first.append(button(_("↩️ Возврат"), RefundCb(action=RefundAction.START, id=receipt.id)))
    returns = chunked([button(_("↩️ Возврат №{id}").format(id=r.id),
                              ReceiptCb(action=ReceiptAction.VIEW, id=r.id))
                       for r in facts.refunds[-RETURNS_SHOWN:]], 3)
    return [first, *returns]


def _unpaid_rows(receipt: Receipt, staff: Staff, ticket_open: bool, lang: str
                 ) -> list[list[InlineKeyboardButton]]:
    rows = []
    if ticket_open:
        add = [button(_("➕ Добавить строку"), ReceiptCb(action=ReceiptAction.ADD, id=receipt.id))]
        if receipt.lines:
            add.append(button(_("➖ Убрать строку"),
                              ReceiptCb(action=ReceiptAction.PICK_LINE, id=receipt.id)))
        rows.append(add)
    if receipt.total > 0:
        rows.append([button(_("💳 Оплатить {amount}").format(amount=money(receipt.total, lang)),
                            PayCb(action=PayAction.START, id=receipt.id))])
    if ticket_open or staff.is_manager_or_owner:
        rows.append([button(_("🗑 Удалить чек"),
                            ReceiptCb(action=ReceiptAction.DELETE, id=receipt.id))])
    return rows


async def receipt_screen(session: DbSession, receipt_id: int, staff: Staff, lang: str,
                         settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    """A receipt with what this staff member may do with it."""
    facts = await receipt_facts(session, receipt_id)
    receipt = facts.receipt
    text = receipt_text(facts, lang, settings.tz, prro=settings.fiscal_provider != "none")
    if receipt.kind == ReceiptKind.REFUND:
        original = receipt.related_receipt_id or 0
        rows = [[button(_("🧾 Чек возврата"), ReceiptPrintCb(id=receipt.id)),
                 button(_("Чек №{id}").format(id=original),
                        ReceiptCb(action=ReceiptAction.VIEW, id=original))]]
    elif receipt.is_paid:
        rows = await _paid_rows(session, facts, staff)
    else:
        ticket = await get_ticket(session, receipt.ticket_id) if receipt.ticket_id else None
        ticket_open = ticket is None or not ticket.status.kind.is_closed
        rows = _unpaid_rows(receipt, staff, ticket_open, lang)
    return text, markup([*rows, [back_button(receipt)]])


def _tab_lines(sales: list[Receipt], refunds: dict[int, list[Receipt]], lang: str, tz: ZoneInfo
               ) -> list[str]:
    lines = []
    for r in sales:
        state = (_("оплачен {at}").format(at=local_dt(r.paid_at, tz, lang))
                 if r.is_paid and r.paid_at else _("не оплачен"))
        lines.append(f"{receipt_name(r)} — {money(r.total, lang)} · {state}")
        lines.extend("   " + _("↩️ возврат №{id} — {amount}").format(
            id=ret.id, amount=money(ret.total, lang)) for ret in refunds.get(r.id, []))
    return lines


async def render_tab(session: DbSession, ticket_id: int, page: int, lang: str, tz: ZoneInfo
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
    lines = [_("💳 <b>Оплата</b> · {title}").format(title=h(ticket_title(ticket))),
             *(_tab_lines(shown, refunds, lang, tz) or [_("Чеков пока нет.")])]
    totals = await ticket_money(session, ticket.id)
    summary = _("Оплачено: {paid}").format(paid=money(totals.paid, lang))
    if totals.refunded:
        summary += " · " + _("возвраты: {amount}").format(amount=money(totals.refunded, lang))
    summary += " · " + _("к оплате: {due}").format(due=money(totals.due, lang))
    lines += ["", f"<b>{summary}</b>"]

    rows = [[button(_("💳 Оплатить №{id} · {amount}").format(
        id=r.id, amount=money(r.total, lang)), PayCb(action=PayAction.START, id=r.id))]
        for r in sales if not r.is_paid and r.total > 0][:TAB_PAY_BUTTONS]
    rows.extend(chunked([button(receipt_name(r), ReceiptCb(action=ReceiptAction.VIEW, id=r.id))
                         for r in shown], 3))
    rows.append(pager(page, pages,
                      lambda p: ReceiptCb(action=ReceiptAction.TAB, id=ticket.id, arg=p)))
    if not ticket.status.kind.is_closed:
        rows.append([button(_("➕ Новый чек"), ReceiptCb(action=ReceiptAction.NEW, id=ticket.id))])
    rows.append([button(_("← К обращению"), TicketCb(action=TicketAction.CARD, id=ticket.id))])
    return "\n".join(lines), markup(rows)


# ---- taking payment (handlers/money/pay.py, pay_split.py) -----------------------------

BANKNOTES = (10000, 20000, 50000, 100000)  # 100, 200, 500, 1000 ₴: what clients hand over
SUGGESTED = 3


def suggestions(amount: int) -> list[int]:
    """Round sums a client is likely to hand over for `amount` (for one-tap "Получено")."""
    sums = {-(-amount // note) * note for note in BANKNOTES}
    return sorted(s for s in sums if s > amount)[:SUGGESTED]


async def plan_lines(session: DbSession, plan: PaymentPlan, lang: str,
                     types: dict[int, PaymentType] | None = None) -> list[str]:
    """A line per part of the plan; `types` (every type by id) when the caller has them."""
    types = types if types is not None else await payment_types_by_id(session)
    out = []
    for part in plan.parts:
        name = h(types[part.payment_type_id].title(lang)) if part.payment_type_id in types else "?"
        text = f"{kind_icon(part.kind)} {name}: {money(part.amount, lang)}"
        if part.received is not None and part.received != part.amount:
            text += " · " + _("получено {received}").format(received=money(part.received, lang))
        out.append(text)
    return out


def paid_rows(paid: Paid) -> list[list[InlineKeyboardButton]]:
    rows = [[button(_("🧾 Чек"), ReceiptPrintCb(id=paid.receipt.id))]]
    ticket = paid.ticket
    if ticket is None:
        return [*rows, [button(_("← Касса"), CashCb(action=CashAction.VIEW))]]
    if paid.status is not None and not paid.status.kind.is_closed:
        rows.append([button(_("🏁 Закрыть обращение"),
                            CloseCb(action=CloseAction.START, id=ticket.id))])
    return [*rows, [button(_("← К обращению"),
                           TicketCb(action=TicketAction.CARD, id=ticket.id))]]
