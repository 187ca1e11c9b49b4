"""Per-day rollups (db/reports/rollups.py, migration 0008): a report read from them is the
report computed from the books, to the kopeck; a change of a rolled-up day's rows in any way
(reopen, deleted expense, a backdated row, a status kind, an SMS delivered late) drops that day
from the cache; other zones' days are ignored; on PostgreSQL the builder waits for a
concurrent change of an old row instead of caching the day without it."""

from __future__ import annotations

import asyncio
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import Status, StatusKind, Ticket
from db.money.models import Expense
from db.reports import rollups
from db.reports.models import ReportRollup
from db.reports.periods import MAX_DAYS, Period
from db.reports.queries import Report, period_report
from scheduler.rollups import build_rollups
from tests.conftest import backend_name
from tests.test_reports_support import KYIV, Shop, kyiv

NOW = kyiv(2026, 4, 20, 12)  # every day below is closed by then
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))


async def _month_of_work(shop: Shop) -> dict[str, object]:
    """Tickets, sales with cash and card, a refund, expenses, service cash over March."""
    made: dict[str, object] = {}
    for n, day in enumerate((2, 3, 9, 16, 23, 30)):
        ticket = await shop.ticket(kyiv(2026, 3, day, 9))
        receipt = await shop.sale(kyiv(2026, 3, day, 10), 10000 + 111 * n, ticket=ticket,
                                  parts=[(shop.cash, 10000 + 111 * n, 20000)])
        await shop.sale(kyiv(2026, 3, day, 23, 30), 2500, parts=[(shop.card, 2500, None)])
        await shop.expense(kyiv(2026, 3, day, 14), 700 + n, ticket=ticket)
        await shop.ready(ticket, kyiv(2026, 3, day, 15))
        await shop.close(ticket, kyiv(2026, 3, day, 16))
        made[f"ticket{day}"], made[f"receipt{day}"] = ticket, receipt
    await shop.refund(made["receipt9"], kyiv(2026, 3, 16, 11))  # type: ignore[arg-type]
    await shop.cash_move(kyiv(2026, 3, 3, 8), 50000, "Размен")
    made["expense"] = await shop.expense(kyiv(2026, 3, 23, 18), 999, cash=False)
    return made


async def _reports(session: AsyncSession) -> tuple[Report, Report]:
    by_day = await period_report(session, MARCH, KYIV, unit="day", now=NOW)
    by_month = await period_report(session, MARCH, KYIV, unit="month", now=NOW)
    return by_day, by_month


async def _build_all(session: AsyncSession, tz: ZoneInfo = KYIV) -> int:
    built = 0
    while count := await rollups.build(session, tz, now=NOW, max_days=400):
        built += count
    return built


async def _days_rolled(session: AsyncSession) -> set[date]:
    return {date.fromordinal(int(n or 0)) for n in await session.scalars(
        select(ReportRollup.k_int).where(ReportRollup.measure == rollups.DAY))}


def _from_books(statements: list[str]) -> list[str]:
    """The measures computed from the books (the rollups' read joins report_rollups)."""
    return [s for s in statements if s.startswith("WITH buckets") and "report_rollups" not in s]


async def test_report_from_rollups_is_the_report_from_the_books(session: AsyncSession) -> None:
    shop = await Shop.create(session, bp=2500)
    await _month_of_work(shop)
    from_books = await _reports(session)
    assert from_books[0].total.sales_count == 12 and from_books[0].total.refunds_count == 1

    built = await _build_all(session)
    # every closed day of the longest report period before NOW (the shop began on 2 March)
    assert built == MAX_DAYS + 1
    assert await rollups.build(session, KYIV, now=NOW) == 0  # nothing left to do

    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    sync_engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        from_rollups = await _reports(session)
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)
    assert from_rollups == from_books
    assert statements and not _from_books(statements), "a closed month is read from rollups"


