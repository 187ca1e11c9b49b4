"""Generate a year of a repair-shop chain into a database (issue 13, "speed at the size of a
chain").

    .venv/bin/python -m bench.generate --url DATABASE_URL [--scale 1.0] [--seed 1]
                                       [--now 2026-12-01T15:00:00Z] [--fresh] [--analyze]

At scale 1.0: 100,000 clients, 150,000 devices, 300,000 tickets (~1.16M status changes),
~508,000 receipts (~1M lines, ~582,000 payments), expenses, a daily evening cash collection,
a shift a day, comments — over the 365 days up to `--now` (default: now). Smaller sizes with
`--scale 0.01` etc. The rows are modelled in bench/chain_data.py.

The database is migrated first (db.migrate.upgrade) and must hold no tickets yet (`--fresh`
deletes the SQLite file, or drops and re-creates the PostgreSQL database, first). Rows go in
with bulk Core inserts through the models' tables (`insert(table)`, executemany batches) on
SQLite, and with COPY (asyncpg `copy_records_to_table`) on PostgreSQL; then the "ticket" and
"shift" counters, the PostgreSQL id sequences and the shifts' drawer amounts are set, and
PostgreSQL is ANALYZEd (autovacuum would do it within minutes of such a load). SQLite is not
analyzed unless `--analyze`: the app never runs ANALYZE, so a real shop's file has no
statistics either.

The owner is Staff id 1 with tg_user_id 5000001 (use OWNER_IDS=5000001); managers and masters
follow (ids 2-12).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.chain_data import COLUMNS, DAYS, TABLE_ORDER, ChainYear, service_rows, staff_rows
from db.base import Base
from db.desk.models import Counter, Ticket
from db.engine import create_engine, is_sqlite
from db.migrate import upgrade

FLUSH_ROWS = 200_000  # rows held in memory before they are written
SQLITE_BATCH = 20_000  # rows per executemany


Row = tuple[Any, ...]


class Writer(Protocol):
    async def write(self, table: str, rows: Sequence[Row]) -> None: ...

    async def close(self) -> None: ...


class SqliteWriter:
    """Core `insert(table)` executemany batches, one transaction per flush."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def write(self, table: str, rows: Sequence[Row]) -> None:
        columns, model_table = COLUMNS[table], _table(table)
        for i in range(0, len(rows), SQLITE_BATCH):
            batch = [dict(zip(columns, row, strict=True)) for row in rows[i:i + SQLITE_BATCH]]
            await self.conn.execute(insert(model_table), batch)
        await self.conn.commit()

    async def close(self) -> None:
        await self.conn.close()


