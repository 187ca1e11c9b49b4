"""Fiscal jobs: shift auto-close at SHIFT_AUTOCLOSE_AT, the hourly (and start-up) catch-up,
plain async functions over the fiscal runtime; `now` is a parameter so tests drive the clock.
`add_jobs` puts them on an AsyncIOScheduler (the composition root starts the retry loop).

Instances sharing a PostgreSQL run each of these jobs one at a time (an advisory lock, db/locks.py):
an instance that finds the job running elsewhere skips its turn; the one after it finds the
shift closed.

SHIFT_AUTOCLOSE_AT empty turns automatic closing off entirely (no daily close, no catch-up):
the shop then closes shifts by hand in /shift, which says when a shift is overdue or 24 h old.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.usecases.shift_close import CloseResult
from bot.workers.fiscal_runtime import FiscalRuntime
from db.locks import try_lock

logger = logging.getLogger("scheduler.fiscal")

CATCH_UP_EVERY = timedelta(hours=1)
JOB_AUTOCLOSE = "fiscal.autoclose"
JOB_CATCH_UP = "fiscal.catch_up"
# Both jobs close the shift: one lock for the two, so two instances never close at once.
SHIFT_CLOSE_LOCK = "job:fiscal.shift_close"


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


async def _safely(job: str, coro_factory: Callable[[], Awaitable[object]],
                  runtime: FiscalRuntime) -> None:
    engine = runtime.session_factory.kw["bind"]
    try:
        async with try_lock(engine, SHIFT_CLOSE_LOCK) as got:
            if not got:
                logger.info("%s runs in another instance; skipped here", job)
                return
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
        args=[JOB_AUTOCLOSE, lambda: autoclose_shift(runtime), runtime], id=JOB_AUTOCLOSE,
        replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=900,
    )
    scheduler.add_job(
        _safely, IntervalTrigger(seconds=CATCH_UP_EVERY.total_seconds(), timezone=settings.tz),
        args=[JOB_CATCH_UP, lambda: catch_up(runtime), runtime], id=JOB_CATCH_UP,
        replace_existing=True, coalesce=True, max_instances=1,
        next_run_time=datetime.now(settings.tz),  # at start-up, then hourly
    )
