"""Long polling that loses nothing at a crash.

aiogram's own loop moves the getUpdates offset past an update as soon as it is *fetched*, so a
crash loses updates still being handled. Here the offset never passes an unfinished update:
it is the lowest update still in hand (or held back after a cancel), else one past the newest
finished. A crash therefore makes Telegram resend what was in hand; the ones that had
committed are recognised by `db.updates` and skipped.

Updates of one chat run strictly in arrival order; different chats run in parallel (up to
`concurrency`), and a slow update of one chat holds up no other (`_while_in_hand`). Network
errors, 5xx and timeouts of getUpdates are retried with backoff; 429 waits `retry_after`.
`run(stop)` returns after the updates in hand finish (or, past `drain_timeout`, are
cancelled, which rolls them back and keeps them unconfirmed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Hashable
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

# 5xx (JSON, or an HTML page from a proxy), timeouts and lost connections, another poller.
RETRYABLE = (TelegramNetworkError, TelegramServerError, ClientDecodeError, TelegramConflictError,
             TimeoutError)


class Poller:
    def __init__(self, dp: Dispatcher, bot: Bot, *, allowed_updates: list[str] | None = None,
                 polling_timeout: int = 25, concurrency: int = 16, max_in_hand: int = 100,
                 drain_timeout: float = 50.0, repoll: float = 0.25) -> None:
        self.dp, self.bot = dp, bot
        self.allowed_updates, self.polling_timeout = allowed_updates, polling_timeout
        self.repoll = repoll
        self.max_in_hand, self.drain_timeout = max_in_hand, drain_timeout
        self.backoff = Backoff(BackoffConfig(min_delay=1, max_delay=30, factor=1.5, jitter=0.1))
        self._slots = asyncio.Semaphore(concurrency)
        self._in_hand: dict[int, asyncio.Task[None]] = {}
        self._held: set[int] = set()  # cancelled (rolled back): must come again
        self._tail: dict[Hashable, asyncio.Task[None]] = {}  # the last task of each chat
        self._next: int | None = None  # one past the newest update taken
        self._progress = asyncio.Event()
        self.last_poll_ok: float | None = None  # loop time of the last answer (or the start)

    @property
    def offset(self) -> int | None:
        """What Telegram may forget: nothing at or after the lowest unfinished update."""
        unfinished = self._in_hand.keys() | self._held
        return min(unfinished) if unfinished else self._next

    async def run(self, stop: asyncio.Event) -> None:
        self.last_poll_ok = asyncio.get_running_loop().time()  # alive from the first poll on
        try:
            while not stop.is_set():
                self._progress.clear()
                if len(self._in_hand) < self.max_in_hand:
                    updates = await self._fetch(stop)
                    if updates is None:
                        break
                    fresh = [u for u in updates if self._is_new(u.update_id)]
                    for update in fresh:
                        self._take(update)
                    if not self._in_hand:
                        continue  # the next getUpdates may wait for news (long polling)
                await self._while_in_hand(stop)
        finally:
            await self._drain()
            await self._confirm()

    async def _while_in_hand(self, stop: asyncio.Event) -> None:
        """Updates are in hand, and their offset is kept until they finish, so a getUpdates now
        would only get them back at once. Poll again when one finishes (the usual case: tens
        of milliseconds), or after `repoll` seconds: then the news of other chats is taken
        while one update is slow (a receipt waiting on the PRRO, an SMS gateway, a big file),
        instead of every chat waiting for it."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_until_stopped(self._progress.wait(), stop), self.repoll)

    async def _fetch(self, stop: asyncio.Event) -> list[Update] | None:
        timeout = int(self.bot.session.timeout + self.polling_timeout)
        while not stop.is_set():
            method = GetUpdates(offset=self.offset, timeout=self.polling_timeout,
                                allowed_updates=self.allowed_updates)
            try:
                result = await _until_stopped(self.bot(method, request_timeout=timeout), stop)
            except TelegramRetryAfter as exc:
                delay: float = exc.retry_after
            except RETRYABLE as exc:
                delay = next(self.backoff)
                log.warning("getUpdates failed (%r); retrying in %.1f s", exc, delay)
            else:
                self.backoff.reset()
                self.last_poll_ok = asyncio.get_running_loop().time()
                return result
            await _until_stopped(asyncio.sleep(delay), stop)
        return None

    def _is_new(self, uid: int) -> bool:
        """Not taken yet (or held back after a cancel). An answer to a getUpdates sent with an
        older offset (one in flight while updates finished, or retried after a lost answer)
        repeats updates already finished: update ids only grow, so anything below `_next`
        was taken before."""
        if uid in self._in_hand:
            return False
        return uid in self._held or self._next is None or uid >= self._next

    def _take(self, update: Update) -> None:
        uid = update.update_id
        self._held.discard(uid)
        self._next = max(self._next or 0, uid + 1)
        context = UserContextMiddleware.resolve_event_context(update)
        chat: Hashable = context.chat_id or context.user_id or ("update", uid)
        task = asyncio.create_task(self._handle(update, self._tail.get(chat)),
                                   name=f"update-{uid}")
        self._in_hand[uid] = self._tail[chat] = task
        task.add_done_callback(lambda t: self._finished(uid, chat, t))

    def _finished(self, uid: int, chat: Hashable, task: asyncio.Task[None]) -> None:
        del self._in_hand[uid]
        if task.cancelled():
            self._held.add(uid)
        if self._tail.get(chat) is task:
            del self._tail[chat]
        self._progress.set()

    async def _handle(self, update: Update, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:  # the same chat: strictly in order
            await asyncio.wait([previous])
        async with self._slots:
            try:
                result: Any = await self.dp.feed_update(self.bot, update)
                if isinstance(result, TelegramMethod):
                    await self.dp.silent_call_request(self.bot, result)
            except Exception:  # the error handler has run; the transaction is rolled back
                log.exception("update %s failed", update.update_id)

    async def _drain(self) -> None:
        """Let the updates in hand finish (and commit); cancel, i.e. roll back, the late ones."""
        if pending := list(self._in_hand.values()):
            _done, late = await asyncio.wait(pending, timeout=self.drain_timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _confirm(self, attempts: int = 3) -> None:
        """One last getUpdates so finished updates are not resent (harmless if it fails: a
        resent update that was applied is skipped)."""
        for _ in range(attempts if self.offset is not None else 0):
            try:
                await self.bot(GetUpdates(offset=self.offset, timeout=0, limit=1), 10)
                return
            except (*RETRYABLE, TelegramRetryAfter) as exc:
                log.warning("final getUpdates failed: %r", exc)
                await asyncio.sleep(1)


async def _until_stopped(awaitable: Awaitable[T], stop: asyncio.Event) -> T | None:
    """Await `awaitable`, or cancel it and return None once `stop` is set."""
    task, stopper = asyncio.ensure_future(awaitable), asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait((task, stopper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
    if task in done:
        return task.result()
    await asyncio.gather(task, return_exceptions=True)
    return None
