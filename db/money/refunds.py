"""Refunds: a return receipt (kind refund) against a paid sale, in full or in part.

Rules
- Owners and managers only: money leaves the shop, so a master asks one of them.
- The original is never touched; it lists its returns (`db.money.receipts.refunds_of`). A
  refund is born paid and immutable, carries `related_receipt_id`, the ticket of the original,
  and lines pointing at the original lines (`refund_of_line_id`).
- Never more than was sold: per line, the quantities of all its returns ≤ the quantity sold,
  and their amounts ≤ the line amount.
- By amount: money back without goods back (500 of a 1 500 service: the client keeps the
  repair, the price is lowered). Such a return line is one "item" priced at the amount
  (`by_amount`), so the PRRO return receipt carries exactly that amount on the sale's good;
  it counts against the line's amount, not its quantity. A line whose money is all given back
  has nothing left to return by quantity either. One refund takes a line either by quantity
  or by amount. Checked with the original receipt row locked, so two
  refunds of one receipt cannot both take the last item. A line's amount is split half up
  like any line, except the return that takes the rest, which gets exactly what is left, so
  pieces always add up to the line to the kopeck.
- Paid back by one payment type. A cash refund leaves the drawer and cannot exceed what it
  holds (DrawerShort): put money in with a service cash-in first, so the drawer never lies.
- Refunds belong to the open shift (opened now if none; ShiftTooOld when it is 24 h old).
- A refund of a closed ticket's receipt is allowed (clients return after pickup); the
  master's commission follows the money the shop kept: a closed-as-done ticket gets a
  (negative) commission adjustment dated now (db.money.closing.adjust_commission).
- Fiscal: a refund goes to the PRRO (`pending`) only when `fiscal=True` and the original went
  there too (a return needs the original's fiscal receipt); otherwise `not_fiscal`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import signals
from db.access import require_manager
from db.audit import audit
from db.base import utcnow
from db.desk.models import Staff
from db.errors import NotFound
from db.money.amounts import ONE, check_amount, check_quantity, line_amount
from db.money.closing import adjust_commission
from db.money.errors import NotRefundable, RefundAmountTooLarge, RefundTooLarge
from db.money.models import (
    FiscalState,
    Payment,
    PaymentKind,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    ReceiptStatus,
    Shift,
)
from db.money.payment_types import get_payment_type
from db.money.receipts import lock_receipt
from db.money.shifts import shift_for_money


class RefundPart(NamedTuple):
    line_id: int  # a line of the original sale receipt
    quantity: int  # thousandths to return


@dataclass(frozen=True, slots=True)
class RefundableLine:
    line: ReceiptLine
    refunded_quantity: int
    refunded_amount: int
    refunded_by_amount: int = 0  # the part of `refunded_amount` given back by amount

    @property
    def available_quantity(self) -> int:
        if self.refunded_by_amount and self.available_amount <= 0:
            return 0  # all its money went back by amount: nothing left to return
        return self.line.quantity - self.refunded_quantity

    @property
    def available_amount(self) -> int:
        return self.line.amount - self.refunded_amount

    def check_refund_amount(self, amount: int) -> int:
        """`amount` if that much of the line's money can still go back."""
        if amount > self.available_amount:
            raise RefundAmountTooLarge(self.line.id, amount, self.available_amount)
        return amount


def refund_amount(item: RefundableLine, quantity: int) -> int:
    """What returning `quantity` of the line gives back: the rest of the line's amount when it
    takes the rest, else price × quantity half up, never more than is left."""
    if quantity == item.available_quantity:
        return item.available_amount
    return min(line_amount(item.line.price, quantity), item.available_amount)


@dataclass(frozen=True, slots=True)
class RefundPick:
    """A line picked for a return and how much of it (thousandths)."""

    item: RefundableLine
    quantity: int

    @property
    def amount(self) -> int:
        return refund_amount(self.item, self.quantity)


def picked(items: Sequence[RefundableLine], selection: Mapping[int, int]) -> list[RefundPick]:
    """The lines of `selection` ({line id: quantity}) still on the receipt, in its order."""
    return [RefundPick(item, selection[item.line.id]) for item in items
            if selection.get(item.line.id, 0) > 0]


@dataclass(frozen=True, slots=True)
class RefundResult:
    receipt: Receipt  # the new refund receipt
    payment: Payment | None  # None only for a zero-amount return (free items)
    shift: Shift


async def refundable_lines(session: AsyncSession, receipt_id: int) -> list[RefundableLine]:
    """The sale's lines with what all refunds so far took of each (SQL sums)."""
    lines = list(await session.scalars(
        select(ReceiptLine).where(ReceiptLine.receipt_id == receipt_id).order_by(ReceiptLine.id)
    ))
    items_back = case((ReceiptLine.by_amount, 0), else_=ReceiptLine.quantity)
    money_back = case((ReceiptLine.by_amount, ReceiptLine.amount), else_=0)
    taken = {
        line_id: (int(q), int(a), int(m))
        for line_id, q, a, m in await session.execute(
            select(ReceiptLine.refund_of_line_id, func.sum(items_back),
                   func.sum(ReceiptLine.amount), func.sum(money_back))
            .where(ReceiptLine.refund_of_line_id.in_([line.id for line in lines]))
            .group_by(ReceiptLine.refund_of_line_id)
        )
    }
    return [RefundableLine(line, *taken.get(line.id, (0, 0, 0))) for line in lines]


