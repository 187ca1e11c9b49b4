"""aiogram FSM storage in the database (the embedded default; Redis when REDIS_URL is set).

Inside an update it reads and writes through the update's own session (set by
DbSessionMiddleware in `update_session`), so a form step commits or rolls back with the data
it saved, and a redelivered update finds the form as it was before it. Outside an update
(tests, tools) it uses a short transaction of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import READ_ONLY
from db.fsm import get_form, put_form

update_session: ContextVar[AsyncSession | None] = ContextVar("update_session", default=None)


class DatabaseStorage(BaseStorage):
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory
        self.keys = DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    @asynccontextmanager
    async def _session(self, *, read: bool = False) -> AsyncIterator[AsyncSession]:
        current = update_session.get()
        if current is not None:
            yield current
            return
        # aiogram's FSM middleware reads the state before the update's unit of work begins:
        # a read-only transaction, which on SQLite takes no write lock.
        options = READ_ONLY if read else None
        async with self.session_factory(execution_options=options) as session, \
                session.begin():
            yield session

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = state.state if isinstance(state, State) else state
        async with self._session() as session:
            await put_form(session, self.keys.build(key), state=name, keep_data=True)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._session(read=True) as session:
            row = await get_form(session, self.keys.build(key))
            return row.state if row is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self._session() as session:
            await put_form(session, self.keys.build(key), data=dict(data), keep_state=True)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._session(read=True) as session:
            row = await get_form(session, self.keys.build(key))
            return dict(row.data) if row is not None else {}

    async def close(self) -> None:
        """Nothing to close: the engine belongs to the application."""
