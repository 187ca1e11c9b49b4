"""Chatter of non-staff is answered at a bounded rate.

The rule: a person who is not staff gets at most THROTTLE_UPDATES messages, edits and button
taps handled per THROTTLE_WINDOW seconds (a fixed window from their first update). The first
update over the limit gets one "слишком часто, подождите" (a message, or the text of the
callback answer); the rest of the window is ignored silently (a tapped button still gets an
empty answer, so its spinner stops). Staff are never throttled: OWNER_IDS pass without
counting; anyone else over the limit is looked up (staff once per window, others at most
every 10 s), and staff pass.

It runs before the update's transaction: a flood costs neither a database transaction (on
SQLite each one takes the write lock) nor a form lock — only a counter, plus one staff lookup
per window for a person over the limit. Counters live in this process (one polling instance
at a time, so that is exact), or in Redis when the FSM storage is Redis (several webhook
instances share it). If Redis fails, updates pass (availability over throttling).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import N_
from db.desk.staff import get_staff_by_tg

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
Clock = Callable[[], float]

# What a person sends; other updates (chat member changes, …) are not chatter.
COUNTED = ("message", "edited_message", "callback_query")
NOT_STAFF_KEPT = 10.0  # seconds a "not staff" lookup is trusted (one query per 10 s in a flood)
TOO_OFTEN = N_("Слишком много сообщений подряд. Подождите немного и попробуйте снова.")


class WindowCounter(Protocol):
    async def hit(self, user_id: int) -> int:
        """Count one update of the user; return how many they sent in the current window."""


class MemoryCounter:
    """Fixed windows per user in this process; the oldest windows are forgotten first when
    more than `max_users` are tracked (a flood from many accounts stays bounded in memory)."""

    def __init__(self, window: float, clock: Clock = time.monotonic,
                 max_users: int = 50_000) -> None:
        self.window = window
        self.clock = clock
        self.max_users = max_users
        self._windows: dict[int, tuple[float, int]] = {}  # user → (start, count), oldest first

    async def hit(self, user_id: int) -> int:
        now = self.clock()
        start, count = self._windows.get(user_id, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
            del self._windows[user_id]  # re-inserted last: the dict stays oldest first
        self._windows[user_id] = (start, count + 1)
        if len(self._windows) > self.max_users:
            self._forget(now)
        return count + 1

    def _forget(self, now: float) -> None:
        for user_id in [u for u, (start, _n) in self._windows.items()
                        if now - start >= self.window]:
            del self._windows[user_id]
        while len(self._windows) > self.max_users:
            del self._windows[next(iter(self._windows))]


class RedisCounter:
    """The same windows in Redis (shared by instances): SET NX EX starts a window, INCR counts."""

    def __init__(self, redis: Any, window: float, prefix: str) -> None:
        self.redis = redis
        self.ttl = max(1, math.ceil(window))
        self.prefix = prefix

    async def hit(self, user_id: int) -> int:
        key = f"{self.prefix}:{user_id}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=self.ttl, nx=True)
            pipe.incr(key)
            _started, count = await pipe.execute()
        return int(count)


def make_counter(settings: Settings, storage: object) -> WindowCounter:
    """Redis when the forms are kept in Redis (REDIS_URL), this process otherwise."""
    redis = getattr(storage, "redis", None)
    if redis is None:
        return MemoryCounter(settings.throttle_window)
    prefix = getattr(getattr(storage, "key_builder", None), "prefix", "fsm")
    return RedisCounter(redis, settings.throttle_window, f"{prefix}:throttle")


class ThrottleMiddleware(BaseMiddleware):
    """The rule above, as the Dispatcher's first own outer middleware (bot/app.py)."""

    def __init__(self, settings: Settings, session_factory: async_sessionmaker[AsyncSession],
                 i18n: I18n, counter: WindowCounter, clock: Clock = time.monotonic) -> None:
        self.limit = settings.throttle_updates
        self.window = settings.throttle_window
        self.owner_ids = frozenset(settings.owner_ids)
        self.language = settings.client_language
        self.session_factory = session_factory
        self.i18n = i18n
        self.counter = counter
        self.clock = clock
        self._staff: dict[int, tuple[bool, float]] = {}  # user → (is staff, known until)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if (self.limit <= 0 or user is None or user.id in self.owner_ids
                or not isinstance(event, Update) or event.event_type not in COUNTED):
            return await handler(event, data)
        count = await self._count(user.id)
        if count <= self.limit or await self._is_staff(user.id):
            return await handler(event, data)
        if count == self.limit + 1:
            log.warning("user %s sent more than %s updates in %s s: throttled", user.id,
                        self.limit, self.window)
        await self._refuse(event, data["bot"], warn=count == self.limit + 1)
        return UNHANDLED

    async def _count(self, user_id: int) -> int:
        try:
            return await self.counter.hit(user_id)
        except Exception:  # the counter's store is down: let the update pass
            log.exception("throttle counter failed; update passes")
            return 0

    async def _is_staff(self, user_id: int) -> bool:
        now = self.clock()
        known = self._staff.get(user_id)
        if known is not None and known[1] > now:
            return known[0]
        async with self.session_factory() as session:
            is_staff = await get_staff_by_tg(session, user_id) is not None
        if len(self._staff) > 10_000:
            self._staff = {u: v for u, v in self._staff.items() if v[1] > now}
        # "Not staff" is kept briefly: someone invited meanwhile is let through soon.
        self._staff[user_id] = (is_staff, now + (self.window if is_staff
                                                 else min(self.window, NOT_STAFF_KEPT)))
        return is_staff

    async def _refuse(self, update: Update, bot: Bot, *, warn: bool) -> None:
        text = self.i18n.gettext(TOO_OFTEN, locale=self.language) if warn else None
        try:
            if update.callback_query is not None:
                await bot.answer_callback_query(update.callback_query.id, text=text)
                return
            message = update.message or update.edited_message
            if text is not None and message is not None:
                await bot.send_message(message.chat.id, text)
        except TelegramAPIError as exc:
            log.info("throttle notice not delivered: %s", exc)
