"""APScheduler wiring: which job runs when. The jobs themselves live in this package's modules
and call use cases; no business rules here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from db.money.closing import amount_due
from scheduler.digest import send_daily_digest
from scheduler.fiscal import add_fiscal_jobs
from scheduler.notifications import enqueue_ready_reminders

if TYPE_CHECKING:
    from bot.app import Application

log = logging.getLogger("scheduler")

REMINDER_HOUR = 11  # shop time: reminders arrive at a decent hour, never at night


def build_scheduler(app: Application) -> AsyncIOScheduler:
    settings = app.settings
    assert app.session_factory is not None and app.services is not None
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    session_factory, services = app.session_factory, app.services

    async def reminders() -> None:
        count = await enqueue_ready_reminders(
            session_factory, shop=settings.shop, amount_due=amount_due,
            default_language=settings.client_language)
        if count:
            log.info("%d pickup reminders queued", count)
            services.outbox_wakeup.set()

    scheduler.add_job(reminders, "cron", hour=REMINDER_HOUR, minute=0, id="ready_reminders",
                      coalesce=True, misfire_grace_time=3600)
    # Checks every few minutes whether the owners' digest is due (after the shift closes or at
    # the owner's time); claimed in the database, so it goes out once.
    scheduler.add_job(send_daily_digest, "interval", minutes=5, id="daily_digest",
                      coalesce=True, max_instances=1, replace_existing=True,
                      args=[session_factory, app.bot, settings], kwargs={"i18n": app.i18n})
    for register in EXTRA_JOBS:
        register(scheduler, app)
    return scheduler


# Features add their jobs here: callables (scheduler, app) -> None.
EXTRA_JOBS: list[Callable[[AsyncIOScheduler, Application], None]] = [
    add_fiscal_jobs,  # shift auto-close at SHIFT_AUTOCLOSE_AT, catch-up at start and hourly
]
