"""Closing a ticket ("Закрыть обращение"): what is paid and not, then the master's commission.

The commission rule
    base       = paid sales of the ticket − its refunds − its expenses, floored at 0
    commission = base × master's percent, rounded half up to the kopeck

- "Paid sales" are the ticket's paid sale receipts (all lines: services, parts, free lines);
  refunds are its refund receipts; expenses are all of its expenses, cash or not.
- The percent is the master's `Staff.commission_bp` (basis points, 30 % = 3000) at closing.
  It is stamped on the ticket with the base and the result (`commission_bp`,
  `commission_base`, `commission`), so a later change of the percent does not rewrite
  history. A ticket without a master gets commission 0 (bp 0, the base still recorded).
- The stamp is what closing saw. The commission then follows the money the shop kept: a
  refund or a debt paid after closing adds a commission adjustment (`commission_adjustments`,
  dated when the money moved, signed) so that stamp + adjustments = percent stamped at
  closing × max(0, paid sales − refunds − expenses) now. Payroll counts the stamp on the
  closing day and each adjustment on its own day: a month already paid out is not rewritten,
  the next one carries the correction. Reclosing (after a reopen) stamps everything anew and
  drops the ticket's adjustments (the new stamp contains them).

Closing
- Any active staff member closes. Unpaid receipts stop the closing with UnpaidReceipts
  (count, total, ids) unless `confirm_unpaid=True` or the debt is confirmed by its amount
  (`expected_unpaid`, see below); they stay unpaid (a debt). An empty
  receipt (total 0) owes nothing and does not count.
- The ticket moves to the first active status of kind DONE through db.desk.tickets.change_status,
  so the guarded transitions apply: with the default table only "Можно забирать" (ready)
  leads to "Выдан"; closing from any other status raises TransitionNotAllowed. Closing as
  "Отказ" (refused) is a plain status change and stamps no commission.
- The ticket row is locked first, as every receipt change does, so no payment, refund or
  expense of this ticket can slip in between the summary and the stamp. A person confirms the
  debt they saw (`expected_unpaid`, 0 = none); a different one under the lock refuses with
  UnpaidChanged, so a debt that changed after the summary is never confirmed blindly.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import BigInteger, Select, and_, bindparam, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import require_active
from db.audit import audit
from db.base import utcnow
from db.desk.models import Staff, Status, StatusKind, Ticket
from db.desk.tickets import (
    allowed_targets,
    change_status,
    first_active_status,
    lock_open_ticket,
)
from db.errors import NotFound
from db.money.amounts import percent_of
from db.money.errors import UnpaidChanged, UnpaidReceipts
from db.money.expenses import expenses_sum, expenses_total
from db.money.models import CommissionAdjustment, Receipt, ReceiptKind, ReceiptStatus


@dataclass(frozen=True, slots=True)
class UnpaidReceipt:
    receipt_id: int
    total: int


@dataclass(frozen=True, slots=True)
class ClosingSummary:
    ticket_id: int
    number: int
    sales_paid: int  # paid sale receipts
    refunded: int  # refund receipts
    expenses: int
    unpaid: list[UnpaidReceipt] = field(default_factory=list)
    master_id: int | None = None
    commission_bp: int = 0
    commission_base: int = 0
    commission: int = 0

    @property
    def paid_total(self) -> int:
        return self.sales_paid - self.refunded

    @property
    def unpaid_total(self) -> int:
        return sum(u.total for u in self.unpaid)


def commission_for(sales_paid: int, refunded: int, expenses: int, bp: int) -> tuple[int, int]:
    """(base, commission) by the rule in the module docstring."""
    base = max(0, sales_paid - refunded - expenses)
    return base, percent_of(base, bp)


async def _summary(session: AsyncSession, ticket: Ticket) -> ClosingSummary:
    paid = and_(Receipt.kind == ReceiptKind.SALE, Receipt.status == ReceiptStatus.PAID)
    sales, refunds = (await session.execute(
        select(
            func.coalesce(func.sum(case((paid, Receipt.total), else_=0)), 0),
            func.coalesce(func.sum(
                case((Receipt.kind == ReceiptKind.REFUND, Receipt.total), else_=0)
            ), 0),
        ).where(Receipt.ticket_id == ticket.id)
    )).one()
    unpaid = [
        UnpaidReceipt(receipt_id, int(total))
        for receipt_id, total in await session.execute(
            select(Receipt.id, Receipt.total).where(
                Receipt.ticket_id == ticket.id, Receipt.kind == ReceiptKind.SALE,
                Receipt.status == ReceiptStatus.UNPAID, Receipt.total > 0,
            ).order_by(Receipt.id)
        )
    ]
    expenses = await expenses_total(session, ticket.id)
    bp = 0
    if ticket.master_id is not None:
        master = await session.get(Staff, ticket.master_id)
        bp = master.commission_bp if master is not None else 0
    base, commission = commission_for(int(sales), int(refunds), expenses, bp)
    return ClosingSummary(
        ticket_id=ticket.id, number=ticket.number, sales_paid=int(sales), refunded=int(refunds),
        expenses=expenses, unpaid=unpaid, master_id=ticket.master_id, commission_bp=bp,
        commission_base=base, commission=commission,
    )


async def closing_summary(session: AsyncSession, ticket_id: int) -> ClosingSummary:
    """What closing would record now: paid, unpaid, expenses and the commission preview."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id=ticket_id)
    return await _summary(session, ticket)


