"""The cash drawer at past moments on a chain-size database (bench/generate.py).

    .venv/bin/python -m bench.drawer_bench --url DATABASE_URL [--repeat 5] [--check]
                                           [--now 2026-12-01T15:00:00+00:00]

Times `db.money.drawer.drawer_balance` now and at noon (UTC) 1, 30, 120, 270 and 360 days
before `--now`: the opening balance of a day's cash screen, and the drawer of every /report
of a past period. Each moment: the first call and the median of the rest, in one
transaction. `--check` also sums every cash row up to each moment (`drawer_totals`, no
checkpoint: seconds on a chain) and exits with 1 if a balance differs. Not a test: the
figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import datetime, timedelta

from db.engine import create_engine, create_session_factory
from db.money.drawer import drawer_balance, drawer_totals

DAYS_BACK = (1, 30, 120, 270, 360)


async def run(url: str, repeat: int, now: datetime, check: bool) -> int:
    engine = create_engine(url)
    factory = create_session_factory(engine)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    moments: list[datetime | None] = [None, *(noon - timedelta(days=d) for d in DAYS_BACK)]
    wrong = 0
    try:
        print("| moment | balance | first ms | median ms |" + (" all rows |" if check else ""))
        print("|---|---:|---:|---:|" + ("---|" if check else ""))
        for at in moments:
            async with factory() as session:
                times, balance = [], 0
                for _ in range(max(repeat, 2)):
                    started = time.perf_counter()
                    balance = await drawer_balance(session, at)
                    times.append((time.perf_counter() - started) * 1000)
                line = (f"| {at.isoformat() if at else 'now'} | {balance} | {times[0]:.1f} | "
                        f"{statistics.median(times[1:]):.1f} |")
                if check:
                    total = (await drawer_totals(session, at=at)).balance
                    wrong += total != balance
                    line += " same |" if total == balance else f" {total} (differs) |"
            print(line, flush=True)
    finally:
        await engine.dispose()
    return 1 if wrong else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--now", default="2026-12-01T15:00:00+00:00")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args.url, args.repeat, datetime.fromisoformat(args.now),
                             args.check)))


if __name__ == "__main__":
    main()
