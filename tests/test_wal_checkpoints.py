"""SQLite's WAL is checkpointed by the app's own worker, not by the commit of whichever update
crosses 1,000 pages (db/wal_checkpoints.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine, sqlite_file
from db.wal_checkpoints import AUTOCHECKPOINT_PAGES, WalCheckpointer
from tests.conftest import backend_name

sqlite_only = pytest.mark.skipif(backend_name() != "sqlite", reason="SQLite's write-ahead log")


def test_only_a_sqlite_file_gets_a_checkpointer() -> None:
    """bot/app.py starts the worker for `sqlite_file(DATABASE_URL)`: a PostgreSQL URL's
    database is a name, which sqlite3 would have opened as a new file in the working folder."""
    assert sqlite_file("sqlite+aiosqlite:////srv/shop.sqlite3") == "/srv/shop.sqlite3"
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("postgresql+asyncpg://postgres@127.0.0.1:5432/shop") is None


async def _write(engine: AsyncEngine, rows: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, "
                                "body TEXT)"))
    for _ in range(rows):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO filler (body) VALUES (:body)"),
                               {"body": "x" * 3000})


@sqlite_only
async def test_commits_leave_the_checkpoint_to_the_worker(tmp_path: Path) -> None:
    database = tmp_path / "wal.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.connect() as conn:
            pages = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
        assert pages == AUTOCHECKPOINT_PAGES
        await _write(engine, 1200)  # > 1,000 pages: SQLite's default would have checkpointed
        checkpointer = WalCheckpointer(str(database))
        first = await asyncio.to_thread(checkpointer.checkpoint)
        assert first.log_pages > 1000 and first.copied == first.log_pages and not first.busy
        await _write(engine, 5)
        stop = asyncio.Event()
        worker = WalCheckpointer(str(database), every=3600)
        task = asyncio.create_task(worker.run_forever(stop))
        await asyncio.sleep(0)  # it waits for its first round
        assert worker.last is None
        stop.set()  # a last round when stopped
        await task
        assert worker.last is not None and worker.last.copied == worker.last.log_pages > 0
    finally:
        await engine.dispose()


@sqlite_only
async def test_a_failing_round_is_logged_and_the_next_one_runs(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = tmp_path / "not-yet" / "db.sqlite3"  # sqlite3 cannot open it: no folder
    worker = WalCheckpointer(str(database), every=3600)
    await worker._checkpoint()
    assert "WAL checkpoint" in caplog.text and worker.last is None
    database.parent.mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await _write(engine, 3)
        await worker._checkpoint()
        assert worker.last is not None and not worker.last.busy
    finally:
        await engine.dispose()
