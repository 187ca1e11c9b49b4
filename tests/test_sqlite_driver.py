"""db/sqlite_driver.py: reads on the event loop's thread, one thread hop per write, and
everything SQLAlchemy reads from a cursor as the stock aiosqlite adapter gives it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from db import sqlite_driver
from db.engine import create_engine
from db.sqlite_driver import OneHopConnection


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.sqlite3'}")
    async with engine.begin() as conn:
        await conn.execute(text(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER)"))
    yield engine
    await engine.dispose()


@pytest.fixture(autouse=True)
def fresh_slow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """Which statements ran past the budget is remembered per process: not across tests."""
    monkeypatch.setattr(sqlite_driver, "_SLOW", set())


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call aiosqlite runs on its thread, by name."""
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


async def test_reads_stay_on_the_loop_and_a_write_is_one_hop(engine: AsyncEngine,
                                                            hops: list[str]) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)
        result = await conn.execute(text("SELECT 41 + 1 AS answer"))  # BEGIN on the way in
        assert result.keys() == ["answer"] and result.all() == [(42,)]
        await conn.commit()
        assert hops == []  # BEGIN IMMEDIATE, the SELECT, a COMMIT that ended nothing written
        await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
        assert hops == ["_run"]
        await conn.commit()
        assert hops == ["_run", "commit"]  # a COMMIT after a write may checkpoint: the thread
        await conn.execute(text("SELECT n FROM t"))
        await conn.rollback()
        assert hops == ["_run", "commit"]
        cte = "WITH x AS (SELECT 7 AS n)"
        assert (await conn.execute(text(f"{cte} SELECT n FROM x"))).scalar() == 7
        assert hops == ["_run", "commit"]  # a read with a CTE: on the loop
        await conn.execute(text(f"{cte} INSERT INTO t (name, n) SELECT 'x', n FROM x"))
        assert hops == ["_run", "commit", "_run"]  # a CTE that writes: on the thread
        await conn.rollback()
        hops.clear()
        await conn.execute(text("INSERT INTO t (name, n) VALUES (:name, :n)"),
                           [{"name": "m1", "n": 1}, {"name": "m2", "n": 2}])
        await conn.commit()
        assert hops == ["_run", "commit"]  # many rows at once: a write, its COMMIT too
        # On the loop's thread a lock that is taken fails at once (and the statement goes to
        # the thread) instead of sleeping in SQLite's busy handler with the loop stopped.
        on_loop = await conn.execute(text("SELECT * FROM pragma_busy_timeout"))
        assert on_loop.scalar() == 0
        busy = await conn.exec_driver_sql("PRAGMA busy_timeout")  # a PRAGMA: on the thread
        assert busy.scalar() == 30000


async def test_a_read_past_the_budget_runs_again_on_the_thread(
        engine: AsyncEngine, hops: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (name, n) VALUES (:name, :n)"),
                           [{"name": f"r{i}", "n": i} for i in range(3000)])
    hops.clear()
    monkeypatch.setattr(sqlite_driver, "INLINE_BUDGET", 0.0)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE t SET n = -1 WHERE name = 'r0'"))
        total = await conn.execute(text("SELECT sum(n), count(*) FROM t AS a"))
        # Interrupted on the loop, complete on the thread; the transaction's write is kept.
        assert total.one() == (sum(range(1, 3000)) - 1, 3000)
    assert hops == ["_run", "_run", "commit"]
    async with engine.connect() as conn:
        kept = await conn.execute(text("SELECT n FROM t WHERE name = 'r0'"))
        assert kept.scalar() == -1
    # Remembered: with all the time in the world it still goes straight to the thread (no
    # budget wasted on the loop first); other reads stay on the loop.
    monkeypatch.setattr(sqlite_driver, "INLINE_BUDGET", 60.0)
    hops.clear()
    async with engine.connect() as conn:
        await conn.execute(text("SELECT sum(n), count(*) FROM t AS a"))
        assert hops == ["_run"]
        await conn.execute(text("SELECT count(*) FROM t"))
        assert hops == ["_run"]


async def test_begin_and_the_end_of_a_read_are_never_cut_short(
        engine: AsyncEngine, hops: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite counts a cached statement's VM steps across its runs and may call the progress
    handler at the end of a BEGIN, which has begun by then: run again, it failed with "cannot
    start a transaction within a transaction" (seen on a loaded machine). BEGIN, COMMIT and
    ROLLBACK run without the budget; here every step is past it."""
    monkeypatch.setattr(sqlite_driver, "INLINE_BUDGET", 0.0)
    monkeypatch.setattr(sqlite_driver, "_PROGRESS_STEPS", 1)
    for _ in range(3):
        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    assert hops == ["_run", "_run", "_run"]  # only the SELECT, cut short then remembered


async def test_a_writer_waits_for_the_lock_on_the_thread_not_on_the_loop(
        engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """BEGIN IMMEDIATE on the loop's thread would sleep in SQLite's busy handler, and the
    holder, on the same loop, could never commit: it is handed to the thread at once."""
    handed_over = asyncio.Event()
    original = aiosqlite.Connection._execute

    async def watched(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if args[1:2] == ("BEGIN IMMEDIATE",):
            handed_over.set()
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", watched)
    holder, writer = await engine.connect(), await engine.connect()
    try:
        await holder.execute(text("INSERT INTO t (name, n) VALUES ('held', 1)"))  # holds it
        waiting = asyncio.create_task(
            writer.execute(text("INSERT INTO t (name, n) VALUES ('next', 2)")))
        await handed_over.wait()  # the loop runs while the writer waits
        await holder.commit()
        await waiting
        await writer.commit()
    finally:
        await holder.close()
        await writer.close()
    async with engine.connect() as conn:
        names = await conn.execute(text("SELECT name FROM t ORDER BY id"))
        assert names.scalars().all() == ["held", "next"]


async def test_rows_counts_and_ids_as_sqlalchemy_reads_them(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
        assert inserted.lastrowid == 1 and inserted.rowcount == 1
        many = await conn.execute(text("INSERT INTO t (name, n) VALUES (:name, :n)"),
                                  [{"name": "b", "n": 2}, {"name": "c", "n": 3}])
        assert many.rowcount == 2
        updated = await conn.execute(text("UPDATE t SET n = n * 10 WHERE n >= 2"))
        assert updated.rowcount == 2
        returned = await conn.execute(
            text("UPDATE t SET n = n + 1 WHERE name = 'a' RETURNING id, n"))
        assert returned.all() == [(1, 2)]
        nothing = await conn.execute(text("SELECT name FROM t WHERE n > 1000"))
        assert nothing.all() == []
        assert (await conn.execute(text("SELECT name, n FROM t ORDER BY id"))).all() == [
            ("a", 2), ("b", 20), ("c", 30)]


async def test_errors_reach_sqlalchemy_and_the_connection_goes_on(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
        with pytest.raises(IntegrityError):
            await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 2)"))
        await conn.rollback()
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_streaming_keeps_fetching_in_batches(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (name, n) VALUES (:name, :n)"),
                           [{"name": f"r{i}", "n": i} for i in range(250)])
    async with engine.connect() as conn:
        result = await conn.stream(text("SELECT n FROM t ORDER BY n"))
        seen = [row.n async for row in result]
    assert seen == list(range(250))
