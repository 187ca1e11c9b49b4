"""SQLite through aiosqlite in one thread hop per statement.

aiosqlite runs each sqlite3 call in its own thread and hands the result back to the event loop:
a hop of ~0.1 ms (a queue, the thread, a wake-up of the loop through its self-pipe). SQLAlchemy's
adapter makes four of them for every statement — open a cursor, execute, fetch the rows, close
the cursor — so a ticket card's dozen statements spent more time crossing threads than in
SQLite. The cursor here does all four in one call on aiosqlite's thread and keeps what
SQLAlchemy reads afterwards (rows, description, rowcount, lastrowid).

A statement that cannot wait for a lock does not cross threads at all: it runs on the event
loop's own thread (a look-up takes SQLite ~3 µs, the hop ~100 µs). Such are a SELECT (with a
CTE too, the reports'), a BEGIN, and the COMMIT or ROLLBACK of a transaction that wrote
nothing (WAL: readers never wait for a writer). Two guards keep the loop from stalling on
one: the busy timeout is 0 while it runs (a lock that is taken fails at once instead of
waiting), and a progress handler interrupts it once it has run `INLINE_BUDGET`. Either way
the statement is run again on aiosqlite's thread, where it may wait and run as long as it
needs; an interrupted SELECT leaves its transaction as it was. A statement that once ran past
the budget goes to the thread at once afterwards (`_SLOW`). Writes (INSERT, UPDATE, DELETE,
DDL) and the COMMIT of a transaction that wrote always go to the thread: a write that is
interrupted rolls its whole transaction back, and a COMMIT may checkpoint the WAL.

Plugged in through `create_async_engine(module=...)`, SQLAlchemy's documented way to give a
dialect another DBAPI module; server-side cursors (`stream`, `yield_per`) keep aiosqlite's own,
which fetch in batches. The sqlite3 connection is used from two threads, one at a time (the
adapter's mutex, and the greenlet waits for each call): it is opened with
check_same_thread=False (db/engine.py).
"""

from __future__ import annotations

import collections
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection, AsyncIODBAPIConnection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT, await_

# What one statement leaves: its rows, description, rowcount and lastrowid.
Outcome = tuple[list[Any], Any, int, int | None]

# How long a statement may hold the event loop before it is handed to aiosqlite's thread: a
# look-up takes microseconds; a scan or a big report is re-run there, having wasted this much.
INLINE_BUDGET = 0.002
_PROGRESS_STEPS = 1000  # SQLite VM instructions between two looks at the clock
_HAND_OVER = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_INTERRUPT}


class _HandOver(Exception):
    """The statement would wait for a lock or ran past the budget (`slow`): run it on the
    thread."""

    def __init__(self, slow: bool) -> None:
        super().__init__()
        self.slow = slow


# Statements that once ran past the budget go straight to the thread afterwards: a report's
# long query would otherwise waste the budget on the loop every time before it is handed over.
# By SQL text, so by shape, not by arguments (a day's report and a year's share it); bounded.
_SLOW: set[str] = set()
_SLOW_MAX = 1000


# A statement with a CTE (`WITH …`) may end in a write; any of these words makes it one to us
# (a column named so too: it then merely runs on the thread).
_WRITES = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _kind(operation: str) -> str:
    """"begin", "read" (may run on the loop's thread, as a BEGIN may) or "write"."""
    head = operation.lstrip()[:6].upper()
    if head.startswith("BEGIN"):
        return "begin"
    if head == "SELECT" or (head.startswith("WITH") and _WRITES.search(operation) is None):
        return "read"
    return "write"