def _wanted(available: Mapping[int, RefundableLine], receipt_id: int,
            lines: Sequence[tuple[int, int]] | None) -> dict[int, int]:
    if lines is None:
        return {i: r.available_quantity for i, r in available.items() if r.available_quantity}
    wanted: dict[int, int] = {}
    for line_id, quantity in (RefundPart(*part) for part in lines):
        if line_id not in available:
            raise NotFound("receipt_line", line_id=line_id, receipt_id=receipt_id)
        wanted[line_id] = wanted.get(line_id, 0) + check_quantity(quantity)
    return wanted


def _quantity_lines(available: Mapping[int, RefundableLine], wanted: Mapping[int, int]
                    ) -> list[ReceiptLine]:
    out = []
    for line_id, quantity in wanted.items():
        have = available[line_id]
        if quantity > have.available_quantity:
            raise RefundTooLarge(line_id, quantity, have.available_quantity)
        src = have.line
        out.append(ReceiptLine(
            service_id=src.service_id, refund_of_line_id=src.id, code=src.code, name=src.name,
            price=src.price, quantity=quantity, amount=refund_amount(have, quantity),
        ))
    return out


def _amount_lines(available: Mapping[int, RefundableLine], receipt_id: int,
                  amounts: Sequence[tuple[int, int]], wanted: Mapping[int, int]
                  ) -> list[ReceiptLine]:
    """Money back on lines, one item priced at the amount each (see the module docstring)."""
    summed: dict[int, int] = {}
    for line_id, amount in amounts:
        if line_id not in available:
            raise NotFound("receipt_line", line_id=line_id, receipt_id=receipt_id)
        summed[line_id] = summed.get(line_id, 0) + check_amount(amount)
    out = []
    for line_id, amount in summed.items():
        have = available[line_id]
        if line_id in wanted:  # by items and by amount at once: refused as too much
            raise RefundAmountTooLarge(line_id, amount, have.available_amount)
        have.check_refund_amount(amount)
        src = have.line
        out.append(ReceiptLine(
            service_id=src.service_id, refund_of_line_id=src.id, code=src.code, name=src.name,
            price=amount, quantity=ONE, amount=amount, by_amount=True,
        ))
    return out


async def refund(
    session: AsyncSession,
    actor: Staff,
    receipt_id: int,
    lines: Sequence[tuple[int, int]] | None,
    payment_type_id: int,
    now: datetime | None = None,
    *,
    fiscal: bool = False,
    amounts: Sequence[tuple[int, int]] = (),
) -> RefundResult:
    """Return `lines` [(line id, quantity in thousandths)] of a paid sale (None = all left;
    with `amounts` None means none) and give back `amounts` [(line id, kopecks)] of lines by
    amount."""
    require_manager(actor)
    now = now or utcnow()
    original, _ticket, _status = await lock_receipt(session, receipt_id)
    if original.kind != ReceiptKind.SALE:
        raise NotRefundable(original.id, "is_refund")
    if original.status != ReceiptStatus.PAID:
        raise NotRefundable(original.id, "not_paid")
    available = {r.line.id: r for r in await refundable_lines(session, original.id)}
    wanted = _wanted(available, original.id, [] if lines is None and amounts else lines)
    new_lines = [*_quantity_lines(available, wanted),
                 *_amount_lines(available, original.id, amounts, wanted)]
    if not new_lines:
        raise NotRefundable(original.id, "nothing_left")
    total = sum(line.amount for line in new_lines)

    payment_type = await get_payment_type(session, payment_type_id)
    cash_out = total if payment_type.kind == PaymentKind.CASH else 0
    shift = await shift_for_money(session, actor, now, cash_out=cash_out)
    to_prro = fiscal and original.fiscal_state != FiscalState.NOT_FISCAL
    # A zero refund (free items only) moves no money, so it has no payment row.
    payment = Payment(payment_type_id=payment_type.id, kind=payment_type.kind, amount=total,
                      received=None, change=0, staff_id=actor.id, created_at=now,
                      shift_id=shift.id) if total else None
    receipt = Receipt(
        kind=ReceiptKind.REFUND, status=ReceiptStatus.PAID, ticket_id=original.ticket_id,
        related_receipt_id=original.id, total=total, change=0, created_at=now,
        created_by_id=actor.id, paid_at=now, paid_by_id=actor.id, shift_id=shift.id,
        fiscal_id=str(uuid.uuid4()), fiscal_attempts=0, fiscal_updated_at=now,
        fiscal_state=FiscalState.PENDING if to_prro else FiscalState.NOT_FISCAL,
        lines=new_lines, payments=[payment] if payment else [],
    )
    session.add(receipt)
    await session.flush()
    if to_prro:
        signals.mark(session, signals.FISCAL)
    audit(session, actor, "receipt.refund", "receipt", receipt.id, original_id=original.id,
          total=total, payment_type_id=payment_type.id, shift_id=shift.id, fiscal=to_prro,
          lines=[[line.refund_of_line_id, line.quantity, line.amount, line.by_amount]
                 for line in new_lines])
    if original.ticket_id is not None:
        await adjust_commission(session, original.ticket_id, now, receipt_id=receipt.id)
    return RefundResult(receipt=receipt, payment=payment, shift=shift)
