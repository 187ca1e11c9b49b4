"""Fiscal jobs: shift auto-close at SHIFT_AUTOCLOSE_AT, the hourly (and start-up) catch-up,
and the fiscal retry loop. Plain async functions over `bot.fiscalization`; `now` is a
parameter so tests drive the clock. `register_jobs` wires them onto an AsyncIOScheduler.

SHIFT_AUTOCLOSE_AT empty turns automatic closing off entirely (no daily close, no catch-up):
the shop then closes shifts by hand in /shift, which says when a shift is overdue or 24 h old.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.fiscalization import CloseResult, FiscalRuntime, runtime_for
from bot.fiscalization.fiscalizer import Clock, FiscalPolicy
from bot.services import Services

if TYPE_CHECKING:
    from bot.app import Application

logger = logging.getLogger("scheduler.fiscal")

CATCH_UP_EVERY = timedelta(hours=1)
JOB_AUTOCLOSE = "fiscal.autoclose"
JOB_CATCH_UP = "fiscal.catch_up"


async def autoclose_shift(runtime: FiscalRuntime, now: datetime | None = None
                          ) -> CloseResult | None:
    """At SHIFT_AUTOCLOSE_AT: flush, close the PRRO shift (Z), make the internal Z-report,
    tell the owners. None when auto-close is off. Nothing open → status "nothing_open"."""
    if runtime.settings.autoclose_time is None:
        return None
    result = await runtime.closer.close(now=now, reason="auto")
    _log(result)
    return result


async def catch_up(runtime: FiscalRuntime, now: datetime | None = None) -> CloseResult | None:
    """At start-up and hourly: close a shift from a previous shop-day or 24 h old (the bot was
    down at closing time, or the last try failed). None when nothing is due or auto-close is
    off."""
    autoclose = runtime.settings.autoclose_time
    if autoclose is None:
        return None
    now = now or runtime.closer.clock()
    due, which = await runtime.closer.shift_due(now, autoclose, runtime.settings.tz)
    if not due:
        return None
    logger.info("catch-up: closing the overdue %s shift", which)
    result = await runtime.closer.close(now=now, reason="catch_up")
    _log(result)
    return result


def _log(result: CloseResult) -> None:
    if result.status == "failed":
        logger.warning("shift not closed (%s): %s", result.reason, result.error)
    elif result.status == "closed":
        logger.info("shift %s closed (%s)", result.shift_number, result.reason)


@dataclass
class FiscalJobs:
    """What `register_jobs` started: keep `worker` with the app's background tasks."""

    runtime: FiscalRuntime
    worker: asyncio.Task[None]
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    def stop(self) -> None:
        self.stop_event.set()


async def _safely(job: str, coro_factory: Callable[[], Awaitable[object]]) -> None:
    try:
        await coro_factory()
    except Exception:
        logger.exception("%s failed; the next run retries", job)


def add_jobs(scheduler: AsyncIOScheduler, runtime: FiscalRuntime) -> None:
    """The auto-close cron (SHIFT_AUTOCLOSE_AT in TIMEZONE) and the catch-up (at start-up, then
    hourly); nothing when SHIFT_AUTOCLOSE_AT is empty."""
    settings = runtime.settings
    autoclose = settings.autoclose_time
    if autoclose is None:
        return
    scheduler.add_job(
        _safely, CronTrigger(hour=autoclose.hour, minute=autoclose.minute, timezone=settings.tz),
        args=[JOB_AUTOCLOSE, lambda: autoclose_shift(runtime)], id=JOB_AUTOCLOSE,
        replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=900,
    )
    scheduler.add_job(
        _safely, IntervalTrigger(seconds=CATCH_UP_EVERY.total_seconds(), timezone=settings.tz),
        args=[JOB_CATCH_UP, lambda: catch_up(runtime)], id=JOB_CATCH_UP,
        replace_existing=True, coalesce=True, max_instances=1,
        next_run_time=datetime.now(settings.tz),  # at start-up, then hourly
    )


def register_jobs(
    scheduler: AsyncIOScheduler,
    *,
    session_factory: async_sessionmaker[AsyncSession],
    services: Services,
    bot: Bot,
    settings: Settings,
    i18n: I18n | None = None,
    clock: Clock | None = None,
    policy: FiscalPolicy | None = None,
    stop: asyncio.Event | None = None,
) -> FiscalJobs:
    """Add the auto-close cron and the catch-up to `scheduler` and start the fiscal retry loop
    as a task (it wakes on `services.fiscal_wakeup`; it ends when `stop` is set). Call from a
    running event loop. (`settings` is the app's, the same as `services.settings`, which the
    jobs read.)"""
    runtime = runtime_for(services, session_factory, bot=bot, i18n=i18n, clock=clock,
                          policy=policy)
    add_jobs(scheduler, runtime)
    stop = stop or asyncio.Event()
    worker = asyncio.create_task(runtime.run_forever(stop), name="fiscal-retry-loop")
    return FiscalJobs(runtime=runtime, worker=worker, stop_event=stop)


# -- hooks for bot.app.Application (BACKGROUND and scheduler.EXTRA_JOBS) --------------------------

def _runtime(app: Application) -> FiscalRuntime:
    assert app.services is not None and app.session_factory is not None
    return runtime_for(app.services, app.session_factory, bot=app.bot, i18n=app.i18n)


async def start_fiscal_worker(app: Application) -> asyncio.Task[None]:
    """`bot.app.BACKGROUND` hook: the fiscal retry loop, stopped with the app."""
    stop = getattr(app, "_stop", None) or asyncio.Event()
    return asyncio.create_task(_runtime(app).run_forever(stop), name="fiscal-retry-loop")


def add_fiscal_jobs(scheduler: AsyncIOScheduler, app: Application) -> None:
    """`scheduler.EXTRA_JOBS` hook: auto-close and catch-up."""
    add_jobs(scheduler, _runtime(app))
