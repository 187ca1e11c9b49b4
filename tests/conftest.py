"""Database fixtures for SQLite (default) and PostgreSQL (TEST_DATABASE_URL).

Migrations run once per test session into a template; each test gets a fresh copy of it
(a copied file on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so tests are isolated
and concurrent test runs on one server never meet.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import create_engine, create_session_factory, is_sqlite
from db.migrate import upgrade

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def backend_name() -> str:
    return "postgresql" if TEST_DATABASE_URL and not is_sqlite(TEST_DATABASE_URL) else "sqlite"


async def _pg_admin(url: str, *statements: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
        password=u.password, database=u.database or "postgres", timeout=5,
    )
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _pg_url(name: str) -> str:
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database to copy from: a file path (SQLite) or a database name (PostgreSQL)."""
    if backend_name() == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.sqlite3"
        asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
        yield str(path)
        return
    name = f"tpl_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(TEST_DATABASE_URL, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server
        pytest.skip(f"PostgreSQL at {TEST_DATABASE_URL} is not reachable: {exc!r}")
    try:
        asyncio.run(_migrate(_pg_url(name)))
        yield name
    finally:
        asyncio.run(_pg_admin(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, migrated database for one test."""
    if backend_name() == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template_db, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(TEST_DATABASE_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """URL of an empty database (for migration tests)."""
    if backend_name() == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"e_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(TEST_DATABASE_URL, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server
        pytest.skip(f"PostgreSQL at {TEST_DATABASE_URL} is not reachable: {exc!r}")
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session
        await session.rollback()