class CopyWriter:
    """PostgreSQL COPY through asyncpg: an order of magnitude faster than INSERTs."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    async def write(self, table: str, rows: Sequence[Row]) -> None:
        await self.raw.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))

    async def close(self) -> None:
        await self.raw.close()


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


async def open_writer(engine: AsyncEngine, url: str) -> Writer:
    if engine.dialect.name == "sqlite":
        return SqliteWriter(await engine.connect())
    import asyncpg  # type: ignore[import-untyped]

    u = make_url(url)
    raw = await asyncpg.connect(host=u.host or "127.0.0.1", port=u.port or 5432,
                                user=u.username or "postgres", password=u.password,
                                database=u.database)
    return CopyWriter(raw)


# -- the database around the rows -----------------------------------------------------------

async def prepare_database(url: str, fresh: bool) -> None:
    """`--fresh`: start from nothing (delete the file / drop and create the database); and
    create a missing PostgreSQL database either way."""
    u = make_url(url)
    if is_sqlite(url):
        if fresh and u.database not in (None, "", ":memory:"):
            await asyncio.to_thread(_remove_sqlite, Path(u.database or ""))
        return
    import asyncpg

    admin = await asyncpg.connect(host=u.host or "127.0.0.1", port=u.port or 5432,
                                  user=u.username or "postgres", password=u.password,
                                  database="postgres")
    try:
        if fresh:
            await admin.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1",
                                      u.database)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{u.database}"')
    finally:
        await admin.close()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def require_empty(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        if await conn.scalar(select(func.count()).select_from(Ticket)):
            raise SystemExit("the database already has tickets: use a fresh one (--fresh)")


async def finish(engine: AsyncEngine, year: ChainYear, analyze: bool) -> None:
    """Counters, sequences and drawer amounts the app reads; planner statistics."""
    async with engine.begin() as conn:
        shifts = _table("shifts")
        await conn.execute(
            update(shifts).where(shifts.c.id == bindparam("b_id"))
            .values(drawer_at_open=bindparam("b_open"), drawer_at_close=bindparam("b_close")),
            [{"b_id": k, "b_open": v[0], "b_close": v[1]} for k, v in year.shift_drawers.items()])
        for name, value in (("ticket", year.ids.counters["tickets"]), ("shift", year.shifts)):
            await conn.execute(update(Counter).where(Counter.name == name).values(value=value))
        if engine.dialect.name == "postgresql":
            for table in TABLE_ORDER:
                # Explicit ids do not advance the id sequences.
                await conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))
    if analyze or engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


# -- the run --------------------------------------------------------------------------------

async def flush(writer: Writer, rows: dict[str, list[Row]]) -> int:
    """Write what piled up, parents first; returns the number of rows written."""
    written = 0
    for table in TABLE_ORDER:
        if batch := rows.get(table):
            await writer.write(table, batch)
            written += len(batch)
            batch.clear()
    return written


async def generate(url: str, scale: float, seed: int, now: datetime, *, fresh: bool = False,
                   analyze: bool = False, quiet: bool = False) -> dict[str, int]:
    """Fill the database at `url`; returns the row count of every generated table."""
    await prepare_database(url, fresh)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        await require_empty(engine)
        year = ChainYear(scale, seed, now)
        created = year.clock.utc(datetime.combine(year.clock.first_day, datetime.min.time()))
        year.rows["staff"] = staff_rows(year.plan, created)
        year.rows["services"] = service_rows(created)
        year.rows["shifts"] = year.shift_rows()
        writer = await open_writer(engine, url)
        try:
            await _days(year, writer, quiet)
        finally:
            await writer.close()
        await finish(engine, year, analyze)
        return {**year.counts(), "staff": len(staff_rows(year.plan, created)),
                "services": len(service_rows(created)), "shifts": year.shifts}
    finally:
        await engine.dispose()


async def _days(year: ChainYear, writer: Writer, quiet: bool) -> None:
    started, written = time.perf_counter(), 0
    for i in range(DAYS):
        year.run_day(i)
        if sum(len(r) for r in year.rows.values()) >= FLUSH_ROWS or i == DAYS - 1:
            written += await flush(writer, year.rows)
            if not quiet:
                print(f"  day {i + 1:3}/{DAYS}: {written:>9,} rows, "
                      f"{time.perf_counter() - started:6.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="DATABASE_URL to fill")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="end of the year (ISO, aware); default: now")
    parser.add_argument("--fresh", action="store_true",
                        help="delete the SQLite file / drop the PostgreSQL database first")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE SQLite too")
    args = parser.parse_args()
    now = args.now or datetime.now(UTC)
    started = time.perf_counter()
    counts = asyncio.run(generate(args.url, args.scale, args.seed, now, fresh=args.fresh,
                                  analyze=args.analyze))
    elapsed = time.perf_counter() - started
    print(f"generated in {elapsed:.0f} s ({elapsed / 60:.1f} min), scale {args.scale:g}, "
          f"seed {args.seed}, up to {now.isoformat(timespec='seconds')}")
    for table in TABLE_ORDER:
        print(f"  {table:<15} {counts.get(table, 0):>10,}")


if __name__ == "__main__":
    main()
