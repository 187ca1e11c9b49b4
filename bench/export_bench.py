"""Time the receipts export of a period end to end: rows from the database → file on disk.

    .venv/bin/python -m bench.export_bench postgresql+asyncpg://postgres@127.0.0.1:5432/bench_chain
    .venv/bin/python -m bench.export_bench sqlite+aiosqlite:////tmp/bench_chain.sqlite3 \\
        [--start 2025-12-02] [--end 2026-12-01] [--format csv|zip|xlsx] [--page 5000]
        [--keep /tmp/receipts.zip]

        [--build] [--rows]

Does what the bot does after the owner's tap (handlers/reports/receipts_export.py), without
Telegram: a read-only session, the size up front (COUNTs), the closed days' cached texts and
the other days' rows (`export_parts`; `--rows`: every day from the rows, as before the cache)
streamed into the file (CSV, zipped CSV or XLSX) with each part written in a worker thread.
Prints the lines, the seconds (size query, then rows → file), the file's size and the
process's peak RSS. Reads only, unless `--build` (first does the scheduler's rollups and
texts, timed apart). The default period is the chain bench's year (bench/generate.py). Not a
test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from sqlalchemy import text

from bot.i18n import make_i18n
from bot.views.receipts_file import CsvLines, XlsxLines, csv_stamp, fill
from db.engine import (
    READ_ONLY,
    DbSession,
    DbSessionFactory,
    create_engine,
    create_session_factory,
)
from db.reports.export_days import TextKey, export_parts, export_size_of
from db.reports.export_rows import export_pages, export_size
from db.reports.periods import Period, day_buckets, period_range
from db.reports.queries import period_report
from scheduler.export_days import build_export_days
from scheduler.rollups import build_rollups

TZ = ZoneInfo("Europe/Kyiv")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="database URL (read only, unless --build)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 12, 2))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 12, 1))
    parser.add_argument("--format", choices=("csv", "zip", "xlsx"), default="zip")
    parser.add_argument("--page", type=int, default=None, help="receipts per page")
    parser.add_argument("--keep", type=Path, help="copy the file here")
    parser.add_argument("--build", action="store_true",
                        help="first roll up the closed days and cache their export text "
                             "(what the scheduler does; writes), timed apart")
    parser.add_argument("--rows", action="store_true",
                        help="read every day from the rows, ignoring cached days (the "
                             "export before the cache)")
    return parser.parse_args()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _nothing(_done: int) -> None:
    return None


async def _build(factory: DbSessionFactory, i18n: I18n) -> None:
    started = time.perf_counter()
    days = await build_rollups(factory, TZ)
    rolled = time.perf_counter()
    texts = await build_export_days(factory, TZ, i18n, "ru")
    print(f"build: {days} day(s) rolled up in {rolled - started:.1f} s, {texts} day text(s) "
          f"cached in {time.perf_counter() - rolled:.1f} s")
    async with factory() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # The generator analyzed the tables while these were empty. Autovacuum would
            # analyze them within a minute of such a load (the CI machines run PostgreSQL
            # without it); with the stale statistics the rollups trigger of every write planned
            # a sequential scan of report_rollups (1.3 ms a row written, instead of 0.05).
            await session.execute(text("ANALYZE report_rollups"))
            await session.execute(text("ANALYZE export_days"))


async def _fill(session: DbSession, args: argparse.Namespace, file: CsvLines | XlsxLines,
                period: Period) -> None:
    lo, hi = period_range(period, TZ)
    if isinstance(file, XlsxLines) or args.rows:
        await fill(file, export_pages(session, lo, hi, "ru", args.page), _nothing)
        return
    key = TextKey(TZ.key, "ru", csv_stamp())
    days = [(day.lo, day.hi) for day in day_buckets(period, TZ)]
    await fill(file, export_parts(session, key, days), _nothing)


async def _export(factory: DbSessionFactory, args: argparse.Namespace, path: Path) -> None:
    period = Period(args.start, args.end)
    lo, hi = period_range(period, TZ)
    started = time.perf_counter()
    async with factory(execution_options=READ_ONLY) as session:
        days = [(day.lo, day.hi) for day in day_buckets(period, TZ)]
        size = await (export_size(session, lo, hi) if args.rows
                      else export_size_of(session, TZ.key, days))
        counted = time.perf_counter()
        file: CsvLines | XlsxLines
        if args.format == "xlsx":
            report = await period_report(session, period, TZ, unit="month")
            file = XlsxLines(path, TZ, report, "ru")
        else:
            file = CsvLines(path, TZ, zipped=args.format == "zip", member="receipts.csv")
        await _fill(session, args, file, period)
    await asyncio.to_thread(file.close)
    finished = time.perf_counter()
    print(f"{args.format}{' from rows' if args.rows else ''}: {file.lines} lines "
          f"({size.lines} counted), {file.receipts} receipts, total {file.total / 100:.2f}")
    print(f"  size query {counted - started:.2f} s, rows → file {finished - counted:.2f} s,"
          f" end to end {finished - started:.2f} s")
    _print_file(path)


def _print_file(path: Path) -> None:
    print(f"  file {path.stat().st_size / 1e6:.1f} MB, peak RSS {_peak_rss_mb():.0f} MB")


async def main(args: argparse.Namespace) -> None:
    engine = create_engine(args.url)
    factory = create_session_factory(engine)
    folder = Path(tempfile.mkdtemp(prefix="export-bench-"))
    path = folder / f"receipts.{args.format}"
    i18n = make_i18n("ru")
    try:
        if args.build:
            await _build(factory, i18n)
        with i18n.context(), i18n.use_locale("ru"):
            await _export(factory, args, path)
        if args.keep:
            shutil.copy(path, args.keep)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(_args()))
