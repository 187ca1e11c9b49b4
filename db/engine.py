"""Engine and session factory for SQLite (WAL, foreign keys, serialized writers) and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from db.fsm import forget_forms
from db.sqlite_driver import one_hop_dbapi
from db.wal_checkpoints import AUTOCHECKPOINT_PAGES

# What handlers and views pass to db/ functions: they name the type, never use SQLAlchemy.
DbSession: TypeAlias = AsyncSession
# What makes a session of its own (work after the update's commit, e.g. a long export).
DbSessionFactory: TypeAlias = async_sessionmaker[AsyncSession]

# Session execution options of a transaction that only reads (`factory(execution_options=
# READ_ONLY)`): on SQLite it begins DEFERRED and may not write (PRAGMA query_only), so it
# neither waits for nor holds the write lock. Ignored on PostgreSQL.
READ_ONLY: dict[str, Any] = {"app_read_only": True}


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if _queue_pool(url, kwargs):
        # The connection returned last is handed out next: one update after another runs on
        # the same connection, whose caches are warm. Round robin (the default) hands out a
        # connection another one has written behind, and SQLite then drops that connection's
        # page cache: its next transaction on the chain took 0.46 ms instead of 0.05 ms
        # (sqlite3 alone). On PostgreSQL each connection would prepare every statement again.
        kwargs.setdefault("pool_use_lifo", True)
    if is_sqlite(url):
        if (database := sqlite_file(url)) is not None:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # One thread hop per statement instead of aiosqlite's four, and none for a read
        # (db/sqlite_driver.py): hence a connection used from the loop's thread too.
        engine = create_async_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                     module=one_hop_dbapi(), **kwargs)
        _tune_sqlite(engine)
    else:
        engine = create_async_engine(url, **kwargs)
        if not kwargs.get("pool_pre_ping") and _queue_pool(url, kwargs):
            _ping_when_idle(engine)
    event.listen(engine.sync_engine, "before_cursor_execute", _bound_without_nul, retval=True)
    return engine


def _queue_pool(url: str, kwargs: dict[str, Any]) -> bool:
    """SQLAlchemy's default pool, a queue of connections: not for an in-memory SQLite
    database (one static connection) nor when the caller picks a pool."""
    if "poolclass" in kwargs:
        return False
    return not is_sqlite(url) or sqlite_file(url) is not None


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL; None for an in-memory database or another backend
    (a PostgreSQL URL's database is a name, not a file)."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    return database if database and database != ":memory:" else None


# A pooled PostgreSQL connection that sat unused this long is pinged before it is handed out.
PING_AFTER_IDLE = 10.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it has sat idle, not at every checkout as
    `pool_pre_ping` does: that ping is a round trip (~0.3 ms) in every update's ~10, and a
    connection handed back a moment ago is as alive as a ping would show. One idle longer
    (the server or a proxy may have closed it meanwhile) is pinged, and a dead one is replaced
    before the update uses it, as with pool_pre_ping. A server restart inside that window
    fails the update that next uses such a connection: it rolls back and says so
    (handlers/errors.py), and the pool replaces the connection."""
    pool_events = engine.sync_engine.pool

    @event.listens_for(pool_events, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool_events, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool_events, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"idle connection failed its ping: {exc!r}") from exc
        if not alive:
            raise DisconnectionError("idle connection failed its ping")


def _bound_without_nul(_conn: Any, _cursor: Any, statement: str, parameters: Any,
                       _context: Any, _executemany: bool) -> tuple[str, Any]:
    """PostgreSQL refuses NUL in any text parameter, a search's too (SQLite takes it): a typed
    NUL must not turn a read into an error, nor find other rows, on one backend only."""
    return statement, without_nul(parameters)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below), so the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Checkpoints are the app's WalCheckpointer's, not the committing update's.
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the write lock up front (IMMEDIATE): a transaction that reads and
        # then writes can never fail with SQLITE_BUSY_SNAPSHOT half-way through an update.
        # A reader (READ_ONLY) begins DEFERRED: WAL gives it a snapshot without the lock;
        # query_only makes a write in it fail at once instead of risking that BUSY.
        read_only = bool(conn.get_execution_options().get("app_read_only"))
        if conn.info.get("query_only", False) != read_only:
            conn.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
            conn.info["query_only"] = read_only
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def without_nul(value: Any) -> Any:
    """`value` with NUL characters removed from its strings (also inside JSON values)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, tuple):
        return tuple(without_nul(v) for v in value)
    return value


def _strip_nul(session: Session, _context: Any, _instances: Any) -> None:
    """PostgreSQL text and JSON cannot hold NUL (SQLite can): typed "\x00" would fail the
    update's commit on one backend only. Drop it from every loaded value about to be written."""
    for obj in (*session.new, *session.dirty):
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            value = state.dict.get(attr.key)  # only what is loaded: no lazy load here
            if isinstance(value, str | dict | list) and (clean := without_nul(value)) != value:
                setattr(obj, attr.key, clean)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # A session class of its own, so commit listeners (db.signals) belong to this factory only.
    session_class = type("AppSession", (Session,), {})
    event.listen(session_class, "before_flush", _strip_nul)
    event.listen(session_class, "after_soft_rollback", forget_forms)
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=session_class)
