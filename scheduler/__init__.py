"""APScheduler wiring: which job runs when. The jobs live in this package's modules and call
use cases; each takes only what it needs (no business rules and no Application here)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.workers.fiscal_runtime import FiscalRuntime
from db.locks import try_lock
from db.money.closing import amount_due
from scheduler.backup import add_jobs as add_backup_jobs
from scheduler.digest import send_daily_digest
from scheduler.fiscal import add_jobs as add_fiscal_jobs
from scheduler.notifications import enqueue_ready_reminders
from scheduler.rollups import add_jobs as add_rollup_jobs

log = logging.getLogger("scheduler")

REMINDER_HOUR = 11  # shop time: reminders arrive at a decent hour, never at night


def build_scheduler(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    bot: Bot,
    i18n: I18n,
    fiscal: FiscalRuntime,
) -> AsyncIOScheduler:
    """Every scheduled job of the application:

    * pickup reminders at REMINDER_HOUR shop time (they only write to the outbox);
    * the owners' daily digest, checked every DIGEST_CHECK_SECONDS (5 min; claimed in the
      database: sent once);
    * shift auto-close at SHIFT_AUTOCLOSE_AT and the hourly catch-up (scheduler.fiscal);
    * the daily backup at BACKUP_AT when BACKUP_DIR is set (scheduler.backup);
    * the reports' rollups of closed days, and the receipts export's text of them, at start
      and every 30 min (scheduler.rollups, scheduler.export_days).
    """
    scheduler = AsyncIOScheduler(timezone=settings.tz)

    async def reminders() -> None:
        count = await enqueue_ready_reminders(
            session_factory, shop=settings.shop, amount_due=amount_due,
            default_language=settings.client_language)
        if count:
            log.info("%d pickup reminders queued", count)

    async def digest() -> None:
        await send_daily_digest(session_factory, bot, settings, i18n=i18n)

    engine = session_factory.kw["bind"]
    scheduler.add_job(exclusive(engine, "ready_reminders", reminders), "cron",
                      hour=REMINDER_HOUR, minute=0, id="ready_reminders",
                      coalesce=True, misfire_grace_time=3600)
    scheduler.add_job(exclusive(engine, "daily_digest", digest), "interval",
                      seconds=settings.digest_check_seconds,
                      id="daily_digest", coalesce=True, max_instances=1, replace_existing=True)
    add_fiscal_jobs(scheduler, fiscal)
    add_backup_jobs(scheduler, settings, session_factory, bot, i18n)
    add_rollup_jobs(scheduler, session_factory, settings, i18n)
    return scheduler


def exclusive(engine: AsyncEngine, name: str, job: Callable[[], Awaitable[object]]
              ) -> Callable[[], Awaitable[None]]:
    """`job` run by one instance at a time (db/locks.py); an instance that finds it running
    elsewhere skips this turn (every job is idempotent: the next turn catches up)."""

    async def run() -> None:
        async with try_lock(engine, f"job:{name}") as got:
            if got:
                await job()
            else:
                log.info("%s runs in another instance; skipped here", name)

    return run
