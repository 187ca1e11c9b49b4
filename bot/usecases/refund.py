"""A refund: a return receipt against a paid sale, by items or by amount (db.money.refunds:
owners and managers, never more than was sold, cash never more than the drawer holds; a closed
ticket's commission follows), queued for the PRRO when the
original went there, in the same transaction; the fiscal worker sends it after the commit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Staff
from db.desk.tickets import ticket_number
from db.money import refunds
from db.money.models import PaymentType, Receipt
from db.money.payment_types import get_payment_type


@dataclass(frozen=True)
class Refunded:
    receipt: Receipt  # the return receipt
    payment_type: PaymentType  # how the money went back
    ticket_number: int | None  # of the original's ticket; None for a quick sale


async def refund(session: AsyncSession, actor: Staff, receipt_id: int,
                 selection: Mapping[int, int] | None, payment_type_id: int, *,
                 fiscal: bool, amounts: Mapping[int, int] | None = None) -> Refunded:
    """Return `selection` ({line id: quantity in thousandths}; None = everything left) of a
    paid sale and give back `amounts` ({line id: kopecks}) of lines by amount, by one payment
    type. `fiscal`: the shop's PRRO is on."""
    lines = None if selection is None else [(i, q) for i, q in selection.items() if q > 0]
    by_amount = [(i, a) for i, a in (amounts or {}).items() if a > 0]
    result = await refunds.refund(session, actor, receipt_id, lines, payment_type_id,
                                  fiscal=fiscal, amounts=by_amount)
    receipt = result.receipt
    return Refunded(
        receipt=receipt,
        payment_type=await get_payment_type(session, payment_type_id, active=False),
        ticket_number=await ticket_number(session, receipt.ticket_id) if receipt.ticket_id
        else None)