async def test_a_change_to_a_rolled_up_day_drops_that_day(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    made = await _month_of_work(shop)
    await _build_all(session)
    before = await _days_rolled(session)
    assert {date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30)} <= before

    # a ticket closed on 16 March reopened today: 16 March (closed_at) is no longer cached
    ticket = made["ticket16"]
    assert isinstance(ticket, Ticket)
    await shop.status(ticket, "in_work", NOW)
    # an expense of 23 March deleted (any way: here in plain SQL)
    expense = made["expense"]
    assert isinstance(expense, Expense)
    await session.execute(delete(Expense).where(Expense.id == expense.id))
    # a receipt paid long ago imported now (a backdated row)
    await shop.sale(kyiv(2026, 3, 30, 12), 4200, parts=[(shop.card, 4200, None)])
    await session.flush()

    after = await _days_rolled(session)
    assert before - after == {date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30)}
    live = await _reports(session)
    await session.execute(delete(ReportRollup))
    assert await _reports(session) == live, "what is left in the cache is still right"
    assert live[1].total.tickets_done == 5 and live[1].total.expenses_cashless == 0

    await _build_all(session)
    assert await _reports(session) == live


async def test_a_status_kind_change_drops_every_day(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    await _month_of_work(shop)
    await _build_all(session)
    await session.execute(update(Status).where(Status.code == "ready")
                          .values(kind=StatusKind.IN_PROGRESS))
    await session.flush()
    assert await session.scalar(select(func.count()).select_from(ReportRollup)) == 0
    assert (await _reports(session))[1].total.tickets_ready == 0


async def test_days_of_another_zone_are_ignored(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    await _month_of_work(shop)
    utc = ZoneInfo("UTC")
    from_books = await period_report(session, MARCH, utc, unit="day", now=NOW)
    await _build_all(session)  # Kyiv days
    assert await period_report(session, MARCH, utc, unit="day", now=NOW) == from_books
    await _build_all(session, utc)
    assert await period_report(session, MARCH, utc, unit="day", now=NOW) == from_books
    assert (await _reports(session))[0].total == from_books.total  # same rows, other days


async def test_today_is_never_rolled_up(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    await shop.sale(kyiv(2026, 4, 20, 9), 1000)
    await shop.sale(kyiv(2026, 4, 19, 23), 1000)  # yesterday: closed only two hours after
    early = kyiv(2026, 4, 20, 1, 30)
    assert await rollups.missing_days(session, KYIV, early) == []
    missing = await rollups.missing_days(session, KYIV, NOW)
    assert missing[0] == date(2026, 4, 19) and len(missing) == MAX_DAYS + 1


async def _builder_waits(session: AsyncSession) -> None:
    """Until a transaction waits for an advisory lock (the builder behind the writer)."""
    waiting = (select(func.count()).select_from(text("pg_locks"))
               .where(text("locktype = 'advisory' AND NOT granted")))
    for _ in range(3000):
        if await session.scalar(waiting):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the builder never waited for the writer")


async def test_builder_waits_for_a_concurrent_change_of_an_old_row(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    if backend_name() != "postgresql":
        pytest.skip("SQLite's write lock serialises the builder with every writer")
    async with session_factory() as session, session.begin():
        shop = await Shop.create(session)
        made = await _month_of_work(shop)
    ticket = made["ticket9"]
    assert isinstance(ticket, Ticket)
    async with session_factory() as writer:
        await writer.begin()
        # reopening 9 March's ticket, not committed yet: it holds the lock shared
        await writer.execute(update(Ticket).where(Ticket.id == ticket.id)
                             .values(closed_at=None))

        async def build() -> int:
            async with session_factory() as builder, builder.begin():
                return await rollups.build(builder, KYIV, now=NOW, max_days=100)

        building = asyncio.create_task(build())
        async with session_factory() as watcher:
            await _builder_waits(watcher)
        assert not building.done()
        await writer.commit()
    await building
    async with session_factory() as session, session.begin():
        cached = await _reports(session)
        await session.execute(delete(ReportRollup))
        assert await _reports(session) == cached
        assert cached[1].total.tickets_done == 5


async def test_the_job_rolls_up_every_missing_day_in_small_transactions(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session, session.begin():
        await _month_of_work(await Shop.create(session))
    assert await build_rollups(session_factory, KYIV, NOW) == MAX_DAYS + 1
    assert await build_rollups(session_factory, KYIV, NOW) == 0
    async with session_factory() as session, session.begin():
        assert len(await _days_rolled(session)) == MAX_DAYS + 1
