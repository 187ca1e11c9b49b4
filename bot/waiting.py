"""Waiting in the background loops (outbox worker, fiscal retry loop), and their heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

logger = logging.getLogger(__name__)


async def wait_any(*events: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
    """Return when any of `events` is set or after `timeout` seconds, leaving no waiter behind."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        for waiter in waiters:
            with contextlib.suppress(asyncio.CancelledError):
                await waiter


@contextlib.asynccontextmanager
async def beating(beat: Callable[[], Awaitable[None]], interval: float,
                  name: str = "heartbeat") -> AsyncIterator[None]:
    """Call `beat()` every `interval` seconds while the block runs (a worker renewing the
    leases of what it holds). A failed beat is logged and the next one tried on time."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await beat()
            except Exception:
                logger.exception("%s failed", name)

    task = asyncio.create_task(loop(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
