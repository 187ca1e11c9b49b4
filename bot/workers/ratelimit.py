"""Telegram's send limits as a small async limiter: N messages/s overall, 1 per chat per interval.

Per chat, senders queue on a FIFO lock (so one chat's messages keep their order) and the next
send starts `per_chat_interval` after the previous one *finished*: Telegram measures arrival,
and a request that finished has certainly arrived, so network jitter cannot squeeze two sends
into one interval. Overall, sends are spaced 1/rate apart by the clock, measured from the
previous send's actual start (no bursts, even when the event loop wakes sleepers late).

After a 429 the chat is paused for `retry_after` and the overall rate is halved (down to
`min_rate`); every success wins back `recovery` msg/s up to the configured rate (AIMD).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
PRUNE_AT = 5000  # chat states kept before idle ones are forgotten


@dataclass
class _Chat:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last: float = float("-inf")  # when the previous send finished
    paused_until: float = float("-inf")
    users: int = 0  # holders + waiters, so a busy state is never pruned


class RateLimiter:
    def __init__(
        self,
        rate: float = 25.0,
        per_chat_interval: float = 1.0,
        *,
        min_rate: float = 1.0,
        recovery: float = 0.5,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or per_chat_interval < 0 or not 0 < min_rate <= rate:
            raise ValueError("rate > 0, per_chat_interval >= 0, 0 < min_rate <= rate")
        self.max_rate = rate
        self.rate = rate
        self.per_chat_interval = per_chat_interval
        self.min_rate = min_rate
        self.recovery = recovery
        self._clock = clock
        self._sleep = sleep
        self._last_grant = float("-inf")
        self._global_lock = asyncio.Lock()
        self._chats: dict[int, _Chat] = {}

    def _chat(self, chat_id: int) -> _Chat:
        state = self._chats.get(chat_id)
        if state is None:
            if len(self._chats) >= PRUNE_AT:
                self._prune()
            state = self._chats[chat_id] = _Chat()
        return state

    def _prune(self) -> None:
        now = self._clock()
        for chat_id, state in list(self._chats.items()):
            idle = state.users == 0 and state.last + self.per_chat_interval <= now
            if idle and state.paused_until <= now:
                del self._chats[chat_id]

    async def _global_slot(self) -> None:
        # Spaced from the previous *actual* grant, in FIFO order: a busy event loop that wakes
        # several sleepers late cannot let them out in a burst.
        async with self._global_lock:
            wait = self._last_grant + 1.0 / self.rate - self._clock()
            if wait > 0:
                await self._sleep(wait)
            self._last_grant = self._clock()

    @asynccontextmanager
    async def slot(self, chat_id: int) -> AsyncIterator[float]:
        """Wait for this chat's turn and an overall slot; yields 0.0 — send now. If the chat
        is paused by a 429 it yields the seconds left instead, without waiting: the caller
        should put the message back for later (keeping the chat's order)."""
        state = self._chat(chat_id)
        state.users += 1
        try:
            async with state.lock:
                paused = state.paused_until - self._clock()
                if paused > 0:
                    yield paused
                    return
                wait = state.last + self.per_chat_interval - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                await self._global_slot()
                try:
                    yield 0.0
                finally:
                    state.last = self._clock()
        finally:
            state.users -= 1

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        state = self._chat(chat_id)
        state.paused_until = max(state.paused_until, self._clock() + seconds)

    def paused_for(self, chat_id: int) -> float:
        state = self._chats.get(chat_id)
        return max(0.0, state.paused_until - self._clock()) if state else 0.0

    def slow_down(self) -> None:
        self.rate = max(self.min_rate, self.rate / 2)

    def succeeded(self) -> None:
        if self.rate < self.max_rate:
            self.rate = min(self.max_rate, self.rate + self.recovery)
