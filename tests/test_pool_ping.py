"""A pooled PostgreSQL connection is pinged before use only after it sat idle (db/engine.py
`_ping_when_idle`): none for one handed back a moment ago, and an idle one whose server side
is gone is replaced before the statement runs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import db.engine
from tests.conftest import _pg_admin, backend_name

pytestmark = pytest.mark.skipif(backend_name() != "postgresql",
                                reason="the pool's ping is PostgreSQL's (SQLite has no server)")


def _count_pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _kill(engine: AsyncEngine, pid: int) -> None:
    """End a pooled connection's server process from outside the pool (as a restart would)."""
    url = engine.url.render_as_string(hide_password=False)
    await _pg_admin(url, f"SELECT pg_terminate_backend({pid})")


async def test_no_ping_for_a_connection_just_returned(
        engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    pings = _count_pings(engine, monkeypatch)
    first = await _backend(engine)
    assert await _backend(engine) == first  # the same connection, LIFO
    assert pings == []


async def test_an_idle_dead_connection_is_replaced_before_use(
        engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    pings = _count_pings(engine, monkeypatch)
    dead = await _backend(engine)
    await _kill(engine, dead)
    monkeypatch.setattr(db.engine, "PING_AFTER_IDLE", 0.0)  # every connection counts as idle
    assert await _backend(engine) != dead  # pinged, found dead, replaced: no error
    assert pings


async def test_without_the_ping_a_dead_connection_fails_once_then_is_replaced(
        engine: AsyncEngine) -> None:
    dead = await _backend(engine)
    await _kill(engine, dead)
    with pytest.raises(DBAPIError) as failed:
        await _backend(engine)
    assert failed.value.connection_invalidated
    assert await _backend(engine) != dead
