"""Time the receipts export of a period end to end: rows from the database → file on disk.

    .venv/bin/python -m bench.export_bench postgresql+asyncpg://postgres@127.0.0.1:5432/bench_chain
    .venv/bin/python -m bench.export_bench sqlite+aiosqlite:////tmp/bench_chain.sqlite3 \\
        [--start 2025-12-02] [--end 2026-12-01] [--format csv|zip|xlsx] [--page 5000]
        [--keep /tmp/receipts.zip]

Does what the bot does after the owner's tap (handlers/reports/receipts_export.py), without
Telegram: a read-only session, the size up front (COUNTs), `export_pages` streamed into the
file (CSV, zipped CSV or XLSX) with each page written in a worker thread. Prints the lines,
the seconds (size query, then rows → file), the file's size and the process's peak RSS.
Reads only: safe against a database someone else is benchmarking. The default period is the
chain bench's year (bench/generate.py). Not a test: the numbers depend on the machine.
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

from bot.i18n import make_i18n
from bot.views.receipts_file import CsvLines, LinesFile, XlsxLines, fill
from db.engine import READ_ONLY, create_engine, create_session_factory
from db.reports.export_rows import export_pages, export_size
from db.reports.periods import Period, period_range
from db.reports.queries import period_report

TZ = ZoneInfo("Europe/Kyiv")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="database URL (read only)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 12, 2))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 12, 1))
    parser.add_argument("--format", choices=("csv", "zip", "xlsx"), default="zip")
    parser.add_argument("--page", type=int, default=None, help="receipts per page")
    parser.add_argument("--keep", type=Path, help="copy the file here")
    return parser.parse_args()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _nothing(_done: int) -> None:
    return None


async def main(args: argparse.Namespace) -> None:
    engine = create_engine(args.url)
    factory = create_session_factory(engine)
    period = Period(args.start, args.end)
    lo, hi = period_range(period, TZ)
    folder = Path(tempfile.mkdtemp(prefix="export-bench-"))
    path = folder / f"receipts.{args.format}"
    i18n = make_i18n("ru")
    try:
        with i18n.context(), i18n.use_locale("ru"):
            started = time.perf_counter()
            async with factory(execution_options=READ_ONLY) as session:
                size = await export_size(session, lo, hi)
                counted = time.perf_counter()
                file: LinesFile
                if args.format == "xlsx":
                    report = await period_report(session, period, TZ, unit="month")
                    file = XlsxLines(path, TZ, report, "ru")
                else:
                    file = CsvLines(path, TZ, zipped=args.format == "zip",
                                    member="receipts.csv")
                await fill(file, export_pages(session, lo, hi, "ru", args.page), _nothing)
            await asyncio.to_thread(file.close)
            finished = time.perf_counter()
        print(f"{args.format}: {file.lines} lines ({size.lines} counted), {file.receipts} "
              f"receipts, total {file.total / 100:.2f}")
        print(f"  size query {counted - started:.2f} s, rows → file {finished - counted:.2f} s,"
              f" end to end {finished - started:.2f} s")
        print(f"  file {path.stat().st_size / 1e6:.1f} MB, peak RSS {_peak_rss_mb():.0f} MB")
        if args.keep:
            shutil.copy(path, args.keep)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(_args()))
