"""The money part of the ticket card: a summary line and the "Оплата", "Расходы",
"Закрыть обращение" buttons (composed into the card by handlers/ticket_card.py)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import money
from db.desk.models import Ticket
from db.engine import DbSession
from db.money.closing import TicketMoney, adjusted, ticket_money
from keyboards.common import button
from keyboards.money import (
    CloseAction,
    CloseCb,
    ExpenseAction,
    ExpenseCb,
    PayAction,
    PayCb,
    ReceiptAction,
    ReceiptCb,
)


async def card_part(session: DbSession, ticket: Ticket, lang: str
                    ) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    """The card's money lines and buttons, from one read of the ticket's money."""
    totals = await ticket_money(session, ticket.id)
    return await _lines(session, ticket, totals, lang), _rows(ticket, totals, lang)


async def _lines(session: DbSession, ticket: Ticket, totals: TicketMoney, lang: str
                 ) -> list[str]:
    count, paid, refunded, due, expenses, _to_pay = totals
    lines = []
    if count:
        text = _("💳 Оплачено: {paid}").format(paid=money(paid, lang))
        if refunded:
            text += " · " + _("↩️ возвраты: {amount}").format(amount=money(refunded, lang))
        if due:
            text += " · " + _("🟡 к оплате: {due}").format(due=money(due, lang))
        lines.append(text)
    if expenses:
        lines.append(_("🧾 Расходы: {amount}").format(amount=money(expenses, lang)))
    if ticket.commission is not None and ticket.commission_bp:
        # the commission follows the money kept after closing (db.money.closing)
        base_delta, delta = await adjusted(session, ticket.id)
        lines.append(_("👨‍🔧 Мастеру: {amount} ({pct}% от {base})").format(
            amount=money(ticket.commission + delta, lang), pct=f"{ticket.commission_bp / 100:g}",
            base=money((ticket.commission_base or 0) + base_delta, lang)))
        if delta:
            lines.append(_("   в т.ч. поправка после выдачи (возвраты, доплаты): {sum}").format(
                sum=money(delta, lang)))
    return lines


def _rows(ticket: Ticket, totals: TicketMoney, lang: str) -> list[list[InlineKeyboardButton]]:
    rows = [[button(_("💳 Оплата"), ReceiptCb(action=ReceiptAction.TAB, id=ticket.id)),
             button(_("🧾 Расходы"), ExpenseCb(action=ExpenseAction.TAB, id=ticket.id))]]
    # The desk's most common act — the client pays the quote — one tap from the card.
    if totals.to_pay is not None:
        rid, due = totals.to_pay
        rows.insert(0, [button(_("💳 Оплатить {amount}").format(amount=money(due, lang)),
                               PayCb(action=PayAction.START, id=rid))])
    if not ticket.status.kind.is_closed:
        rows.append([button(_("🏁 Закрыть обращение"),
                            CloseCb(action=CloseAction.START, id=ticket.id))])
    return rows
