"""Time the owner's reports on a chain-size database (bench/generate.py), from the books and
from the per-day rollups.

    .venv/bin/python -m bench.report_chain --url DATABASE_URL [--repeat 5]
                                           [--now 2026-12-01T15:00:00+00:00] [--keep]

Migrates the database to the head, deletes any rollups, then times (median of `--repeat`,
each in a fresh transaction): /today of the last day and of a busy past day, a year's
/report by month (what the chat shows) and by day (the XLSX "По дням" sheet), payroll of
the last month, everything computed from the books; then rolls up every closed day the way
the scheduler does (scheduler.rollups.build_rollups, timed) and times the same again. The
two runs' reports must be equal (exit code 1 otherwise). `--keep` leaves the rollups in
place (the interactions benchmark then starts with them, as a running shop would).
Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.report_bench import timed
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.reports.models import ReportRollup
from db.reports.periods import Period, local_day
from db.reports.queries import day_report, payroll, period_report
from scheduler.rollups import build_rollups

TZ = ZoneInfo("Europe/Kyiv")
Job = Callable[[AsyncSession], Awaitable[Any]]


def _jobs(now: datetime) -> list[tuple[str, Job]]:
    today = local_day(now, TZ)
    year = Period(today - timedelta(days=364), today)
    last_month = Period((today.replace(day=1) - timedelta(days=1)).replace(day=1),
                        today.replace(day=1) - timedelta(days=1))
    return [
        ("/today (today)", lambda s: day_report(s, today, TZ, now=now)),
        ("/today (a past day)", lambda s: day_report(s, today - timedelta(days=9), TZ, now=now)),
        ("/report a year, by month", lambda s: period_report(s, year, TZ, now=now)),
        ("/report a year, by day", lambda s: period_report(s, year, TZ, unit="day", now=now)),
        ("payroll, last month", lambda s: payroll(s, last_month, TZ)),
    ]


async def _round(factory: async_sessionmaker[AsyncSession], repeat: int, now: datetime
                 ) -> dict[str, tuple[float, Any]]:
    out = {}
    for name, job in _jobs(now):
        out[name] = await timed(factory, repeat, job)
    return out


async def run(url: str, repeat: int, now: datetime, keep: bool) -> int:
    engine = create_engine(url)
    await upgrade(engine)
    factory = create_session_factory(engine)
    async with factory() as session, session.begin():
        await session.execute(delete(ReportRollup))
    books = await _round(factory, repeat, now)
    t0 = time.perf_counter()
    days = await build_rollups(factory, TZ, now)
    built = time.perf_counter() - t0
    rolled = await _round(factory, repeat, now)
    print(f"{engine.dialect.name}: rolled up {days} days in {built:.1f} s")
    print("| report | from the books, ms | from the rollups, ms | same result |")
    print("|---|---:|---:|---|")
    same_all = True
    for name, (ms, result) in books.items():
        rolled_ms, rolled_result = rolled[name]
        same = result == rolled_result
        same_all &= same
        print(f"| {name} | {ms:,.1f} | {rolled_ms:,.1f} | {'yes' if same else 'NO'} |")
    if not keep:
        async with factory() as session, session.begin():
            await session.execute(delete(ReportRollup))
    await engine.dispose()
    return 0 if same_all else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--now", default="2026-12-01T15:00:00+00:00")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args.url, args.repeat, datetime.fromisoformat(args.now), args.keep)))


if __name__ == "__main__":
    main()
