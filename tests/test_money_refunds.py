"""Refunds: full and partial, bounds per line across refunds, rounding, drawer, permissions."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.usecases.refund import refund as refund_use_case
from db.desk.models import Role, Staff
from db.errors import NotFound, PermissionDenied
from db.money.drawer import drawer_balance
from db.money.errors import DrawerShort, NotRefundable, RefundTooLarge
from db.money.models import FiscalState, Receipt, ReceiptKind, ReceiptStatus
from db.money.payments import pay_receipt
from db.money.receipts import add_free_line, get_receipt, refunds_of
from db.money.refunds import picked, refund, refund_amount, refundable_lines
from tests.factories import make_staff, make_ticket
from tests.test_money_support import T0, card_type, cash_type, receipt_for


async def _paid_sale(session: AsyncSession, actor: Staff, *, fiscal: bool = False) -> Receipt:
    """3 × 100,00 and 1 × 250,00 on a ticket, paid in cash (550,00 in the drawer)."""
    ticket = await make_ticket(session, actor)
    receipt = await receipt_for(session, actor, 10000, ticket, quantity=3000, name="Кабель")
    await add_free_line(session, actor, receipt.id, "Чехол", 25000)
    await pay_receipt(session, actor, receipt.id, [((await cash_type(session)).id, 55000, None)],
                      now=T0, fiscal=fiscal)
    return await get_receipt(session, receipt.id)


async def test_partial_then_repeated_partial_then_over_refund(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    sale = await _paid_sale(session, owner)
    cable, case = sale.lines
    cash = await cash_type(session)

    first = await refund(session, owner, sale.id, [(cable.id, 1000)], cash.id, T0)
    r = first.receipt
    assert (r.kind, r.status, r.related_receipt_id, r.ticket_id, r.total, r.paid_by_id) == (
        ReceiptKind.REFUND, ReceiptStatus.PAID, sale.id, sale.ticket_id, 10000, owner.id)
    assert first.payment is not None and first.payment.amount == 10000
    assert first.shift.id == sale.shift_id

    await refund(session, owner, sale.id, [(cable.id, 1000), (case.id, 1000)], cash.id, T0)
    with pytest.raises(RefundTooLarge) as err:
        await refund(session, owner, sale.id, [(cable.id, 2000)], cash.id, T0)
    assert err.value.params == {"line_id": cable.id, "requested": 2000, "available": 1000}
    with pytest.raises(RefundTooLarge):  # the same line twice in one request counts twice
        await refund(session, owner, sale.id, [(cable.id, 600), (cable.id, 600)], cash.id, T0)
    with pytest.raises(RefundTooLarge):
        await refund(session, owner, sale.id, [(case.id, 1)], cash.id, T0)

    rest = await refund(session, owner, sale.id, None, cash.id, T0)  # everything left
    assert [(line.refund_of_line_id, line.quantity) for line in rest.receipt.lines] == [
        (cable.id, 1000)]
    with pytest.raises(NotRefundable) as nothing:
        await refund(session, owner, sale.id, None, cash.id, T0)
    assert nothing.value.params["reason"] == "nothing_left"

    # The original is untouched and lists its returns.
    original = await get_receipt(session, sale.id)
    assert (original.total, original.status, len(original.lines)) == (55000, "paid", 2)
    returns = await refunds_of(session, sale.id)
    assert [x.total for x in returns] == [10000, 35000, 10000]
    assert sum(x.total for x in returns) == original.total
    assert await drawer_balance(session) == 0


async def test_pieces_add_up_to_the_line(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    receipt = await receipt_for(session, owner, 999, quantity=1500)  # 14,985 → 14,99
    await add_free_line(session, owner, receipt.id, "Гвоздь", 1)  # 0,01
    cash = await cash_type(session)
    await pay_receipt(session, owner, receipt.id, [(cash.id, 1500, None)], now=T0)
    odd, tiny = (await get_receipt(session, receipt.id)).lines
    assert (odd.amount, tiny.amount) == (1499, 1)

    a = await refund(session, owner, receipt.id, [(odd.id, 500), (tiny.id, 500)], cash.id, T0)
    assert [line.amount for line in a.receipt.lines] == [500, 1]  # 499,5 → 500; 0,5 → 1
    b = await refund(session, owner, receipt.id, None, cash.id, T0)
    assert [line.amount for line in b.receipt.lines] == [999, 0]  # exactly what is left
    left = {r.line.id: (r.available_quantity, r.available_amount)
            for r in await refundable_lines(session, receipt.id)}
    assert left == {odd.id: (0, 0), tiny.id: (0, 0)}


async def test_the_preview_gives_what_the_refund_will(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    receipt = await receipt_for(session, owner, 999, quantity=1500)  # 14,99 for 1,5 items
    cash = await cash_type(session)
    await pay_receipt(session, owner, receipt.id, [(cash.id, 1499, None)], now=T0)
    (line,) = (await get_receipt(session, receipt.id)).lines
    items = await refundable_lines(session, receipt.id)
    assert [(p.quantity, p.amount) for p in picked(items, {line.id: 500, 424242: 1000})] == [
        (500, 500)]  # 4,995 → 5,00; an unknown line is dropped
    assert refund_amount(items[0], 1500) == 1499  # the rest takes exactly what is left
    done = await refund(session, owner, receipt.id, [(line.id, 500)], cash.id, T0)
    assert done.receipt.total == 500
    (rest,) = await refundable_lines(session, receipt.id)
    assert refund_amount(rest, 1000) == 999 == rest.available_amount


async def test_who_and_what_can_be_refunded(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    manager = await make_staff(session, Role.MANAGER)
    master = await make_staff(session, Role.MASTER)
    sale = await _paid_sale(session, owner)
    cash = await cash_type(session)
    with pytest.raises(PermissionDenied):
        await refund(session, master, sale.id, None, cash.id, T0)
    unpaid = await receipt_for(session, owner, 100)
    with pytest.raises(NotRefundable) as err:
        await refund(session, manager, unpaid.id, None, cash.id, T0)
    assert err.value.params["reason"] == "not_paid"
    back = await refund(session, manager, sale.id, [(sale.lines[0].id, 1000)], cash.id, T0)
    with pytest.raises(NotRefundable) as err:
        await refund(session, manager, back.receipt.id, None, cash.id, T0)
    assert err.value.params["reason"] == "is_refund"
    with pytest.raises(NotFound):  # a line of another receipt
        await refund(session, manager, sale.id, [(back.receipt.lines[0].id, 1)], cash.id, T0)


async def test_cash_refund_cannot_exceed_the_drawer(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    card, cash = await card_type(session), await cash_type(session)
    receipt = await receipt_for(session, owner, 80000)
    await pay_receipt(session, owner, receipt.id, [(card.id, 80000, None)], now=T0)
    with pytest.raises(DrawerShort) as err:
        await refund(session, owner, receipt.id, None, cash.id, T0)
    assert err.value.params == {"balance": 0, "amount": 80000}
    back = await refund(session, owner, receipt.id, None, card.id, T0)
    assert back.receipt.total == 80000 and await drawer_balance(session) == 0


async def test_refund_fiscal_follows_the_original(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    cash = await cash_type(session)
    internal = await _paid_sale(session, owner, fiscal=False)
    fiscal = await _paid_sale(session, owner, fiscal=True)
    a = await refund(session, owner, internal.id, None, cash.id, T0, fiscal=True)
    b = await refund(session, owner, fiscal.id, None, cash.id, T0, fiscal=True)
    assert (a.receipt.fiscal_state, b.receipt.fiscal_state) == (
        FiscalState.NOT_FISCAL, FiscalState.PENDING)
    assert len({internal.fiscal_id, fiscal.fiscal_id, a.receipt.fiscal_id,
                b.receipt.fiscal_id}) == 4


async def test_simultaneous_refunds_of_the_last_item(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        managers = [await make_staff(s, Role.MANAGER) for _ in range(3)]
        sale = await _paid_sale(s, managers[0])
        line_id = sale.lines[1].id  # the single case
        cash_id = (await cash_type(s)).id

    async def take(staff_id: int) -> int:
        async with session_factory() as s, s.begin():
            actor = await s.get(Staff, staff_id)
            result = await refund(s, actor, sale.id, [(line_id, 1000)], cash_id, T0)  # type: ignore[arg-type]
            await asyncio.sleep(0.05)
            return result.receipt.total

    outcomes = await asyncio.gather(*(take(m.id) for m in managers), return_exceptions=True)
    assert [o for o in outcomes if isinstance(o, int)] == [25000], outcomes
    assert sum(isinstance(o, RefundTooLarge) for o in outcomes) == 2, outcomes
    async with session_factory() as s:
        count = await s.scalar(
            select(func.count()).select_from(Receipt).where(Receipt.kind == ReceiptKind.REFUND)
        )
        assert count == 1


async def test_the_refund_use_case(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    ticket = await make_ticket(session, owner)
    sale = await receipt_for(session, owner, 20000, ticket, quantity=2000)
    cash, card = await cash_type(session), await card_type(session)
    await pay_receipt(session, owner, sale.id, [(card.id, 40000, None)])
    line = (await get_receipt(session, sale.id)).lines[0]
    back = await refund_use_case(session, owner, sale.id, {line.id: 1000, 424242: 0}, card.id,
                                 fiscal=False)
    assert (back.receipt.total, back.payment_type.id, back.ticket_number) == (
        20000, card.id, ticket.number)
    rest = await refund_use_case(session, owner, sale.id, None, card.id, fiscal=False)
    assert rest.receipt.total == 20000 and cash.id != rest.payment_type.id
