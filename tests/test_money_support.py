"""Shared helpers for the money tests (no tests of its own beyond the seed check)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Role, Staff, Status, Ticket
from db.desk.tickets import change_status
from db.money.models import PaymentKind, PaymentType, Receipt
from db.money.payment_types import default_payment_type, list_payment_types
from db.money.receipts import add_free_line, create_receipt
from tests.factories import make_staff, make_ticket

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday morning, Kyiv 10:00


async def cash_type(session: AsyncSession) -> PaymentType:
    return await default_payment_type(session, PaymentKind.CASH)


async def card_type(session: AsyncSession) -> PaymentType:
    return await default_payment_type(session, PaymentKind.CASHLESS)


async def owner(session: AsyncSession) -> Staff:
    return await make_staff(session, Role.OWNER)


async def receipt_for(
    session: AsyncSession, actor: Staff, price: int, ticket: Ticket | None = None,
    *, quantity: int = 1000, name: str = "Работа",
) -> Receipt:
    """An unpaid receipt with one free line (on a ticket, or a quick sale)."""
    receipt = await create_receipt(session, actor, ticket.id if ticket else None, now=T0)
    await add_free_line(session, actor, receipt.id, name, price, quantity)
    return receipt


async def ticket_at(session: AsyncSession, actor: Staff, code: str = "ready", **draft: object
                    ) -> Ticket:
    """A fresh ticket moved along the default transitions to status `code`."""
    ticket = await make_ticket(session, actor, **draft)
    path = {"accepted": [], "in_work": ["in_work"], "ready": ["in_work", "ready"]}[code]
    statuses = {s.code: s for s in await session.scalars(select(Status))}
    for step in path:
        await change_status(session, actor, ticket.id, statuses[step].id)
    return ticket


async def test_payment_types_are_seeded(session: AsyncSession) -> None:
    types = await list_payment_types(session)
    assert [(t.kind, t.name_ru, t.name_uk) for t in types] == [
        (PaymentKind.CASH, "Наличные", "Готівка"),
        (PaymentKind.CASHLESS, "Карта", "Картка"),
    ]
    assert types[0].kind.checkbox == "CASH" and types[1].kind.checkbox == "CASHLESS"
