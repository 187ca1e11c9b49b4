"""The send limiter on a virtual clock: overall spacing, per-chat spacing and order, 429 pauses."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable

import pytest

from bot.workers.ratelimit import RateLimiter


class FakeClock:
    """Virtual time: `sleep` parks the caller; `run` advances to the next wake-up whenever
    every task is parked, so seconds of limiter time pass in microseconds."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._seq), future))
        await future

    async def run(self, *coros: Awaitable[object]) -> list[object]:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if self._sleepers:
                when, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, when)
                future.set_result(None)
        return [t.result() for t in tasks]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(clock: FakeClock, **kwargs: float) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep, **kwargs)


async def _send(lim: RateLimiter, clock: FakeClock, chat: int, log: list[tuple[float, int]],
                duration: float = 0.0) -> None:
    async with lim.slot(chat) as paused:
        assert paused == 0.0
        log.append((clock.now, chat))
        if duration:
            await clock.sleep(duration)


async def test_overall_rate_is_spaced(clock: FakeClock) -> None:
    lim = limiter(clock, rate=25.0)
    log: list[tuple[float, int]] = []
    await clock.run(*(_send(lim, clock, chat, log) for chat in range(100)))
    times = [t for t, _ in log]
    assert times[0] == 0.0
    assert all(b - a == pytest.approx(0.04) for a, b in itertools.pairwise(times))
    # Any 1-second window holds at most 25 sends.
    assert max(sum(1 for t in times if s <= t < s + 1) for s in times) == 25
    assert times[-1] == pytest.approx(99 * 0.04)


async def test_one_chat_waits_an_interval_after_each_send_finished(clock: FakeClock) -> None:
    lim = limiter(clock, rate=100.0, per_chat_interval=1.0)
    log: list[tuple[float, int]] = []
    await clock.run(*(_send(lim, clock, 7, log, duration=0.3) for _ in range(4)),
                    _send(lim, clock, 8, log))
    seven = [t for t, chat in log if chat == 7]
    assert seven == pytest.approx([0.0, 1.3, 2.6, 3.9])  # 1 s after each 0.3 s send
    assert [t for t, chat in log if chat == 8] == pytest.approx([0.01])  # not held up


async def test_messages_to_one_chat_keep_their_order(clock: FakeClock) -> None:
    lim = limiter(clock, rate=1000.0, per_chat_interval=1.0)
    order: list[int] = []

    async def send(n: int) -> None:
        async with lim.slot(1):
            order.append(n)

    await clock.run(*(send(n) for n in range(10)))
    assert order == list(range(10))
    assert clock.now == pytest.approx(9.0)


async def test_429_pauses_the_chat_and_halves_the_rate(clock: FakeClock) -> None:
    lim = limiter(clock, rate=20.0, per_chat_interval=1.0, min_rate=2.0, recovery=1.0)
    lim.pause_chat(3, 5)
    lim.slow_down()
    assert lim.rate == 10.0 and lim.paused_for(3) == 5.0
    async with lim.slot(3) as paused:
        assert paused == 5.0  # the caller defers the message instead of waiting
    async with lim.slot(4) as paused:
        assert paused == 0.0  # other chats are not paused
    for _ in range(5):
        lim.slow_down()
    assert lim.rate == 2.0  # floor
    for _ in range(30):
        lim.succeeded()
    assert lim.rate == 20.0  # recovered, never above the configured rate
    clock.now = 5.0
    assert lim.paused_for(3) == 0.0


async def test_idle_chats_are_forgotten(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.workers.ratelimit.PRUNE_AT", 10)
    lim = limiter(clock, rate=1000.0, per_chat_interval=1.0)
    await clock.run(*(_send(lim, clock, chat, []) for chat in range(10)))
    clock.now += 2
    await clock.run(_send(lim, clock, 99, []))
    assert len(lim._chats) == 1
