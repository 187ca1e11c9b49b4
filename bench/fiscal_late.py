"""Fiscalizing 30 sales while 4 Checkbox answers come late: wall time until all are DONE.

    .venv/bin/python -m bench.fiscal_late [--sales 30] [--late 4] [--concurrency 8]
                                          [--late-seconds 16] [--db URL]

Seeds 30 paid cash sales waiting for the PRRO (fiscal_state pending, as the desk leaves
them), starts the Checkbox emulator (tests/emulators/checkbox.py) and the fiscal worker
(`Fiscalizer.run_forever` with the production policy and a `CheckboxProvider` with its
production timeout of 15 s and status polling), and measures the time until every sale is
DONE in the database. Late answers: for 4 sales spread over the queue the emulator makes the
sale but answers its `POST /receipts/sell` after 16 s (its fault injection, `delay_next` with
the receipt's id), so the client times out, the item stays pending and is read back by id
after its backoff (10 s), never posted again. `--late-on status`: the status read after the
POST is late instead (the provider then polls again at once). Checks that every sale was
fiscalized exactly once (the emulator's `fiscalized` counter) and exits with 1 otherwise.

`--concurrency 1` is the old worker: one receipt after another. The same script runs against
an older checkout that has no `concurrency` knob (it is then simply not passed).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.usecases.fiscalize import Fiscalizer, FiscalPolicy
from db.desk.models import Role
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.money.models import FiscalState, Receipt
from db.money.payments import pay_receipt
from fiscal.checkbox import CheckboxProvider
from tests.emulators.checkbox import CheckboxEmulator
from tests.factories import make_staff
from tests.test_money_support import T0, cash_type, receipt_for

LICENSE, PIN = "bench-license", "1234"


async def seed(session_factory: Any, sales: int) -> list[str]:
    fiscal_ids = []
    async with session_factory() as session, session.begin():
        actor = await make_staff(session, Role.MASTER)
        cash = await cash_type(session)
        for n in range(sales):
            receipt = await receipt_for(session, actor, 10000 + n * 100, name="Заміна екрана")
            paid = await pay_receipt(session, actor, receipt.id,
                                     [(cash.id, receipt.total, None)], now=T0, fiscal=True)
            fiscal_ids.append(str(paid.receipt.fiscal_id))
    return fiscal_ids


def policy(concurrency: int) -> FiscalPolicy:
    if "concurrency" in FiscalPolicy.__dataclass_fields__:
        return FiscalPolicy(**{"concurrency": concurrency})
    return FiscalPolicy()  # an older worker: one at a time


async def done_count(session_factory: Any) -> int:
    async with session_factory() as session:
        return int(await session.scalar(
            select(func.count()).select_from(Receipt)
            .where(Receipt.fiscal_state == FiscalState.DONE)) or 0)


async def run(args: argparse.Namespace, url: str) -> bool:
    engine = create_engine(url)
    await upgrade(engine)
    session_factory = create_session_factory(engine)
    fiscal_ids = await seed(session_factory, args.sales)
    step = max(1, args.sales // max(1, args.late))
    late = [fiscal_ids[2 + i * step] for i in range(args.late)]

    worker_policy = policy(args.concurrency)
    width = getattr(worker_policy, "concurrency", 1)  # an older worker: one at a time
    emu = CheckboxEmulator(license_key=LICENSE, pin_code=PIN)
    for fiscal_id in late:
        if args.late_on == "post":
            emu.delay_next("/receipts/sell", args.late_seconds, method="POST",
                           receipt_id=fiscal_id)
        else:
            emu.delay_next(f"/receipts/{uuid.UUID(fiscal_id)}", args.late_seconds,
                           method="GET")
    async with emu.serve() as api_url:
        provider = CheckboxProvider(api_url=api_url, license_key=LICENSE, pin_code=PIN)
        worker = Fiscalizer(session_factory, provider, policy=worker_policy)
        stop, wakeup = asyncio.Event(), asyncio.Event()
        started = time.monotonic()
        task = asyncio.create_task(worker.run_forever(stop, wakeup))
        while await done_count(session_factory) < args.sales and not task.done():
            if time.monotonic() - started > args.limit:
                break
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        done = await done_count(session_factory)
        stop.set()
        await task
        await provider.aclose()
    await engine.dispose()

    once = all(emu.fiscalized[f] == 1 for f in fiscal_ids)
    print(f"sales={args.sales} late={args.late} ({args.late_on} answered after "
          f"{args.late_seconds:g} s, client timeout 15 s) concurrency={width}: "
          f"all DONE in {elapsed:.1f} s; POST /receipts/sell="
          f"{emu.count('POST', '/receipts/sell')}, GET /receipts/{{id}}="
          f"{emu.count('GET', '/receipts/{receipt_id}')}, DONE={done}, exactly once={once}")
    return once and done == args.sales


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=30)
    parser.add_argument("--late", type=int, default=4)
    parser.add_argument("--late-seconds", type=float, default=16.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--late-on", choices=("post", "status"), default="post",
                        help="which answer is late: the sale's POST or its status read")
    parser.add_argument("--limit", type=float, default=600.0, help="give up after (s)")
    parser.add_argument("--db", default="", help="database URL (default: a temp SQLite file)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return 0 if await run(args, url) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
