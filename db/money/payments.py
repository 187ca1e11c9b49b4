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
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db import signals
from db.access import require_active
from db.audit import audit
from db.base import utcnow
from db.desk.models import Staff
from db.errors import InvalidValue
from db.money.amounts import check_amount
from db.money.errors import (
    PaymentMismatch,
    ReceiptEmpty,
    ReceiptPaid,
    ReceivedTooLittle,
)
from db.money.models import (
    FiscalState,
    Payment,
    PaymentKind,
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
class PaymentResult:
    receipt: Receipt
    payments: list[Payment]
    change: int  # total cash to hand back
    shift: Shift


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
    receipt, _ticket, _status = await lock_receipt(session, receipt_id)
    require_unpaid_sale(receipt)
    if receipt.total <= 0:
        raise ReceiptEmpty(receipt.id)

    rows: list[Payment] = []
    for part in parts:
        payment_type_id, amount, received = PayPart(*part)
        check_amount(amount)
        payment_type = await get_payment_type(session, payment_type_id)
        if payment_type.kind == PaymentKind.CASH:
            received = amount if received is None else check_amount(received, "received")
            if received < amount:
                raise ReceivedTooLittle(amount, received)
        elif received is not None and received != amount:
            raise InvalidValue("received", reason="cashless", payment_type_id=payment_type.id)
        else:
            received = None
        rows.append(Payment(
            payment_type_id=payment_type.id, kind=payment_type.kind,
            amount=amount, received=received,
            change=(received - amount) if received is not None else 0,
            staff_id=actor.id, created_at=now,
        ))
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
    if flipped.rowcount != 1:  # type: ignore[attr-defined]
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
    return PaymentResult(receipt=receipt, payments=rows, change=change, shift=shift)
