"""Locks between instances of the app sharing one PostgreSQL: scheduled jobs run in one instance
at a time, and one instance polls Telegram while the others stay passive. PostgreSQL advisory
locks held on a connection of their own (they end with it, so a crashed instance frees them);
on SQLite there is one instance by design and every lock is granted at once."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a lock name (the same in every instance)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                          signed=True)


def _is_pg(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


@asynccontextmanager
async def try_lock(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Hold the lock `name` for the block if nobody else holds it; yields whether it did."""
    if not _is_pg(engine):
        yield True
        return
    async with engine.connect() as connection:
        got = bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:k)"),
                                           {"k": lock_key(name)}))
        try:
            yield got
        finally:
            if got:
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"),
                                         {"k": lock_key(name)})
            await connection.commit()


class Leadership:
    """One instance at a time holds `name` (e.g. "polling"); the others wait for it."""

    def __init__(self, engine: AsyncEngine, name: str, *, retry: float = 5.0) -> None:
        self.engine = engine
        self.name = name
        self.retry = retry
        self._connection: AsyncConnection | None = None

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this instance leads (True) or `stop` is set (False)."""
        if not _is_pg(self.engine):
            return not stop.is_set()
        waited = False
        while not stop.is_set():
            if await self._try():
                if waited:
                    log.info("took over %s", self.name)
                return True
            if not waited:
                log.info("another instance does %s; standing by", self.name)
                waited = True
            try:
                await asyncio.wait_for(stop.wait(), self.retry)
            except TimeoutError:
                pass
        return False

    async def _try(self) -> bool:
        connection = await self.engine.connect()
        got = bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:k)"),
                                           {"k": lock_key(self.name)}))
        await connection.commit()
        if got:
            self._connection = connection
        else:
            await connection.close()
        return got

    async def held(self) -> bool:
        """Whether the lock is still ours (its connection is alive)."""
        if not _is_pg(self.engine):
            return True
        if self._connection is None:
            return False
        try:
            await self._connection.execute(text("SELECT 1"))
            await self._connection.commit()
        except Exception:  # the connection is gone, and the lock with it
            log.warning("lost %s", self.name, exc_info=True)
            self._connection = None
            return False
        return True

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # A pooled connection outlives close(): unlock explicitly.
            await connection.execute(text("SELECT pg_advisory_unlock(:k)"),
                                     {"k": lock_key(self.name)})
            await connection.commit()
        except Exception:  # a broken connection: the server ended the session and its lock
            log.warning("could not unlock %s", self.name, exc_info=True)
        finally:
            await connection.close()
