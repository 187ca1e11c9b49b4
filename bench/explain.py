"""The statements behind the interactions of bench.interactions, timed, with their plans.

    .venv/bin/python -m bench.explain --url DATABASE_URL [--seed 1] [--all]

Runs the db/ functions the handlers call for each interaction (the same phone, last digits,
ticket and day the benchmark uses) with a listener on the engine that records every
statement with its parameters and time, then asks the database for the plan of each SELECT
with those same parameters: EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on
PostgreSQL. Statements under 1 ms are listed without a plan unless `--all`. Read-only:
nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.interactions import national
from db.desk.clients import get_client_with_devices, search_clients
from db.desk.models import Client, Ticket
from db.desk.tickets import allowed_targets, client_tickets, ticket_card_by_number
from db.engine import create_engine, create_session_factory
from db.money.closing import ticket_money
from db.notify.outbox import delivery_state
from db.reports.queries import day_report

TZ = ZoneInfo("Europe/Kyiv")
SLOW_MS = 1.0


@dataclass
class Statement:
    sql: str
    params: Any
    ms: float


class Recorder:
    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[Statement] = []
        self._started = 0.0
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        if not sql.startswith("BEGIN"):
            self.statements.append(Statement(sql, params,
                                             (time.perf_counter() - self._started) * 1000))


@dataclass(frozen=True)
class Context:
    phone: str
    client_id: int
    number: int
    ticket_id: int


Probe = Callable[[AsyncSession, Context], Awaitable[Any]]


async def _card(s: AsyncSession, c: Context) -> None:
    """What handlers/ticket_card.render_ticket asks of db/ (the desk, money, notify parts)."""
    ticket = (await ticket_card_by_number(s, c.number)).ticket
    await ticket_money(s, ticket.id)
    await allowed_targets(s, ticket.status_id)
    await delivery_state(s, ticket.id)


async def _client_card(s: AsyncSession, c: Context) -> None:
    await get_client_with_devices(s, c.client_id)
    await client_tickets(s, c.client_id)


PROBES: dict[str, Probe] = {
    "phone «067 123 45 67»: search_clients": lambda s, c: search_clients(s, national(c.phone)),
    "last 4 digits: search_clients": lambda s, c: search_clients(s, c.phone[-4:]),
    "the client card": _client_card,
    "#N, /ticket N: the card's db calls": _card,
    "/today: day_report": lambda s, c: day_report(s, datetime.now(TZ).date(), TZ,
                                                  now=datetime.now(UTC)),
}


async def context(s: AsyncSession, seed: int) -> Context:
    rnd = random.Random(seed)
    top = await s.scalar(select(func.max(Client.id))) or 1
    client = await s.get(Client, rnd.randint(1, top))
    assert client is not None
    ticket = await s.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
    assert ticket is not None
    return Context(client.phone, client.id, ticket.number, ticket.id)


async def plan(engine: AsyncEngine, statement: Statement) -> list[str]:
    prefix = ("EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite"
              else "EXPLAIN (ANALYZE, BUFFERS) ")
    async with engine.connect() as conn:
        rows = await conn.exec_driver_sql(prefix + statement.sql, statement.params)
        return [" | ".join(str(v) for v in row) if engine.dialect.name == "sqlite" else row[0]
                for row in rows]


async def run(url: str, seed: int, show_all: bool) -> None:
    engine = create_engine(url)
    factory = create_session_factory(engine)
    try:
        async with factory() as s:
            ctx = await context(s, seed)
        recorder = Recorder(engine)
        for name, probe in PROBES.items():
            recorder.statements.clear()
            async with factory() as s:
                await probe(s, ctx)
            taken = list(recorder.statements)
            recorder.statements.clear()
            print(f"\n== {name}: {len(taken)} statements, "
                  f"{sum(t.ms for t in taken):.1f} ms")
            for statement in taken:
                await show(engine, statement, show_all)
            recorder.statements.clear()
    finally:
        await engine.dispose()


async def show(engine: AsyncEngine, statement: Statement, show_all: bool) -> None:
    print(f"  {statement.ms:8.1f} ms  {' '.join(statement.sql.split())[:160]}")
    selecting = statement.sql.lstrip().upper().startswith(("SELECT", "WITH"))
    if selecting and (show_all or statement.ms >= SLOW_MS):
        for line in await plan(engine, statement):
            print(f"               {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--all", action="store_true", help="plans of fast statements too")
    args = parser.parse_args()
    asyncio.run(run(args.url, args.seed, args.all))


if __name__ == "__main__":
    main()
