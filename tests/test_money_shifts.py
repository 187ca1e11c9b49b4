"""Shifts: auto and manual opening, one open at a time under concurrency, the 24-hour rule,
X/Z reports that reconcile to the kopeck."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import AuditEntry, Role, Staff
from db.errors import PermissionDenied
from db.money.cash import service_cash
from db.money.drawer import drawer_balance
from db.money.errors import NoOpenShift, ShiftAlreadyOpen, ShiftTooOld
from db.money.expenses import add_expense
from db.money.models import Payment, Shift, ShiftStatus
from db.money.payments import pay_receipt
from db.money.receipts import get_receipt
from db.money.refunds import refund
from db.money.shifts import (
    close_shift,
    current_shift,
    get_shift,
    list_shifts,
    open_shift,
    shift_is_stale,
    shift_totals,
    x_report,
)
from tests.factories import make_staff
from tests.test_money_support import T0, card_type, cash_type, receipt_for


async def _pay_cash(session: AsyncSession, actor: Staff, amount: int, at=T0,  # type: ignore[no-untyped-def]
                    received: int | None = None):
    receipt = await receipt_for(session, actor, amount)
    cash = await cash_type(session)
    return await pay_receipt(session, actor, receipt.id, [(cash.id, amount, received)], now=at)


async def test_first_payment_opens_a_shift(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    assert await current_shift(session) is None
    first = await _pay_cash(session, master, 1000, T0)
    second = await _pay_cash(session, master, 2000, T0 + timedelta(hours=3))
    shift = first.shift
    assert second.shift.id == shift.id
    assert (shift.number, shift.status, shift.opened_at, shift.opened_by_id,
            shift.drawer_at_open) == (1, ShiftStatus.OPEN, T0, master.id, 0)
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "shift.open"))
    assert entry is not None and entry.data["auto"] is True


async def test_open_by_hand(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    manager = await make_staff(session, Role.MANAGER)
    with pytest.raises(PermissionDenied):
        await open_shift(session, master, T0)
    shift = await open_shift(session, manager, T0)
    with pytest.raises(ShiftAlreadyOpen) as err:
        await open_shift(session, manager, T0)
    assert err.value.params == {"shift_id": shift.id, "number": 1}
    assert (await _pay_cash(session, master, 100)).shift.id == shift.id


async def test_partial_unique_index_allows_one_open_shift(session: AsyncSession) -> None:
    for number in (1, 2):
        session.add(Shift(number=number, status=ShiftStatus.CLOSED, opened_at=T0, closed_at=T0,
                          drawer_at_open=0))
    session.add(Shift(number=3, status=ShiftStatus.OPEN, opened_at=T0, drawer_at_open=0))
    await session.flush()  # many closed, one open: fine
    session.add(Shift(number=4, status=ShiftStatus.OPEN, opened_at=T0, drawer_at_open=0))
    with pytest.raises(IntegrityError):
        await session.flush()


async def test_one_open_shift_under_concurrent_openers(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        staff = [await make_staff(s, Role.MANAGER) for _ in range(8)]
        receipts = [await receipt_for(s, staff[0], 1000 * (i + 1)) for i in range(4)]
        cash_id = (await cash_type(s)).id

    async def by_hand(staff_id: int) -> int:
        async with session_factory() as s, s.begin():
            shift = await open_shift(s, await s.get(Staff, staff_id), T0)  # type: ignore[arg-type]
            await asyncio.sleep(0.02)
            return shift.id

    async def by_payment(staff_id: int, receipt_id: int, amount: int) -> int:
        async with session_factory() as s, s.begin():
            actor = await s.get(Staff, staff_id)
            result = await pay_receipt(s, actor, receipt_id, [(cash_id, amount, None)], now=T0)  # type: ignore[arg-type]
            await asyncio.sleep(0.02)
            return result.shift.id

    outcomes = await asyncio.gather(
        *(by_hand(m.id) for m in staff[:4]),
        *(by_payment(m.id, r.id, r.total) for m, r in zip(staff[4:], receipts, strict=True)),
        return_exceptions=True,
    )
    shift_ids = {o for o in outcomes if isinstance(o, int)}
    errors = [o for o in outcomes if not isinstance(o, int)]
    assert len(shift_ids) == 1, outcomes
    assert all(isinstance(e, ShiftAlreadyOpen) for e in errors), errors
    assert len(errors) in (3, 4)  # every payment succeeds; at most one opener wins
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Shift)) == 1
        assert set(await s.scalars(select(Payment.shift_id))) == shift_ids
        assert await s.scalar(select(func.count()).select_from(Payment)) == 4


async def test_stale_shift_refuses_money_until_closed(session: AsyncSession) -> None:
    manager = await make_staff(session, Role.MANAGER)
    first = await _pay_cash(session, manager, 50000, T0)
    shift = first.shift
    assert not shift_is_stale(shift, T0 + timedelta(hours=23, minutes=59))
    await _pay_cash(session, manager, 100, T0 + timedelta(hours=23, minutes=59))

    late = T0 + timedelta(hours=24)
    assert shift_is_stale(shift, late)
    receipt = await receipt_for(session, manager, 700)
    cash = await cash_type(session)
    attempts = [
        lambda: pay_receipt(session, manager, receipt.id, [(cash.id, 700, None)], now=late),
        lambda: service_cash(session, manager, 100, "размен", late),
        lambda: add_expense(session, manager, None, "скотч", 100, cash.id, late),
        lambda: refund(session, manager, first.receipt.id, None, cash.id, late),
    ]
    for attempt in attempts:
        with pytest.raises(ShiftTooOld) as err:
            await attempt()
        assert err.value.params == {"shift_id": shift.id, "number": 1,
                                    "opened_at": T0.isoformat()}
    assert (await get_receipt(session, receipt.id)).status == "unpaid"

    await close_shift(session, None, late + timedelta(minutes=5))  # the scheduler's job
    again = await pay_receipt(session, manager, receipt.id, [(cash.id, 700, None)],
                              now=late + timedelta(minutes=6))
    assert (again.shift.number, again.shift.opened_at) == (2, late + timedelta(minutes=6))
    assert again.shift.drawer_at_open == 50100


async def test_close_needs_a_manager_and_an_open_shift(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    manager = await make_staff(session, Role.MANAGER)
    with pytest.raises(NoOpenShift):
        await close_shift(session, manager, T0)
    with pytest.raises(NoOpenShift):
        await x_report(session, manager)
    await _pay_cash(session, master, 100)
    with pytest.raises(PermissionDenied):
        await close_shift(session, master, T0)
    with pytest.raises(PermissionDenied):  # the X-report is the managers', like the Z
        await x_report(session, master)
    assert (await shift_totals(session, master)).sales_total == 100  # the /shift screen's
    report = await close_shift(session, manager, T0 + timedelta(hours=8))
    shift = await get_shift(session, report.shift_id)
    assert (shift.status, shift.closed_by_id, shift.closed_at) == (
        ShiftStatus.CLOSED, manager.id, T0 + timedelta(hours=8))
    assert [s.number for s in await list_shifts(session)] == [1]


async def test_z_report_reconciles_to_the_kopeck(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER)
    cash, card = await cash_type(session), await card_type(session)
    at = T0

    # Yesterday's shift leaves 1 000,00 in the drawer.
    await service_cash(session, owner, 100000, "размен на утро", at)
    await close_shift(session, owner, at + timedelta(hours=1))
    at += timedelta(days=1)

    # Today.
    a = await receipt_for(session, master, 150000)  # 1 500,00 cash, 2 000,00 handed over
    await pay_receipt(session, master, a.id, [(cash.id, 150000, 200000)], now=at)
    b = await receipt_for(session, master, 3000, quantity=4000)  # 4 × 30,00 = 120,00 split
    await pay_receipt(session, master, b.id, [(cash.id, 2000, 5000), (card.id, 10000, None)],
                      now=at)
    c = await receipt_for(session, master, 99999)  # 999,99 by card
    await pay_receipt(session, master, c.id, [(card.id, 99999, None)], now=at)
    await add_expense(session, master, None, "запчасть", 30000, cash.id, at)
    await add_expense(session, master, None, "доставка", 7000, card.id, at)
    b_line = (await get_receipt(session, b.id)).lines[0]
    await refund(session, owner, b.id, [(b_line.id, 1000)], cash.id, at)  # 30,00 back in cash
    await refund(session, owner, c.id, None, card.id, at)  # 999,99 back to the card
    await service_cash(session, owner, 5000, "размен", at)
    await service_cash(session, owner, -20000, "инкассация", at)

    x = await x_report(session, owner)
    z = await close_shift(session, owner, at + timedelta(hours=10))
    assert x.to_json() | {"is_z": True, "closed_at": z.to_json()["closed_at"]} == z.to_json()

    assert (z.number, z.receipts_count, z.refunds_count) == (2, 3, 2)
    by_type = {(t.name_ru, t.kind): (t.sales, t.refunds) for t in z.payment_types}
    assert by_type == {("Наличные", "cash"): (152000, 3000),
                       ("Карта", "cashless"): (109999, 99999)}
    assert (z.sales_total, z.refunds_total) == (261999, 102999)
    assert (z.cash_sales, z.cash_refunds, z.change_given) == (152000, 3000, 53000)
    assert (z.expenses_cash, z.expenses_cashless) == (30000, 7000)
    assert (z.service_in, z.service_out) == (5000, 20000)
    # 1 000,00 + 1 520,00 − 30,00 − 300,00 + 50,00 − 200,00 = 2 040,00
    assert z.drawer_at_open == 100000
    assert z.drawer == z.expected_drawer == 204000 == await drawer_balance(session)

    shift = await get_shift(session, z.shift_id)
    assert shift.drawer_at_close == 204000
    assert shift.z_report == z.to_json()
    assert (await x_report(session, owner, shift.id)).to_json() == z.to_json() | {"is_z": False}
