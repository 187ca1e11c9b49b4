"""Payments: split parts, cash received and change, validation, fiscal hook, exactly once."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.usecases.payment import pay
from db.desk.models import AuditEntry, Role, Staff
from db.errors import InvalidValue, NotFound
from db.money.errors import (
    InvalidAmount,
    PartTooLarge,
    PaymentMismatch,
    ReceiptPaid,
    ReceivedTooLittle,
)
from db.money.models import FiscalState, Payment, PaymentKind, Receipt, ReceiptStatus, Shift
from db.money.payment_types import edit_payment_type
from db.money.payments import PaymentPlan, PayPart, pay_receipt
from db.money.receipts import get_receipt
from tests.factories import make_staff, make_ticket
from tests.test_money_support import T0, card_type, cash_type, receipt_for


async def test_split_payment_with_change(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    ticket = await make_ticket(session, master)
    receipt = await receipt_for(session, master, 170000, ticket)
    cash, card = await cash_type(session), await card_type(session)

    result = await pay_receipt(session, master, receipt.id, [
        PayPart(cash.id, 100000, 200000),  # 1 000,00 of it in cash, 2 000,00 handed over
        PayPart(card.id, 70000),
    ], now=T0)

    assert result.change == 100000
    assert [p.amount for p in result.receipt.payments] == [100000, 70000]
    paid = await get_receipt(session, receipt.id)
    assert (paid.status, paid.paid_at, paid.paid_by_id, paid.change) == (
        ReceiptStatus.PAID, T0, master.id, 100000)
    assert paid.shift_id == result.shift.id
    assert paid.fiscal_state == FiscalState.NOT_FISCAL
    assert uuid.UUID(paid.fiscal_id or "").version == 4
    rows = [(p.payment_type_id, p.kind, p.amount, p.received, p.change, p.staff_id, p.shift_id,
             p.created_at) for p in paid.payments]
    assert rows == [
        (cash.id, PaymentKind.CASH, 100000, 200000, 100000, master.id, result.shift.id, T0),
        (card.id, PaymentKind.CASHLESS, 70000, None, 0, master.id, result.shift.id, T0),
    ]
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "receipt.pay"))
    assert entry is not None and entry.entity_id == receipt.id and entry.data["change"] == 100000


async def test_exact_cash_and_fiscal_pending(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    receipt = await receipt_for(session, master, 5000)  # quick sale: no ticket
    assert receipt.ticket_id is None
    result = await pay_receipt(session, master, receipt.id,
                               [((await cash_type(session)).id, 5000, None)], now=T0, fiscal=True)
    assert result.change == 0 and result.payments[0].received == 5000
    assert result.receipt.fiscal_state == FiscalState.PENDING


@pytest.mark.parametrize(
    ("parts", "error", "params"),
    [
        ([("cash", 10000, None)], PaymentMismatch, {"total": 15000, "paid": 10000,
                                                      "difference": 5000}),
        ([("cash", 10000, None), ("card", 10000, None)], PaymentMismatch,
         {"total": 15000, "paid": 20000, "difference": -5000}),
        ([("cash", 15000, 14999)], ReceivedTooLittle, {"amount": 15000, "received": 14999}),
        ([("card", 15000, 20000)], InvalidValue, {"field": "received", "reason": "cashless"}),
        ([("cash", 0, None)], InvalidAmount, {"reason": "zero"}),
        ([("cash", -15000, None)], InvalidAmount, {"reason": "negative"}),
        ([], InvalidValue, {"field": "parts", "reason": "required"}),
    ],
)
async def test_payment_validation(
    session: AsyncSession, parts: list[tuple[str, int, int | None]], error: type[Exception],
    params: dict[str, object],
) -> None:
    master = await make_staff(session, Role.MASTER)
    receipt = await receipt_for(session, master, 15000)
    ids = {"cash": (await cash_type(session)).id, "card": (await card_type(session)).id}
    with pytest.raises(error) as err:
        await pay_receipt(session, master, receipt.id,
                          [(ids[k], amount, got) for k, amount, got in parts], now=T0)
    assert params.items() <= err.value.params.items()  # type: ignore[attr-defined]
    assert receipt.status == ReceiptStatus.UNPAID
    assert await session.scalar(select(func.count()).select_from(Payment)) == 0
    assert await session.scalar(select(func.count()).select_from(Shift)) == 0


async def test_inactive_payment_type_takes_no_money(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    card = await card_type(session)
    await edit_payment_type(session, owner, card.id, active=False)
    receipt = await receipt_for(session, owner, 100)
    with pytest.raises(NotFound):
        await pay_receipt(session, owner, receipt.id, [(card.id, 100, None)], now=T0)


@pytest.mark.parametrize(("payers", "on_ticket"), [(2, True), (6, True), (3, False)])
async def test_simultaneous_payments_make_exactly_one(
    session_factory: async_sessionmaker[AsyncSession], payers: int, on_ticket: bool,
) -> None:
    async with session_factory() as s, s.begin():
        staff = [await make_staff(s, Role.MASTER) for _ in range(payers)]
        ticket = await make_ticket(s, staff[0]) if on_ticket else None  # else a quick sale
        receipt = await receipt_for(s, staff[0], 150000, ticket)
        cash_id = (await cash_type(s)).id

    async def pay(staff_id: int) -> int:
        async with session_factory() as s, s.begin():
            actor = await s.get(Staff, staff_id)
            assert actor is not None
            result = await pay_receipt(s, actor, receipt.id, [(cash_id, 150000, 200000)],
                                       now=T0)
            await asyncio.sleep(0.05)  # hold the transaction open while the others try
            return result.change

    outcomes = await asyncio.gather(*(pay(m.id) for m in staff), return_exceptions=True)
    assert sorted(map(type, outcomes), key=str) == sorted(
        [int] + [ReceiptPaid] * (payers - 1), key=str), outcomes
    assert [o for o in outcomes if isinstance(o, int)] == [50000]
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Payment)) == 1
        assert await s.scalar(select(func.count()).select_from(Shift)) == 1
        paid = await s.get(Receipt, receipt.id)
        assert paid is not None and paid.status == ReceiptStatus.PAID and paid.change == 50000


async def test_payment_plan_split_change_and_bounds(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    receipt = await receipt_for(session, master, 150000)
    cash, card = await cash_type(session), await card_type(session)
    plan = PaymentPlan(receipt.total).add(cash, 60000).add(cash, 40000)  # one cash part
    assert [(p.payment_type_id, p.amount) for p in plan.parts] == [(cash.id, 100000)]
    assert (plan.paid, plan.left, plan.has_cash) == (100000, 50000, True)
    with pytest.raises(PartTooLarge) as err:
        plan.add(card, 50001)
    assert err.value.params == {"left": 50000, "amount": 50001}
    plan = plan.add(card, plan.left)
    with pytest.raises(ReceivedTooLittle):
        plan.receive(99999)
    plan = plan.receive(120000)
    assert (plan.left, plan.change) == (0, 20000)
    result = await pay_receipt(session, master, receipt.id, plan.pay_parts(), now=T0)
    assert result.change == 20000
    assert [(p.kind, p.amount, p.received) for p in result.payments] == [
        (PaymentKind.CASH, 100000, 120000), (PaymentKind.CASHLESS, 50000, None)]


async def test_payment_plan_of_one_type(session: AsyncSession) -> None:
    card, cash = await card_type(session), await cash_type(session)
    by_card = PaymentPlan.whole(5000, card)
    assert by_card.receive(9000) == by_card and by_card.change == 0  # no cash, no change
    assert PaymentPlan.whole(5000, cash).receive(None).parts[0].received is None
    assert PaymentPlan.whole(5000, cash).receive(10000).change == 5000


async def test_the_pay_use_case_records_and_queues_for_the_prro(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    ticket = await make_ticket(session, master)
    receipt = await receipt_for(session, master, 5000, ticket)
    cash = await cash_type(session)
    paid = await pay(session, master, receipt.id,
                     PaymentPlan.whole(receipt.total, cash).receive(6000).pay_parts(), fiscal=True)
    assert (paid.change, paid.fiscal, paid.receipt.fiscal_state) == (
        1000, True, FiscalState.PENDING)
    assert paid.ticket is not None and paid.ticket.id == ticket.id
    assert paid.status is not None and paid.status.id == ticket.status_id
    assert paid.paid_at == paid.receipt.paid_at
    with pytest.raises(ReceiptPaid):  # a stale screen pays nothing twice
        await pay(session, master, receipt.id, PaymentPlan.whole(5000, cash).pay_parts(),
                  fiscal=False)
    quick = await receipt_for(session, master, 100)
    done = await pay(session, master, quick.id, PaymentPlan.whole(100, cash).pay_parts(),
                     fiscal=False)
    assert done.ticket is None and done.receipt.fiscal_state == FiscalState.NOT_FISCAL
