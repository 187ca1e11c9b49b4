"""Per-day rollups of the report's measures: a year's /report reads ~365 days × a few dozen
rows instead of a year of payments, receipts, tickets and history.

- `build` rolls up closed local days that are not rolled up yet (newest first, a few per
  transaction; the scheduler calls it every half hour, so yesterday is ready early in the
  morning and a new installation's history is rolled up within minutes of the start).
- `read` returns the measure rows of a bucket's rolled-up days, summed per bucket in SQL,
  and which days those were; db.reports.queries computes the other days from the books.

Correctness does not depend on anyone remembering the cache: triggers on the books (migration
0008) delete a day's rows whenever a row dated in that day changes (a ticket reopened, an
expense deleted, an import of old tickets, a late fiscal code on yesterday's receipt), and the
day is computed from the books until it is rolled up again. A day is rolled up only
BUILD_MARGIN after its end. On PostgreSQL, `build` takes BUILD_LOCK exclusively before it
reads, and a trigger changing a row older than an hour takes it shared: the builder waits for
such a change to commit (and such a change waits for the builder), so no rollup is made from
a snapshot that misses a concurrent change. On SQLite the builder's transaction holds the
write lock, which does the same.

Days are the shop's zone's (`tz` is stored with them): after a change of TIMEZONE the old
zone's rows are ignored and the new zone's days are rolled up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.desk.models import Ticket
from db.money.models import CashMove, Expense, Payment, Receipt
from db.reports.measures import MeasureRow, Range, live_rows, measure_row, ranges_cte
from db.reports.models import ReportRollup
from db.reports.periods import MAX_DAYS, day_range, local_day

log = logging.getLogger(__name__)

# db.locks.lock_key("report_rollups"); migration 0008's triggers take the same number
BUILD_LOCK = 4193304470956880933
# The triggers lock only changes of rows older than an hour; two hours leave a margin for a
# transaction that began before the day's end and writes after it.
BUILD_MARGIN = timedelta(hours=2)
DAYS_PER_TRANSACTION = 7
DAY = "day"  # the marker row of a rolled-up day: k_int = the date's ordinal


def last_closed_day(tz: ZoneInfo, now: datetime) -> date:
    """The latest local day that may be rolled up at `now`."""
    return local_day(now - BUILD_MARGIN, tz) - timedelta(days=1)


async def read(session: AsyncSession, buckets: Sequence[Range], tz: ZoneInfo
               ) -> tuple[list[MeasureRow], set[int]]:
    """The rolled-up days' measure rows per bucket (summed), and those days' ordinals."""
    if not buckets:
        return [], set()
    b = ranges_cte(buckets)
    r = ReportRollup
    rows: list[MeasureRow] = []
    built: set[int] = set()
    for raw in await session.execute(
        select(b.c.i, r.measure, r.k_int, r.k_a, r.k_b, func.sum(r.v1), func.sum(r.v2),
               func.sum(r.v3), func.min(r.v4), func.max(r.v5))
        .select_from(b.cte)
        .join(r, and_(r.tz == tz.key, r.lo >= b.c.lo, r.hi <= b.c.hi, r.lo >= b.lo))
        .group_by(b.c.i, r.measure, r.k_int, r.k_a, r.k_b)
    ):
        row = measure_row(raw)
        if row[1] == DAY:
            built.add(int(row[2] or 0))
        else:
            rows.append(row)
    return rows, built


async def _first_day(session: AsyncSession, tz: ZoneInfo) -> date | None:
    firsts = [await session.scalar(select(func.min(column)))
              for column in (Ticket.created_at, Payment.created_at, Receipt.paid_at,
                             Expense.created_at, CashMove.created_at)]
    known = [moment for moment in firsts if moment is not None]
    return local_day(min(known), tz) if known else None


async def _built_days(session: AsyncSession, tz: ZoneInfo, since: date) -> set[int]:
    lo, _ = day_range(since, tz)
    return {int(ordinal or 0) for ordinal in await session.scalars(
        select(ReportRollup.k_int).where(ReportRollup.tz == tz.key, ReportRollup.measure == DAY,
                                         ReportRollup.lo >= lo))}


async def missing_days(session: AsyncSession, tz: ZoneInfo, now: datetime) -> list[date]:
    """Closed days that are not rolled up, newest first: from the first day with books, and
    the empty days of the longest period a report asks for before it (a young shop's year
    is read from the rollups too)."""
    books = await _first_day(session, tz)
    last = last_closed_day(tz, now)
    if books is None or books > last:
        return []
    first = min(books, last - timedelta(days=MAX_DAYS))
    built = await _built_days(session, tz, first)
    return [day for day in (last - timedelta(days=n) for n in range((last - first).days + 1))
            if day.toordinal() not in built]


async def lock_builder(session: AsyncSession) -> None:
    """Hold BUILD_LOCK for the transaction (PostgreSQL; on SQLite the builder's write lock
    does the same): from here on, no change of an old day's rows commits until we do."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": BUILD_LOCK})


async def build(session: AsyncSession, tz: ZoneInfo, *, now: datetime | None = None,
                max_days: int = DAYS_PER_TRANSACTION) -> int:
    """Roll up to `max_days` missing closed days in the session's transaction; how many."""
    await lock_builder(session)
    days = (await missing_days(session, tz, now or utcnow()))[:max_days]
    if not days:
        return 0
    ranges = [(d.toordinal(), *day_range(d, tz)) for d in days]
    bounds = {ordinal: (lo, hi) for ordinal, lo, hi in ranges}
    # a stray half (none should exist: a day's rows are written and deleted together)
    await session.execute(delete(ReportRollup).where(
        ReportRollup.tz == tz.key, ReportRollup.lo.in_([lo for _, lo, _ in ranges])))
    values = [_stored(tz, bounds[row[0]], row) for row in await live_rows(session, ranges)]
    values += [_stored(tz, (lo, hi), (ordinal, DAY, ordinal, None, None, 0, 0, 0, None, None))
               for ordinal, lo, hi in ranges]
    await session.execute(insert(ReportRollup), values)
    return len(days)


def _stored(tz: ZoneInfo, bounds: tuple[datetime, datetime], row: MeasureRow
            ) -> dict[str, object]:
    _, measure, k_int, k_a, k_b, v1, v2, v3, v4, v5 = row
    return {"tz": tz.key, "lo": bounds[0], "hi": bounds[1], "measure": measure, "k_int": k_int,
            "k_a": k_a, "k_b": k_b, "v1": v1, "v2": v2, "v3": v3, "v4": v4, "v5": v5}