@contextmanager
def _on_loop_thread(conn: sqlite3.Connection, *, budget: bool) -> Iterator[None]:
    """No waiting for a lock and, with `budget`, no running past it: either raises _HandOver.

    Only a statement that may run long gets the budget. BEGIN, COMMIT and ROLLBACK are a few
    VM steps, yet SQLite counts a cached statement's steps across its runs and may call the
    progress handler at the end of one: a BEGIN interrupted there has begun all the same (and
    a loaded machine passes the deadline easily), and would then be run again."""
    deadline = time.perf_counter() + INLINE_BUDGET
    busy_timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 0")
    if budget:
        conn.set_progress_handler(lambda: time.perf_counter() > deadline, _PROGRESS_STEPS)
    try:
        yield
    except sqlite3.OperationalError as error:
        code = error.sqlite_errorcode & 0xFF
        if code in _HAND_OVER:
            raise _HandOver(slow=code == sqlite3.SQLITE_INTERRUPT) from error
        raise
    finally:
        if budget:
            conn.set_progress_handler(None, 0)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout)}")


def _run(connection: sqlite3.Connection, operation: str, parameters: Any,
         many: bool) -> Outcome:
    """The whole statement, the cursor opened and closed around it (on aiosqlite's thread, or
    on the loop's within the budget)."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return rows, cursor.description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # No driver cursor is opened here (that was a hop of its own): _run opens one per
        # statement on the driver's thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]  # DBAPI: None before an insert

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def _keep(self, outcome: Outcome) -> None:
        rows, self._description, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._statement(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._statement(operation, seq_of_parameters, many=True)

    async def _statement(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapt: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        async with adapt._execute_mutex:
            conn = self._connection._conn
            outcome = adapt.run_here(operation, parameters, many)
            if outcome is None:
                outcome = await self._connection._execute(_run, conn, operation, parameters,
                                                          many)
        self._keep(outcome)

    async def _async_soft_close(self) -> None:
        """Nothing is open between statements; the rows stay for the result."""

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        raise sqlite3.NotSupportedError("SQLite has no multiple result sets")

    def setinputsizes(self, *inputsizes: Any) -> None:
        """A no-op, as in sqlite3."""


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("wrote",)
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: AsyncIODBAPIConnection) -> None:
        super().__init__(dbapi, connection)
        self.wrote = True  # anything may be open until a BEGIN says otherwise

    def run_here(self, operation: str, parameters: Any, many: bool) -> Outcome | None:
        """The statement on the loop's thread if it never writes; None: run it on aiosqlite's
        (a write, many rows at once, or a read that would wait or ran past the budget)."""
        kind = "write" if many else _kind(operation)
        if kind == "write":
            self.wrote = True
            return None
        if kind == "begin":
            self.wrote = False
        elif operation in _SLOW:
            return None
        conn = self._connection._conn
        try:
            with _on_loop_thread(conn, budget=kind == "read"):
                return _run(conn, operation, parameters, False)
        except _HandOver as handed:
            if handed.slow:
                if len(_SLOW) >= _SLOW_MAX:
                    _SLOW.clear()
                _SLOW.add(operation)
            return None

    def commit(self) -> None:
        self._end(sqlite3.Connection.commit, self._connection.commit)

    def rollback(self) -> None:
        self._end(sqlite3.Connection.rollback, self._connection.rollback)

    def _end(self, here: Callable[[sqlite3.Connection], None],
             there: Callable[[], Awaitable[None]]) -> None:
        if self._connection._connection is None:
            return  # closed: nothing to end (as the stock adapter does)
        try:
            await_(self._ended(here, there))
        except Exception as error:
            self._handle_exception(error)
        self.wrote = False

    async def _ended(self, here: Callable[[sqlite3.Connection], None],
                     there: Callable[[], Awaitable[None]]) -> None:
        """A transaction that wrote nothing ends on the loop's thread; one that wrote, on
        aiosqlite's (its COMMIT may checkpoint the WAL)."""
        conn = self._connection._conn
        if not self.wrote:
            if not conn.in_transaction:
                return
            try:
                with _on_loop_thread(conn, budget=False):
                    here(conn)
                return
            except _HandOver:
                pass
        await there()


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI of SQLAlchemy's dialect, making OneHopConnections."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        # The dialect's own connect (it marks aiosqlite's thread a daemon), re-wrapped.
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def one_hop_dbapi() -> OneHopDbapi:
    return OneHopDbapi(aiosqlite, sqlite3)

