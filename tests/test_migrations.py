"""Migrations: up → down → up, and each step down and up again (stairway)."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import OperationalError

from db.desk.models import Status
from db.engine import READ_ONLY, create_engine, create_session_factory
from db.migrate import (
    alembic_config,
    at_head,
    downgrade,
    include_object,
    script_heads,
    upgrade,
)


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_up_down_up(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await upgrade(engine)
        assert {"tickets", "clients", "staff", "statuses"} <= await _tables(engine)
        await downgrade(engine, "base")
        assert await _tables(engine) <= {"alembic_version"}
        await upgrade(engine)
        async with engine.connect() as conn:
            names = (await conn.execute(select(Status.name_ru).order_by(Status.position))).all()
        assert [n for (n,) in names][:1] == ["Принят"]
        assert "Можно забирать" in {n for (n,) in names}
    finally:
        await engine.dispose()


async def test_stairway(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        previous = "base"
        for revision in _revisions():
            await upgrade(engine, revision)
            await downgrade(engine, previous)
            await upgrade(engine, revision)
            async with engine.connect() as conn:
                current = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            assert current == revision
            previous = revision
    finally:
        await engine.dispose()


async def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}")
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
    finally:
        await engine.dispose()


async def test_models_match_migrations(db_url: str) -> None:
    """`alembic check`: the migrated schema has everything the models declare, and no more."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import db.fsm
    import db.money.models
    import db.notify.models
    import db.updates  # noqa: F401  (every table registered)
    from db.base import Base

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(
                    c, opts={"include_object": include_object}), Base.metadata))
    finally:
        await engine.dispose()
    assert diff == []


def test_heads_read_from_the_scripts_are_alembics() -> None:
    """The start-up fast path (db.migrate.at_head) reads the head from the version files'
    text; it must be the head Alembic computes."""
    assert script_heads() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def test_upgrade_at_head_is_skipped_only_at_head(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        assert not await at_head(engine)  # a new database: no alembic_version
        await upgrade(engine)
        assert await at_head(engine)
        await upgrade(engine)  # nothing to do, nothing broken
        await downgrade(engine, _revisions()[-2])
        assert not await at_head(engine)
        await upgrade(engine)
        assert await at_head(engine)
    finally:
        await engine.dispose()


async def test_sqlite_read_only_transactions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """READ_ONLY begins DEFERRED: it reads while a writer holds the lock, may not write, and
    leaves the pooled connection writable for the next writer."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}")
    factory = create_session_factory(engine)
    try:
        async with factory() as session, session.begin():
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
        async with factory() as writer, writer.begin():
            await writer.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock
            async with factory(execution_options=READ_ONLY) as reader, reader.begin():
                assert await reader.scalar(text("SELECT count(*) FROM t")) == 0  # no wait
                with pytest.raises(OperationalError, match="readonly"):
                    await reader.execute(text("INSERT INTO t VALUES (2)"))
        async with factory() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES (3)"))
        async with factory(execution_options=READ_ONLY) as reader, reader.begin():
            assert await reader.scalar(text("SELECT count(*) FROM t")) == 2
    finally:
        await engine.dispose()
