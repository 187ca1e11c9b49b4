"""The project's Bot API emulator (tests/emulators/telegram.py) with a clock on its events.

Timestamps are `time.perf_counter()` of the emulator's process, taken where the emulator
itself sees the event:

* `pushed_at[update_id]` — the update was queued, i.e. available to getUpdates (a parked long
  poll is woken by this very push);
* `arrived` of a request — the emulator's HTTP handler started on it (aiohttp has parsed the
  request line and headers); a bot's send or edit in a chat is logged with the arrival of the
  request that made it (`log_times[chat]`, aligned with the chat log), an answered callback
  query likewise (`answered_at[query_id]`);
* `requests_at` — every Bot API call as (arrival, method); `first_poll_at` — the first
  getUpdates (the end of a cold start).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from aiohttp import web

from tests.emulators.telegram import BotMessage, TelegramEmulator

_arrived: ContextVar[float | None] = ContextVar("_arrived", default=None)
T = TypeVar("T")
Json = dict[str, Any]


class TimedEmulator(TelegramEmulator):
    def __init__(self, token: str, **kwargs: Any) -> None:
        super().__init__(token, **kwargs)
        self.pushed_at: dict[int, float] = {}
        self.log_times: dict[int, list[float]] = {}
        self.answered_at: dict[str, float] = {}
        self.requests_at: list[tuple[float, str]] = []
        self.first_poll_at: float | None = None

    def push_update(self, kind: str, payload: Json) -> int:
        pushed = time.perf_counter()
        update_id = super().push_update(kind, payload)
        self.pushed_at[update_id] = pushed
        return update_id

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        method = request.match_info["method"].lower()
        self.requests_at.append((arrived, method))
        if method == "getupdates" and self.first_poll_at is None:
            self.first_poll_at = arrived
        token = _arrived.set(arrived)  # each request runs in its own task: no mix-ups
        try:
            return await super()._handle_api(request)
        finally:
            _arrived.reset(token)

    def _append_log(self, chat_id: int, state: Any, method: str, *, edited: bool) -> None:
        self.log_times.setdefault(chat_id, []).append(_arrived.get() or time.perf_counter())
        super()._append_log(chat_id, state, method, edited=edited)

    def _answer_callback_query(self, params: Json, files: dict[str, Any]) -> bool:
        result = super()._answer_callback_query(params, files)
        self.answered_at[str(params.get("callback_query_id"))] = (
            _arrived.get() or time.perf_counter())
        return result

    # -- waiting on the clock ------------------------------------------------------------------

    async def wait_until(self, check: Callable[[], T | None], timeout: float) -> T:  # noqa: ASYNC109
        """Wake on every bot send/edit/answer until `check` returns something."""
        found = await self._wait(lambda: self._outbox_changed, check, timeout)
        if found is None:
            raise TimeoutError(f"nothing within {timeout} s")
        return found

    async def wait_first_poll(self, timeout: float) -> float:  # noqa: ASYNC109
        found = await self._wait(lambda: self._pollers_changed, lambda: self.first_poll_at,
                                 timeout)
        if found is None:
            raise TimeoutError(f"the bot did not call getUpdates within {timeout} s")
        return found

    def message_after(self, chat_id: int, index: int,
                      match: Callable[[BotMessage], bool]) -> tuple[BotMessage, float] | None:
        """The first send/edit in the chat at log position ≥ `index` that matches, with its
        arrival time."""
        entries = self._log.get(chat_id, [])
        times = self.log_times.get(chat_id, [])
        for i in range(index, len(entries)):
            if match(entries[i]):
                return entries[i], times[i]
        return None

    def log_size(self, chat_id: int) -> int:
        return len(self._log.get(chat_id, []))

    def calls_between(self, start: float, end: float) -> int:
        """Bot API calls other than getUpdates that arrived in [start, end)."""
        return sum(1 for at, method in self.requests_at
                   if start <= at < end and method != "getupdates")


@contextlib.asynccontextmanager
async def run_timed_emulator(token: str) -> AsyncIterator[TimedEmulator]:
    emulator = TimedEmulator(token)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
