"""Taking payment for a receipt: the payment is recorded in the open shift (opened if none)
and, when the shop has a PRRO, queued for fiscalization in the same transaction; the fiscal
worker sends it after the commit (db.signals wakes it), so nothing is fiscalized that was not
recorded, and a crash loses nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Staff, Status, Ticket
from db.money.models import Receipt
from db.money.payments import PayPart, pay_receipt


@dataclass(frozen=True)
class Paid:
    receipt: Receipt  # paid, with its payments
    change: int  # cash to hand back
    paid_at: datetime
    ticket: Ticket | None  # None for a quick sale
    status: Status | None  # the ticket's status (a payment leaves it as it is)
    fiscal: bool  # queued for the PRRO


async def pay(session: AsyncSession, actor: Staff, receipt_id: int, parts: Sequence[PayPart],
              *, fiscal: bool) -> Paid:
    """Pay by the plan's parts (checked against the receipt under its lock by
    db.money.payments: a stale plan is refused). `fiscal`: the shop's PRRO is on. Raises the
    domain's errors (ReceiptPaid, PaymentMismatch, …)."""
    result = await pay_receipt(session, actor, receipt_id, parts, fiscal=fiscal)
    receipt = result.receipt
    return Paid(receipt=receipt, change=result.change,
                paid_at=receipt.paid_at or result.shift.opened_at, ticket=result.ticket,
                status=result.status, fiscal=fiscal)
