"""Rolling up closed days for the reports (db.reports.rollups): at start-up and every half
hour, every missing closed day, a few per transaction so that on SQLite the desk's updates get
the write lock between them (a new installation with years of books is rolled up in minutes;
afterwards each run finds a day or nothing)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from db.reports import rollups
from scheduler.export_days import build_export_days

log = logging.getLogger("scheduler.rollups")

JOB_ROLLUPS = "reports.rollups"
EVERY = timedelta(minutes=30)


async def build_rollups(session_factory: async_sessionmaker[AsyncSession], tz: ZoneInfo,
                        now: datetime | None = None) -> int:
    """Roll up every missing closed day; how many were rolled up."""
    total = 0
    while True:
        async with session_factory() as session, session.begin():
            built = await rollups.build(session, tz, now=now)
        total += built
        if built < rollups.DAYS_PER_TRANSACTION:
            break
        await asyncio.sleep(0)  # other tasks (and their transactions) between two of ours
    if total:
        log.info("report rollups: %d day(s) rolled up", total)
    return total


def add_jobs(scheduler: AsyncIOScheduler,
             session_factory: async_sessionmaker[AsyncSession], settings: Settings,
             i18n: I18n) -> None:
    """The rollups, then the export texts hung on them (scheduler.export_days)."""
    async def run() -> None:
        await build_rollups(session_factory, settings.tz)
        await build_export_days(session_factory, settings.tz, i18n, settings.default_language)

    scheduler.add_job(run, "interval", seconds=EVERY.total_seconds(), id=JOB_ROLLUPS,
                      next_run_time=datetime.now(settings.tz), coalesce=True, max_instances=1,
                      replace_existing=True)
