"""Taking payment for a receipt: split parts, cash received and change, exactly once.

Rules
- Parts (payment type, amount, received) must add up to the receipt total exactly: the
  amounts are what the receipt gets. For a cash part `received` (default: the amount) may be
  more, and change = received − amount is returned and stored per part and on the receipt.
  A cashless part takes no `received` (a card is charged the exact amount).
- Any active staff member takes payment; a closed ticket's leftover unpaid receipt may still
  be paid (a debt collected later).
- Exactly one payment per receipt: the receipt row is locked (after its ticket) and then
  flipped with `UPDATE ... WHERE status = 'unpaid'`, whose row count must be 1. The loser of
  two simultaneous payments gets ReceiptPaid and its transaction writes nothing.
- The payment goes into the open shift (opened now if none); a shift 24 h old refuses it with
  ShiftTooOld (db.money.shifts).
- Fiscal hook: the receipt gets a client-generated UUID `fiscal_id` when paid and
  fiscal_state `pending` when `fiscal=True` (the use case calls the PRRO after commit) or
  `not_fiscal` otherwise.

The plan (`PaymentPlan`) is how the desk puts the parts together before paying: one type for
the whole total, or split parts, each never more than what is left; the cash handed over goes
to the (first) cash part and gives the change. `pay_receipt` checks everything again, so a plan
that went stale (the receipt changed meanwhile) is refused, never paid wrong.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db import signals
from db.access import require_active
from db.audit import audit
from db.base import rowcount, utcnow
from db.desk.models import Staff, Status, Ticket
from db.errors import InvalidValue
from db.money.amounts import check_amount
from db.money.closing import adjust_commission
from db.money.errors import (
    PartTooLarge,
    PaymentMismatch,
    ReceiptEmpty,
    ReceiptPaid,
    ReceivedTooLittle,
)
from db.money.models import (
    FiscalState,
    Payment,
    PaymentKind,
    PaymentType,
    Receipt,
    ReceiptStatus,
    Shift,
)
from db.money.payment_types import get_payment_type
from db.money.receipts import lock_receipt, require_unpaid_sale
from db.money.shifts import shift_for_money

PARTS_MAX = 5


class PayPart(NamedTuple):
    payment_type_id: int
    amount: int  # kopecks this part pays of the total
    received: int | None = None  # cash handed over; None = exactly `amount`


@dataclass(frozen=True, slots=True)
class PlannedPart:
    """One part of a plan: its type and kind (which part takes cash), the amount it pays and,
    for cash, what was handed over (None = exactly the amount)."""

    payment_type_id: int
    kind: PaymentKind
    amount: int
    received: int | None = None

    @property
    def change(self) -> int:
        return self.received - self.amount if self.received is not None else 0

    def to_pay(self) -> PayPart:
        return PayPart(self.payment_type_id, self.amount, self.received)


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    """How the client pays a receipt of `total` kopecks, put together step by step."""

    total: int
    parts: tuple[PlannedPart, ...] = ()

    @classmethod
    def whole(cls, total: int, payment_type: PaymentType) -> PaymentPlan:
        """All of it by one type."""
        return cls(total, (PlannedPart(payment_type.id, payment_type.kind, total),))

    @property
    def paid(self) -> int:
        return sum(p.amount for p in self.parts)

    @property
    def left(self) -> int:
        return self.total - self.paid

    @property
    def change(self) -> int:
        return sum(p.change for p in self.parts)

    @property
    def has_cash(self) -> bool:
        return any(p.kind == PaymentKind.CASH for p in self.parts)

    def add(self, payment_type: PaymentType, amount: int) -> PaymentPlan:
        """One more part (a type already in the plan pays `amount` more). Raises PartTooLarge
        for more than is left."""
        check_amount(amount)
        if amount > self.left:
            raise PartTooLarge(self.left, amount)
        same = next((p for p in self.parts if p.payment_type_id == payment_type.id), None)
        if same is None:
            parts = (*self.parts, PlannedPart(payment_type.id, payment_type.kind, amount))
        else:
            parts = tuple(replace(p, amount=p.amount + amount) if p is same else p
                          for p in self.parts)
        return replace(self, parts=parts)

    def receive(self, received: int | None) -> PaymentPlan:
        """Cash handed over for the (first) cash part; None = exactly its amount. A plan without
        cash stays as it is. Raises ReceivedTooLittle."""
        cash = next((p for p in self.parts if p.kind == PaymentKind.CASH), None)
        if cash is None:
            return self
        if received is not None and received < cash.amount:
            raise ReceivedTooLittle(cash.amount, received)
        return replace(self, parts=tuple(replace(p, received=received) if p is cash else p
                                         for p in self.parts))

    def pay_parts(self) -> list[PayPart]:
        return [p.to_pay() for p in self.parts]


@dataclass(frozen=True, slots=True)
class PaymentResult:
    receipt: Receipt
    payments: list[Payment]
    change: int  # total cash to hand back
    shift: Shift
    ticket: Ticket | None  # locked with the receipt; None for a quick sale
    status: Status | None  # the ticket's status


async def _payment_row(session: AsyncSession, actor: Staff, part: PayPart, now: datetime
                       ) -> Payment:
    """A part as a payment row: cash may be handed over in excess (change), a card never."""
    check_amount(part.amount)
    payment_type = await get_payment_type(session, part.payment_type_id)
    received = part.received
    if payment_type.kind == PaymentKind.CASH:
        received = part.amount if received is None else check_amount(received, "received")
        if received < part.amount:
            raise ReceivedTooLittle(part.amount, received)
    elif received is not None and received != part.amount:
        raise InvalidValue("received", reason="cashless", payment_type_id=payment_type.id)
    else:
        received = None
    change = received - part.amount if received is not None else 0
    return Payment(payment_type_id=payment_type.id, kind=payment_type.kind, amount=part.amount,
                   received=received, change=change, staff_id=actor.id, created_at=now)


async def pay_receipt(
    session: AsyncSession,
    actor: Staff,
    receipt_id: int,
    parts: Sequence[tuple[int, int, int | None]],
    now: datetime | None = None,
    *,
    fiscal: bool = False,
) -> PaymentResult:
    require_active(actor)
    now = now or utcnow()
    if not parts:
        raise InvalidValue("parts", reason="required")
    if len(parts) > PARTS_MAX:
        raise InvalidValue("parts", reason="too_many", limit=PARTS_MAX)
    receipt, ticket, status = await lock_receipt(session, receipt_id)
    require_unpaid_sale(receipt)
    if receipt.total <= 0:
        raise ReceiptEmpty(receipt.id)

    rows = [await _payment_row(session, actor, PayPart(*part), now) for part in parts]
    paid = sum(p.amount for p in rows)
    if paid != receipt.total:
        raise PaymentMismatch(receipt.total, paid)
    change = sum(p.change for p in rows)

    shift = await shift_for_money(session, actor, now)
    flipped = await session.execute(
        update(Receipt)
        .where(Receipt.id == receipt.id, Receipt.status == ReceiptStatus.UNPAID)
        .values(status=ReceiptStatus.PAID, paid_at=now, paid_by_id=actor.id, shift_id=shift.id,
                change=change, fiscal_id=str(uuid.uuid4()),
                fiscal_state=FiscalState.PENDING if fiscal else FiscalState.NOT_FISCAL,
                fiscal_updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(flipped) != 1:
        raise ReceiptPaid(receipt.id)
    for row in rows:
        row.shift_id = shift.id
    receipt.payments.extend(rows)
    await session.flush()
    if fiscal:
        signals.mark(session, signals.FISCAL)
    audit(session, actor, "receipt.pay", "receipt", receipt.id, total=receipt.total,
          change=change, shift_id=shift.id, fiscal=fiscal,
          parts=[[p.payment_type_id, p.amount, p.received] for p in rows])
    if receipt.ticket_id is not None:  # a debt paid after closing raises the commission
        await adjust_commission(session, receipt.ticket_id, now, receipt_id=receipt.id)
    return PaymentResult(receipt=receipt, payments=rows, change=change, shift=shift,
                         ticket=ticket, status=status)
