"""SQLite through aiosqlite in one thread hop per statement.

aiosqlite runs each sqlite3 call in its own thread and hands the result back to the event loop:
a hop of ~0.1 ms (a queue, the thread, a wake-up of the loop through its self-pipe). SQLAlchemy's
adapter makes four of them for every statement — open a cursor, execute, fetch the rows, close
the cursor — so a ticket card's dozen statements spent more time crossing threads than in
SQLite. The cursor here does all four in one call on aiosqlite's thread and keeps what
SQLAlchemy reads afterwards (rows, description, rowcount, lastrowid).

Plugged in through `create_async_engine(module=...)`, SQLAlchemy's documented way to give a
dialect another DBAPI module; server-side cursors (`stream`, `yield_per`) keep aiosqlite's own,
which fetch in batches.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

# What one statement leaves: its rows, description, rowcount and lastrowid.
Outcome = tuple[list[Any], Any, int, int | None]


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any,
         many: bool) -> Outcome:
    """On aiosqlite's thread: the whole statement, the cursor opened and closed around it."""
    cursor = connection._conn.cursor()
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

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._statement(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._statement(operation, seq_of_parameters, many=True)

    async def _statement(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            outcome: Outcome = await self._connection._execute(
                _run, self._connection, operation, parameters, many)
        rows, self._description, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    async def _async_soft_close(self) -> None:
        """Nothing is open between statements; the rows stay for the result."""

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        raise sqlite3.NotSupportedError("SQLite has no multiple result sets")

    def setinputsizes(self, *inputsizes: Any) -> None:
        """A no-op, as in sqlite3."""


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI of SQLAlchemy's dialect, making OneHopConnections."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        # The dialect's own connect (it marks aiosqlite's thread a daemon), re-wrapped.
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def one_hop_dbapi() -> OneHopDbapi:
    return OneHopDbapi(aiosqlite, sqlite3)

