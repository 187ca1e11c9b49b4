"""Money that matches the books: refunds by amount (bounds, drawer, reports) and the master's
commission following the money the shop kept after closing (adjustments, payroll)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Role, Staff, Status, Ticket
from db.desk.tickets import change_status, get_ticket
from db.errors import NotFound
from db.money.closing import adjusted, close_ticket
from db.money.drawer import drawer_balance
from db.money.errors import InvalidAmount, NotRefundable, RefundAmountTooLarge
from db.money.models import CommissionAdjustment, PaymentType, Receipt
from db.money.payments import pay_receipt
from db.money.receipts import get_receipt
from db.money.refunds import refund, refundable_lines
from db.money.shifts import close_shift
from db.reports.periods import Period
from db.reports.queries import payroll, totals
from tests.factories import make_staff
from tests.test_money_support import T0, card_type, cash_type, receipt_for, ticket_at

KYIV = ZoneInfo("Europe/Kyiv")
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))


async def test_refund_part_of_a_service_by_amount(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    cash = await cash_type(session)
    receipt = await receipt_for(session, owner, 150000, name="Замена экрана")
    await pay_receipt(session, owner, receipt.id, [(cash.id, 150000, None)], now=T0)
    [line] = (await get_receipt(session, receipt.id)).lines

    done = await refund(session, owner, receipt.id, [], cash.id, T0, amounts=[(line.id, 50000)])

    [back] = done.receipt.lines
    assert (back.code, back.name, back.by_amount) == (line.code, "Замена экрана", True)
    assert (back.price, back.quantity, back.amount, done.receipt.total) == (
        50000, 1000, 50000, 50000)
    assert done.payment is not None and done.payment.amount == 50000
    assert await drawer_balance(session) == 100000
    [left] = await refundable_lines(session, receipt.id)
    # the item is still the client's; the line's money left is 1 000,00
    assert (left.available_quantity, left.available_amount) == (1000, 100000)
    report = await totals(session, MARCH, KYIV)
    assert (report.sales, report.refunds, report.revenue) == (150000, 50000, 100000)

    with pytest.raises(RefundAmountTooLarge) as too_much:
        await refund(session, owner, receipt.id, [], cash.id, T0, amounts=[(line.id, 100001)])
    assert too_much.value.params["available"] == 100000
    with pytest.raises(RefundAmountTooLarge):  # one refund takes a line by items or by amount
        await refund(session, owner, receipt.id, [(line.id, 1000)], cash.id, T0,
                     amounts=[(line.id, 100)])
    with pytest.raises(InvalidAmount):
        await refund(session, owner, receipt.id, [], cash.id, T0, amounts=[(line.id, 0)])
    with pytest.raises(NotFound):
        await refund(session, owner, receipt.id, [], cash.id, T0, amounts=[(line.id + 99, 1)])

    # "return everything" then gives back exactly the rest
    rest = await refund(session, owner, receipt.id, None, cash.id, T0)
    assert rest.receipt.total == 100000 and rest.receipt.lines[0].quantity == 1000
    assert await drawer_balance(session) == 0
    with pytest.raises(NotRefundable):
        await refund(session, owner, receipt.id, None, cash.id, T0)


async def test_all_money_back_by_amount_leaves_nothing_to_return(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    card = await card_type(session)
    receipt = await receipt_for(session, owner, 30000, quantity=2000)  # 2 × 300,00
    await pay_receipt(session, owner, receipt.id, [(card.id, 60000, None)], now=T0)
    [line] = (await get_receipt(session, receipt.id)).lines
    await refund(session, owner, receipt.id, [], card.id, T0, amounts=[(line.id, 25000)])
    await refund(session, owner, receipt.id, [(line.id, 1000)], card.id, T0)  # one item: 300
    [left] = await refundable_lines(session, receipt.id)
    assert (left.available_quantity, left.available_amount) == (1000, 5000)
    await refund(session, owner, receipt.id, [], card.id, T0, amounts=[(line.id, 5000)])
    [left] = await refundable_lines(session, receipt.id)
    assert (left.available_quantity, left.available_amount) == (0, 0)
    with pytest.raises(NotRefundable):
        await refund(session, owner, receipt.id, None, card.id, T0)


async def _closed_ticket(session: AsyncSession, price: int = 150000
                         ) -> tuple[Staff, Staff, PaymentType, Ticket, Receipt]:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER, commission_bp=3000, name="Петя")
    cash = await cash_type(session)
    ticket = await ticket_at(session, owner, "ready", master_id=master.id)
    receipt = await receipt_for(session, master, price, ticket, name="Замена экрана")
    await pay_receipt(session, master, receipt.id, [(cash.id, price, None)], now=T0)
    summary = await close_ticket(session, master, ticket.id, now=T0 + timedelta(hours=1))
    assert summary.commission == percent(price, 3000)
    return owner, master, cash, ticket, receipt


def percent(amount: int, bp: int) -> int:
    return (amount * bp + 5000) // 10000


async def test_refund_after_closing_adjusts_the_commission_in_its_own_month(
        session: AsyncSession) -> None:
    owner, master, cash, ticket, receipt = await _closed_ticket(session)
    [line] = (await get_receipt(session, receipt.id)).lines
    april = T0 + timedelta(days=40)
    await close_shift(session, owner, T0 + timedelta(hours=5))

    await refund(session, owner, receipt.id, [], cash.id, april, amounts=[(line.id, 50000)])

    [adj] = list(await session.scalars(select(CommissionAdjustment)))
    assert (adj.ticket_id, adj.master_id, adj.base_delta, adj.bp, adj.amount) == (
        ticket.id, master.id, -50000, 3000, -15000)
    assert adj.created_at == april
    stamped = await get_ticket(session, ticket.id)
    assert (stamped.commission, stamped.commission_base) == (45000, 150000)  # closing's stamp
    assert await adjusted(session, ticket.id) == (-50000, -15000)

    march, april_pay = (await payroll(session, MARCH, KYIV, with_tickets=True),
                        await payroll(session, APRIL, KYIV, with_tickets=True))
    assert march.total == 45000 and [m.adjustment for m in march.masters] == [0]
    [m] = april_pay.masters
    assert (m.master_id, m.tickets, m.base, m.commission, m.adjustment) == (
        master.id, 0, -50000, -15000, -15000)
    [row] = april_pay.tickets
    assert row.adjustment and row.commission == -15000 and row.ticket_number == ticket.number
    # over both months the master gets 30 % of what the shop kept (1 000,00)
    assert march.total + april_pay.total == percent(150000 - 50000, 3000) == 30000

    # the rest refunded: the commission goes to 0, never below
    await refund(session, owner, receipt.id, None, cash.id, april)
    assert await adjusted(session, ticket.id) == (-150000, -45000)
    assert (await payroll(session, APRIL, KYIV)).total == -45000


async def test_debt_paid_after_closing_raises_the_commission(session: AsyncSession) -> None:
    owner, master, cash, ticket, _paid = await _closed_ticket(session, 100000)
    # reopened, a second receipt, closed again with it unpaid (a debt)
    statuses = {s.code: s for s in await session.scalars(select(Status))}
    await change_status(session, owner, ticket.id, statuses["in_work"].id)
    debt = await receipt_for(session, master, 20000, ticket)
    await change_status(session, owner, ticket.id, statuses["ready"].id)
    await close_ticket(session, master, ticket.id, confirm_unpaid=True,
                       now=T0 + timedelta(hours=2))
    assert (await get_ticket(session, ticket.id)).commission == 30000  # 30 % of 1 000,00
    await close_shift(session, owner, T0 + timedelta(hours=5))
    await pay_receipt(session, master, debt.id, [(cash.id, 20000, None)],
                      now=T0 + timedelta(days=3))
    assert await adjusted(session, ticket.id) == (20000, 6000)
    assert (await payroll(session, MARCH, KYIV)).total == 36000 == percent(120000, 3000)


async def test_reclosing_folds_the_adjustments_into_the_new_stamp(session: AsyncSession) -> None:
    owner, master, cash, ticket, receipt = await _closed_ticket(session)
    [line] = (await get_receipt(session, receipt.id)).lines
    await refund(session, owner, receipt.id, [], cash.id, T0 + timedelta(hours=3),
                 amounts=[(line.id, 50000)])
    assert await adjusted(session, ticket.id) == (-50000, -15000)
    statuses = {s.code: s for s in await session.scalars(select(Status))}
    await change_status(session, owner, ticket.id, statuses["in_work"].id)
    await change_status(session, owner, ticket.id, statuses["ready"].id)
    summary = await close_ticket(session, master, ticket.id, now=T0 + timedelta(hours=4))
    assert (summary.commission_base, summary.commission) == (100000, 30000)
    assert await adjusted(session, ticket.id) == (0, 0)
    assert (await payroll(session, MARCH, KYIV)).total == 30000


async def test_refund_of_an_open_ticket_makes_no_adjustment(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER, commission_bp=3000)
    cash = await cash_type(session)
    ticket = await ticket_at(session, owner, "ready", master_id=master.id)
    receipt = await receipt_for(session, master, 10000, ticket)
    await pay_receipt(session, master, receipt.id, [(cash.id, 10000, None)], now=T0)
    await refund(session, owner, receipt.id, None, cash.id, T0)
    assert list(await session.scalars(select(CommissionAdjustment))) == []