async def closing_status(session: AsyncSession, ticket: Ticket) -> Status | None:
    """The status closing moves the ticket to, when its guarded transitions allow it now;
    None otherwise (e.g. it is not "ready" yet) or when the list has no DONE status."""
    try:
        done = await first_active_status(session, StatusKind.DONE)
    except NotFound:
        return None
    targets = await allowed_targets(session, ticket.status_id)
    return done if done.id in {s.id for s in targets} else None


async def close_ticket(
    session: AsyncSession, actor: Staff, ticket_id: int, *, confirm_unpaid: bool = False,
    expected_unpaid: int | None = None, now: datetime | None = None,
) -> ClosingSummary:
    """Close a ticket as done and stamp the master's commission; returns what was stamped."""
    require_active(actor)
    now = now or utcnow()
    ticket = await lock_open_ticket(session, ticket_id)
    summary = await _summary(session, ticket)
    if expected_unpaid is not None:
        if expected_unpaid != summary.unpaid_total:
            raise UnpaidChanged(expected_unpaid, summary.unpaid_total)
    elif summary.unpaid and not confirm_unpaid:
        raise UnpaidReceipts(len(summary.unpaid), summary.unpaid_total,
                             [u.receipt_id for u in summary.unpaid])
    done = await first_active_status(session, StatusKind.DONE)
    await change_status(session, actor, ticket.id, done.id, now=now)
    ticket.commission = summary.commission
    ticket.commission_bp = summary.commission_bp
    ticket.commission_base = summary.commission_base
    # the new stamp contains every earlier correction
    await session.execute(delete(CommissionAdjustment)
                          .where(CommissionAdjustment.ticket_id == ticket.id))
    await session.flush()
    audit(session, actor, "ticket.close", "ticket", ticket.id, number=ticket.number,
          paid=summary.paid_total, unpaid=summary.unpaid_total, expenses=summary.expenses,
          master_id=summary.master_id, commission_bp=summary.commission_bp,
          commission_base=summary.commission_base, commission=summary.commission)
    return summary


async def adjusted(session: AsyncSession, ticket_id: int) -> tuple[int, int]:
    """(Σ base delta, Σ commission) of a ticket's adjustments since its closing."""
    base, amount = (await session.execute(
        select(func.coalesce(func.sum(CommissionAdjustment.base_delta), 0),
               func.coalesce(func.sum(CommissionAdjustment.amount), 0))
        .where(CommissionAdjustment.ticket_id == ticket_id))).one()
    return int(base), int(amount)


