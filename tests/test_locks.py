"""Locks between instances (db/locks.py): on PostgreSQL one holder at a time, freed when its
holder lets go or its connection ends; on SQLite (one instance by design) always granted."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine
from db.locks import Leadership, lock_key, try_lock
from tests.conftest import backend_name


def test_keys_are_stable_and_distinct() -> None:
    assert lock_key("job:daily_digest") == lock_key("job:daily_digest")
    assert lock_key("job:daily_digest") != lock_key("polling")


async def test_a_job_lock_has_one_holder(engine: AsyncEngine, db_url: str) -> None:
    other = create_engine(db_url)  # another instance: its own pool
    try:
        async with try_lock(engine, "job:x") as first:
            async with try_lock(other, "job:x") as second:
                assert first and second == (backend_name() == "sqlite")
        async with try_lock(other, "job:x") as again:
            assert again
    finally:
        await other.dispose()


async def test_one_leader_the_other_stands_by_then_takes_over(engine: AsyncEngine,
                                                              db_url: str) -> None:
    other = create_engine(db_url)
    stop = asyncio.Event()
    first, second = Leadership(engine, "polling"), Leadership(other, "polling", retry=0.05)
    try:
        assert await first.acquire(stop)
        if backend_name() == "postgresql":
            waiting = asyncio.create_task(second.acquire(stop))
            done, _ = await asyncio.wait({waiting}, timeout=0.3)
            assert not done  # standing by while the first leads
            await first.release()
            assert await asyncio.wait_for(waiting, 10)
            assert await second.held() and not await first.held()
        else:
            assert await second.acquire(stop)
    finally:
        await first.release()
        await second.release()
        await other.dispose()


async def test_no_leadership_once_stopping(engine: AsyncEngine) -> None:
    stop = asyncio.Event()
    stop.set()
    assert not await Leadership(engine, "polling").acquire(stop)
