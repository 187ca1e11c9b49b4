"""Cash drawer arithmetic, service cash in/out, the day's movements, expenses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import AuditEntry, Role
from db.errors import InvalidValue, NotFound, PermissionDenied, TicketClosed
from db.money.cash import service_cash
from db.money.closing import close_ticket
from db.money.drawer import drawer_balance, drawer_movements, drawer_totals
from db.money.errors import DrawerShort, ExpenseLocked, InvalidAmount
from db.money.expenses import (
    add_expense,
    delete_expense,
    expenses_total,
    get_expense,
    ticket_expenses,
)
from db.money.models import FiscalState, PaymentKind
from db.money.payments import pay_receipt
from db.money.price_list import add_service
from db.money.receipts import quote_from_services
from db.money.refunds import refund
from db.money.shifts import close_shift, current_shift
from tests.factories import make_staff, make_ticket
from tests.test_money_support import T0, card_type, cash_type, receipt_for, ticket_at


async def test_the_issue_story(session: AsyncSession) -> None:
    """Service 1 500,00 → cash, 2 000,00 received → change 500,00 → cash expense 300,00 →
    drawer 1 200,00."""
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER)
    service = await add_service(session, owner, "SCR", "Замена экрана", 150000)
    ticket = await make_ticket(session, master)
    quote = await quote_from_services(session, master, ticket.id, [service.id], now=T0)
    cash = await cash_type(session)

    paid = await pay_receipt(session, master, quote.id, [(cash.id, 150000, 200000)], now=T0)
    assert paid.change == 50000
    await add_expense(session, master, ticket.id, "Дисплей", 30000, cash.id,
                      T0 + timedelta(minutes=1))
    assert await drawer_balance(session) == 120000
    totals = await drawer_totals(session)
    assert (totals.cash_sales, totals.cash_expenses, totals.balance) == (150000, 30000, 120000)
    assert await drawer_balance(session, at=T0) == 150000  # before the expense


async def test_service_cash_in_and_out(session: AsyncSession) -> None:
    manager = await make_staff(session, Role.MANAGER)
    master = await make_staff(session, Role.MASTER)
    with pytest.raises(PermissionDenied):
        await service_cash(session, master, 10000, "размен", T0)
    with pytest.raises(InvalidValue):
        await service_cash(session, manager, 10000, "  ", T0)
    with pytest.raises(InvalidAmount):
        await service_cash(session, manager, 0, "ноль", T0)
    with pytest.raises(DrawerShort) as err:
        await service_cash(session, manager, -1, "из пустой кассы", T0)
    assert err.value.params == {"balance": 0, "amount": 1}
    assert await current_shift(session) is None  # a refusal opens no shift

    cash_in = await service_cash(session, manager, 50000, "Размен на утро", T0, fiscal=True)
    assert (cash_in.amount, cash_in.reason, cash_in.fiscal_state) == (
        50000, "Размен на утро", FiscalState.PENDING)
    assert cash_in.fiscal_id and cash_in.shift_id
    out = await service_cash(session, manager, -50000, "Инкассация", T0)
    assert out.fiscal_state == FiscalState.NOT_FISCAL
    assert await drawer_balance(session) == 0
    with pytest.raises(DrawerShort):
        await service_cash(session, manager, -1, "ещё", T0)


async def test_day_movements(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    cash, card = await cash_type(session), await card_type(session)
    day = T0.replace(hour=0) - timedelta(hours=2)  # Kyiv midnight in UTC (winter)
    await service_cash(session, owner, 20000, "вчера", day - timedelta(minutes=1))

    ticket = await make_ticket(session, owner)
    sale = await receipt_for(session, owner, 10000, ticket)
    await pay_receipt(session, owner, sale.id, [(cash.id, 10000, 20000)], now=day)
    by_card = await receipt_for(session, owner, 5000)
    await pay_receipt(session, owner, by_card.id, [(card.id, 5000, None)], now=day)
    await add_expense(session, owner, ticket.id, "клей", 700, cash.id, day + timedelta(hours=1))
    await add_expense(session, owner, None, "интернет", 900, card.id, day + timedelta(hours=1))
    await refund(session, owner, sale.id, None, cash.id, day + timedelta(hours=2))
    await service_cash(session, owner, -5000, "инкассация", day + timedelta(hours=3))
    await close_shift(session, owner, day + timedelta(hours=20))
    await service_cash(session, owner, 100, "завтра", day + timedelta(days=1))

    moves = await drawer_movements(session, day, day + timedelta(days=1))
    assert [(m.kind, m.amount, m.note, m.ticket_number) for m in moves] == [
        ("sale", 10000, "", ticket.number),
        ("expense", -700, "клей", ticket.number),
        ("refund", -10000, "", ticket.number),
        ("cash_out", -5000, "инкассация", None),
    ]
    assert (moves[0].received, moves[0].change) == (20000, 10000)
    assert all(m.staff_name == owner.name for m in moves)
    opening = await drawer_balance(session, at=day - timedelta(microseconds=1))
    assert opening == 20000
    assert opening + sum(m.amount for m in moves) == await drawer_balance(
        session, at=day + timedelta(days=1) - timedelta(microseconds=1))


async def test_expenses_per_ticket(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER)
    cash, card = await cash_type(session), await card_type(session)
    await service_cash(session, owner, 100000, "размен", T0)
    ticket = await make_ticket(session, master)
    other = await make_ticket(session, master)
    a = await add_expense(session, master, ticket.id, "  Шлейф  ", 25000, cash.id, T0)
    b = await add_expense(session, master, ticket.id, "Доставка", 5050, card.id, T0)
    await add_expense(session, master, other.id, "Клей", 100, cash.id, T0)
    assert (a.description, a.kind, a.staff_id, a.created_at) == (
        "Шлейф", PaymentKind.CASH, master.id, T0)
    assert [e.id for e in await ticket_expenses(session, ticket.id)] == [a.id, b.id]
    assert await expenses_total(session, ticket.id) == 30050
    assert await drawer_balance(session) == 100000 - 25000 - 100  # card expenses stay out

    with pytest.raises(DrawerShort):
        await add_expense(session, master, None, "много", 100000, cash.id, T0)
    with pytest.raises(InvalidValue):
        await add_expense(session, master, None, "", 100, cash.id, T0)
    with pytest.raises(InvalidAmount):
        await add_expense(session, master, None, "x", 0, cash.id, T0)

    assert (await get_expense(session, a.id, ticket_id=ticket.id)).id == a.id
    for wrong in (other.id, None):  # a button names the ticket: another one's is not found
        with pytest.raises(NotFound):
            await get_expense(session, a.id, ticket_id=wrong)
    with pytest.raises(PermissionDenied):
        await delete_expense(session, master, a.id)
    await delete_expense(session, owner, a.id)
    assert await expenses_total(session, ticket.id) == 5050
    assert await drawer_balance(session) == 100000 - 100
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "expense.delete"))
    assert entry is not None and entry.data["amount"] == 25000


async def test_locked_expenses(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    card = await card_type(session)
    old = await add_expense(session, owner, None, "аренда", 10000, card.id, T0)
    await close_shift(session, owner, T0 + timedelta(hours=1))
    with pytest.raises(ExpenseLocked) as err:
        await delete_expense(session, owner, old.id)
    assert err.value.params == {"expense_id": old.id, "reason": "shift_closed"}

    ticket = await ticket_at(session, owner, "ready")
    part = await add_expense(session, owner, ticket.id, "деталь", 100, card.id,
                             T0 + timedelta(hours=2))
    await close_ticket(session, owner, ticket.id, now=T0 + timedelta(hours=2))
    with pytest.raises(TicketClosed):
        await add_expense(session, owner, ticket.id, "ещё", 100, card.id, T0)
    with pytest.raises(ExpenseLocked) as err:
        await delete_expense(session, owner, part.id)
    assert err.value.params["reason"] == "ticket_closed"


async def test_balance_from_the_last_checkpoint(session: AsyncSession) -> None:
    """The balance is the last Z-report's drawer plus the later shifts' rows, and equals the
    sum over all history, now and at any moment, across several closed shifts."""
    owner = await make_staff(session, Role.OWNER)
    cash = await cash_type(session)
    moments = []
    for day in range(3):
        start = T0 + timedelta(days=day)
        await service_cash(session, owner, 10000 * (day + 1), "размен", start)
        sale = await receipt_for(session, owner, 5000)
        await pay_receipt(session, owner, sale.id, [(cash.id, 5000, None)],
                          now=start + timedelta(hours=1))
        await service_cash(session, owner, -3000, "инкассация", start + timedelta(hours=2))
        # 12 h: after the day's Z-report, before the next shift opens
        moments += [start + timedelta(hours=h) for h in (0, 1, 3, 12)]
        if day < 2:
            z = await close_shift(session, owner, start + timedelta(hours=10))
            assert z.drawer == await drawer_balance(session) == (await drawer_totals(session)
                                                                  ).balance
    assert await drawer_balance(session) == (await drawer_totals(session)).balance == 66000
    for at in moments:
        assert await drawer_balance(session, at=at) == (await drawer_totals(session, at=at)
                                                        ).balance, at
    assert await drawer_balance(session, at=T0 - timedelta(seconds=1)) == 0
    assert await drawer_balance(session, at=T0 + timedelta(hours=12)) == 12000  # day 0 at its Z