async def adjust_commission(session: AsyncSession, ticket_id: int, now: datetime, *,
                            receipt_id: int | None = None) -> CommissionAdjustment | None:
    """After money of a ticket moved (call with the ticket locked, after the flush): a ticket
    closed as done gets the adjustment that makes its commission follow the money kept (rule
    in the module docstring). None when nothing changes or the ticket is not closed as done."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or ticket.commission is None or ticket.closed_at is None:
        return None
    status = await session.get(Status, ticket.status_id)
    if status is None or status.kind != StatusKind.DONE:
        return None
    summary = await _summary(session, ticket)
    bp = ticket.commission_bp or 0
    base, commission = commission_for(summary.sales_paid, summary.refunded, summary.expenses, bp)
    base_so_far, so_far = await adjusted(session, ticket.id)
    base_delta = base - (ticket.commission_base or 0) - base_so_far
    delta = commission - ticket.commission - so_far
    if not base_delta and not delta:
        return None
    row = CommissionAdjustment(ticket_id=ticket.id, master_id=ticket.master_id,
                               receipt_id=receipt_id, base_delta=base_delta, bp=bp,
                               amount=delta, created_at=now)
    session.add(row)
    await session.flush()
    return row


async def unpaid_by_ticket(session: AsyncSession, ticket_ids: Collection[int]) -> dict[int, int]:
    """What each ticket still owes, kopecks (its unpaid sale receipts with a total, as
    `closing_summary.unpaid_total` counts them), in one grouped query; tickets owing nothing
    are absent."""
    if not ticket_ids:
        return {}
    rows = await session.execute(
        select(Receipt.ticket_id, func.sum(Receipt.total))
        .where(Receipt.ticket_id.in_(list(ticket_ids)), Receipt.kind == ReceiptKind.SALE,
               Receipt.status == ReceiptStatus.UNPAID, Receipt.total > 0)
        .group_by(Receipt.ticket_id)
    )
    # The filter on ticket_id leaves no NULL group.
    return {ticket_id: int(total) for ticket_id, total in rows if ticket_id is not None}


async def amount_due(session: AsyncSession, ticket_id: int) -> int:
    """What the client still has to pay on one ticket, kopecks ({amount_due} in messages)."""
    return (await unpaid_by_ticket(session, [ticket_id])).get(ticket_id, 0)


@functools.cache
def _ticket_money_statement() -> Select[int, int, int, int, int, int, int | None, int | None]:
    """Built once: constructing these CASE sums (and their cache key) costs more than running
    them on a ticket's few receipts, and every card shows them."""
    ticket_id = bindparam("ticket_id", type_=BigInteger)
    sale = Receipt.kind == ReceiptKind.SALE
    unpaid = and_(sale, Receipt.status == ReceiptStatus.UNPAID)
    payable = and_(unpaid, Receipt.total > 0)
    return select(
        func.count(Receipt.id),
        func.coalesce(func.sum(case((and_(sale, Receipt.status == ReceiptStatus.PAID),
                                     Receipt.total), else_=0)), 0),
        func.coalesce(func.sum(case((Receipt.kind == ReceiptKind.REFUND, Receipt.total),
                                    else_=0)), 0),
        func.coalesce(func.sum(case((unpaid, Receipt.total), else_=0)), 0),
        expenses_sum(ticket_id).scalar_subquery(),
        # The unpaid sales with a total: how many, and (for when it is one) its id and total.
        func.count(case((payable, Receipt.id))),
        func.max(case((payable, Receipt.id))),
        func.max(case((payable, Receipt.total))),
    ).where(Receipt.ticket_id == ticket_id)


class TicketMoney(NamedTuple):
    receipts: int  # how many, sales and refunds
    paid: int  # paid sales
    refunded: int
    due: int  # unpaid sales
    expenses: int
    # (receipt id, total) of the ticket's unpaid sale with a total, when there is exactly one:
    # the card's "💳 Оплатить" button.
    to_pay: tuple[int, int] | None = None


async def ticket_money(session: AsyncSession, ticket_id: int) -> TicketMoney:
    """A ticket's money for its card and its "Оплата" tab: one statement, an aggregate over
    its receipts with the expenses sum beside it."""
    count, paid, refunded, due, expenses, payable, payable_id, payable_total = (
        await session.execute(_ticket_money_statement(), {"ticket_id": ticket_id})).one()
    to_pay = None
    if payable == 1 and payable_id is not None and payable_total is not None:
        to_pay = (int(payable_id), int(payable_total))
    return TicketMoney(int(count), int(paid), int(refunded), int(due), int(expenses or 0),
                       to_pay)
