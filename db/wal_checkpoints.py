"""SQLite's WAL checkpoints, off the updates' path.

By default the COMMIT that takes the write-ahead log past 1,000 pages runs the checkpoint
itself: it copies those pages into the database file and syncs it, 5-7 ms here against a
commit's usual 0.1 ms, and the update whose commit it was waits for it (with a payment's ~10
pages, every ~60th payment; the p99 of "✅ Оплачено"). The app's connections leave that to a
writer only past `AUTOCHECKPOINT_PAGES` (a safety net: the WAL cannot grow without bound if
the checkpointer stops), and `WalCheckpointer` checkpoints every few seconds from a thread and
a connection of its own. A PASSIVE checkpoint waits for no reader or writer; updates go on
committing to the log while it copies and syncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import NamedTuple

log = logging.getLogger(__name__)

AUTOCHECKPOINT_PAGES = 10_000  # ~40 MB of log before a writer checkpoints by itself
CHECKPOINT_EVERY = 2.0  # seconds


class Checkpoint(NamedTuple):
    busy: bool  # stopped short by a reader or writer (PASSIVE does not wait)
    log_pages: int  # pages in the log
    copied: int  # pages in the database file now


class WalCheckpointer:
    """Checkpoints the database file's WAL every `every` seconds, and once more when stopped."""

    def __init__(self, database: str, every: float = CHECKPOINT_EVERY) -> None:
        self.database, self.every = database, every
        self._conn: sqlite3.Connection | None = None
        self.last: Checkpoint | None = None  # the last round's result

    def checkpoint(self) -> Checkpoint:
        """One PASSIVE checkpoint (blocking: call it in a thread)."""
        if self._conn is None:
            # Used by one thread at a time (each call is awaited before the next).
            self._conn = sqlite3.connect(self.database, isolation_level=None,
                                         check_same_thread=False)
        busy, log_pages, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return Checkpoint(bool(busy), int(log_pages), int(copied))

    async def run_forever(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every)
                await self._checkpoint()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def _checkpoint(self) -> None:
        try:
            self.last = await asyncio.to_thread(self.checkpoint)
        except sqlite3.Error as exc:  # a locked or vanished file: the next round tries again
            log.warning("WAL checkpoint of %s failed: %r", self.database, exc)
