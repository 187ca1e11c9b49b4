"""Closing a ticket: unpaid needs confirmation, the master's commission rule, the issue's flow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.closing import close_ticket as close_use_case
from db.desk.models import AuditEntry, Role, Status, StatusKind
from db.desk.staff import set_commission
from db.desk.tickets import change_status, get_ticket
from db.errors import TicketClosed, TransitionNotAllowed
from db.money.closing import (
    close_ticket,
    closing_status,
    closing_summary,
    commission_for,
    ticket_money,
)
from db.money.drawer import drawer_balance
from db.money.errors import UnpaidChanged, UnpaidReceipts
from db.money.expenses import add_expense
from db.money.payments import pay_receipt
from db.money.price_list import add_service
from db.money.receipts import create_receipt, get_receipt, quote_from_services
from db.money.refunds import refund
from db.money.shifts import close_shift
from db.notify.policy import FollowUp
from tests.factories import make_staff
from tests.test_money_support import T0, card_type, cash_type, receipt_for, ticket_at


@pytest.mark.parametrize(
    ("sales", "refunded", "expenses", "bp", "base", "commission"),
    [
        (150000, 0, 30000, 3000, 120000, 36000),  # 30 % of 1 200,00
        (150000, 20000, 30000, 3000, 100000, 30000),
        (333, 0, 0, 1250, 333, 42),  # 41,625 → 42 (half up)
        (4, 0, 0, 1250, 4, 1),  # 0,5 → 1
        (3, 0, 0, 1250, 3, 0),  # 0,375 → 0
        (10000, 0, 25000, 5000, 0, 0),  # expenses above the takings: floored at 0
        (10000, 10000, 0, 5000, 0, 0),  # all returned
        (99999, 0, 0, 10000, 99999, 99999),  # 100 %
        (99999, 0, 0, 0, 99999, 0),
    ],
)
def test_commission_rule(sales: int, refunded: int, expenses: int, bp: int, base: int,
                         commission: int) -> None:
    assert commission_for(sales, refunded, expenses, bp) == (base, commission)


async def test_close_stamps_commission_and_moves_to_done(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER, commission_bp=1250)  # 12,5 %
    cash, card = await cash_type(session), await card_type(session)
    ticket = await ticket_at(session, owner, "ready", master_id=master.id)
    a = await receipt_for(session, master, 60000, ticket)
    await pay_receipt(session, master, a.id, [(cash.id, 60000, None)], now=T0)
    b = await receipt_for(session, master, 40333, ticket)
    await pay_receipt(session, master, b.id, [(card.id, 40333, None)], now=T0)
    await refund(session, owner, b.id, None, card.id, T0)
    c = await receipt_for(session, master, 10000, ticket)
    await pay_receipt(session, master, c.id, [(cash.id, 10000, None)], now=T0)
    await add_expense(session, master, ticket.id, "АКБ", 20000, cash.id, T0)
    await add_expense(session, master, ticket.id, "Доставка", 1, card.id, T0)

    preview = await closing_summary(session, ticket.id)
    # (600,00 + 403,33 + 100,00 − 403,33 − 200,00 − 0,01) × 12,5 % = 499,99 × 0,125 = 62,49875
    assert (preview.sales_paid, preview.refunded, preview.expenses, preview.paid_total) == (
        110333, 40333, 20001, 70000)
    assert (preview.commission_bp, preview.commission_base, preview.commission) == (
        1250, 49999, 6250)
    assert preview.unpaid == [] and preview.master_id == master.id

    done = await close_ticket(session, master, ticket.id, now=T0 + timedelta(hours=1))
    assert done == preview
    closed = await get_ticket(session, ticket.id)
    assert (closed.commission, closed.commission_bp, closed.commission_base) == (6250, 1250, 49999)
    assert (closed.status.code, closed.status.kind, closed.closed_at) == (
        "issued", StatusKind.DONE, T0 + timedelta(hours=1))
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "ticket.close"))
    assert entry is not None and entry.data["commission"] == 6250

    # A snapshot: a later percent change does not rewrite it; closing twice is refused.
    await set_commission(session, owner, master.id, 5000)
    assert (await get_ticket(session, ticket.id)).commission == 6250
    with pytest.raises(TicketClosed):
        await close_ticket(session, owner, ticket.id)


async def test_no_master_no_commission(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER, commission_bp=5000)
    ticket = await ticket_at(session, owner, "ready")
    receipt = await receipt_for(session, owner, 50000, ticket)
    await pay_receipt(session, owner, receipt.id, [((await cash_type(session)).id, 50000, None)],
                      now=T0)
    summary = await close_ticket(session, owner, ticket.id, now=T0)
    assert (summary.master_id, summary.commission_bp, summary.commission_base,
            summary.commission) == (None, 0, 50000, 0)
    assert (await get_ticket(session, ticket.id)).commission == 0


async def test_unpaid_needs_confirmation(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER, commission_bp=3000)
    ticket = await ticket_at(session, owner, "ready", master_id=master.id)
    paid = await receipt_for(session, owner, 10000, ticket)
    await pay_receipt(session, owner, paid.id, [((await cash_type(session)).id, 10000, None)],
                      now=T0)
    first = await receipt_for(session, owner, 20000, ticket)
    second = await receipt_for(session, owner, 5050, ticket)
    await create_receipt(session, owner, ticket.id)  # an empty one counts as nothing owed

    with pytest.raises(UnpaidReceipts) as err:
        await close_ticket(session, master, ticket.id, now=T0)
    assert err.value.params == {"count": 2, "total": 25050,
                                "receipt_ids": [first.id, second.id]}
    assert (await get_ticket(session, ticket.id)).status.code == "ready"

    with pytest.raises(UnpaidChanged) as changed:  # the summary said 200,00: not this debt
        await close_ticket(session, master, ticket.id, expected_unpaid=20000, now=T0)
    assert changed.value.params == {"expected": 20000, "actual": 25050}
    summary = await close_ticket(session, master, ticket.id, expected_unpaid=25050, now=T0)
    assert (summary.unpaid_total, summary.commission) == (25050, 3000)  # unpaid is not earned
    assert (await get_receipt(session, first.id)).status == "unpaid"


async def test_closing_follows_the_transition_rules(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER, commission_bp=1000)
    ticket = await ticket_at(session, owner, "in_work", master_id=owner.id)
    assert await closing_status(session, ticket) is None
    with pytest.raises(TransitionNotAllowed):
        await close_ticket(session, owner, ticket.id, now=T0)
    fresh = await get_ticket(session, ticket.id)
    assert fresh.commission is None and fresh.status.code == "in_work"


async def test_reopen_and_close_again_recomputes(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER, commission_bp=2000)
    cash = await cash_type(session)
    ticket = await ticket_at(session, owner, "ready", master_id=master.id)
    receipt = await receipt_for(session, owner, 10000, ticket, quantity=2000)
    await pay_receipt(session, owner, receipt.id, [(cash.id, 20000, None)], now=T0)
    assert (await close_ticket(session, owner, ticket.id, now=T0)).commission == 4000

    line = (await get_receipt(session, receipt.id)).lines[0]
    await refund(session, owner, receipt.id, [(line.id, 1000)], cash.id, T0)  # after pickup
    assert (await get_ticket(session, ticket.id)).commission == 4000  # snapshot kept

    statuses = {s.code: s.id for s in await session.scalars(select(Status))}
    await change_status(session, owner, ticket.id, statuses["in_work"])
    await change_status(session, owner, ticket.id, statuses["ready"])
    assert (await close_ticket(session, owner, ticket.id, now=T0)).commission == 2000


async def test_issue_flow_end_to_end(session: AsyncSession) -> None:
    """Intake with a service at 1 500,00 → cash, 2 000,00 received → change 500,00 → a cash
    expense of 300,00 → drawer 1 200,00 → close → the master's percent → a partial refund →
    the Z-report reconciles to the kopeck."""
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER, commission_bp=3000)
    service = await add_service(session, owner, "SCR", "Замена экрана", 150000)
    cash = await cash_type(session)
    ticket = await ticket_at(session, master, "accepted", master_id=master.id)
    quote = await quote_from_services(session, master, ticket.id, [service.id], now=T0)

    paid = await pay_receipt(session, master, quote.id, [(cash.id, 150000, 200000)], now=T0)
    assert paid.change == 50000
    await add_expense(session, master, ticket.id, "Дисплей", 30000, cash.id, T0)
    assert await drawer_balance(session) == 120000

    statuses = {s.code: s.id for s in await session.scalars(select(Status))}
    await change_status(session, master, ticket.id, statuses["in_work"])
    await change_status(session, master, ticket.id, statuses["ready"])
    closed = await close_ticket(session, master, ticket.id, now=T0 + timedelta(hours=2))
    assert (closed.commission_base, closed.commission) == (120000, 36000)  # 30 % of 1 200,00

    line = (await get_receipt(session, quote.id)).lines[0]
    back = await refund(session, owner, quote.id, [(line.id, 500)], cash.id,
                        T0 + timedelta(hours=3))  # half a service: 750,00
    assert back.receipt.total == 75000
    assert await drawer_balance(session) == 45000

    z = await close_shift(session, owner, T0 + timedelta(hours=9))
    assert (z.sales_total, z.refunds_total, z.receipts_count, z.refunds_count) == (
        150000, 75000, 1, 1)
    assert (z.cash_sales, z.cash_refunds, z.expenses_cash, z.change_given) == (
        150000, 75000, 30000, 50000)
    assert z.drawer == z.expected_drawer == 45000


async def test_closing_status_and_the_tabs_money(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    ticket = await ticket_at(session, owner, "ready")
    done = await closing_status(session, ticket)
    assert done is not None and done.kind == StatusKind.DONE
    paid = await receipt_for(session, owner, 10000, ticket)
    cash = await cash_type(session)
    await pay_receipt(session, owner, paid.id, [(cash.id, 10000, None)], now=T0)
    await refund(session, owner, paid.id, None, cash.id, now=T0)
    await receipt_for(session, owner, 2500, ticket)
    await add_expense(session, owner, ticket.id, "Шлейф", 700, (await card_type(session)).id, T0)
    assert await ticket_money(session, ticket.id) == (3, 10000, 10000, 2500, 700, (3, 2500))


async def test_the_card_offers_to_pay_the_one_unpaid_sale_only(session: AsyncSession) -> None:
    """`to_pay` (the card's "💳 Оплатить" button): the ticket's unpaid sale with a total, only
    when there is exactly one."""
    owner = await make_staff(session, Role.OWNER)
    ticket = await ticket_at(session, owner, "ready")
    assert (await ticket_money(session, ticket.id)).to_pay is None  # no receipt
    await create_receipt(session, owner, ticket.id, now=T0)  # empty: nothing to pay
    assert (await ticket_money(session, ticket.id)).to_pay is None
    first = await receipt_for(session, owner, 2500, ticket)
    assert (await ticket_money(session, ticket.id)).to_pay == (first.id, 2500)
    second = await receipt_for(session, owner, 900, ticket)
    assert (await ticket_money(session, ticket.id)).to_pay is None  # which one? the tab says
    await pay_receipt(session, owner, first.id, [((await cash_type(session)).id, 2500, None)],
                      now=T0)
    assert (await ticket_money(session, ticket.id)).to_pay == (second.id, 900)


class NoTexts:
    """Closing moves to DONE, which sends the client nothing by the policy: no text is asked."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"no client message expected, {name} asked")


async def test_the_close_use_case_confirms_the_debt_it_was_shown(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    ticket = await ticket_at(session, owner, "ready")
    await receipt_for(session, owner, 2500, ticket)
    with pytest.raises(UnpaidChanged):
        await close_use_case(session, owner, ticket.id, confirmed_debt=0, texts=NoTexts())
    assert (await get_ticket(session, ticket.id)).status.code == "ready"
    closed = await close_use_case(session, owner, ticket.id, confirmed_debt=2500,
                                  texts=NoTexts())
    assert closed.ticket.status.kind == StatusKind.DONE and closed.stamped.unpaid_total == 2500
    assert closed.follow_up.follow_up is FollowUp.NONE and not closed.follow_up.queued
