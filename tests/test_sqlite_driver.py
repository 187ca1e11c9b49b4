"""db/sqlite_driver.py: one thread hop per statement, and everything SQLAlchemy reads from a
cursor as the stock aiosqlite adapter gives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

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


async def test_a_statement_is_one_hop(engine: AsyncEngine, hops: list[str]) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)
        await conn.execute(text("SELECT 1"))  # BEGIN on the way in
        hops.clear()
        result = await conn.execute(text("SELECT 41 + 1 AS answer"))
        assert result.keys() == ["answer"] and result.all() == [(42,)]
        assert hops == ["_run"]


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
