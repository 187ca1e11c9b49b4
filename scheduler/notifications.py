"""Notification jobs: plain async functions; APScheduler wiring lives in the composition root.

`enqueue_ready_reminders` is meant to run once a day at a decent hour (e.g. 11:00 in
TIMEZONE): it only writes to the outbox, the worker delivers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.views.templates import compose_for_ticket
from db.base import utcnow
from db.errors import NotFound
from db.notify.models import MessageKind
from db.notify.outbox import due_ready_reminders, enqueue
from db.notify.settings import get_notify_settings
from db.notify.templates import ShopInfo

logger = logging.getLogger("scheduler.notifications")

# (session, ticket_id) -> kopecks still to pay, or None; supplied by the money side.
AmountDue = Callable[[AsyncSession, int], Awaitable[int | None]]


async def enqueue_ready_reminders(
    session_factory: async_sessionmaker[AsyncSession],
    now: datetime | None = None,
    days: int | None = None,
    *,
    shop: ShopInfo,
    amount_due: AmountDue | None = None,
    default_language: str = "uk",
    max_count: int | None = None,
) -> int:
    """Remind clients whose device has waited in a ready status for `days` (setting
    `notify.reminder_days` when None), at most `max_count` (`notify.reminder_max`) times per
    stay; which tickets are due is `db.notify.outbox.due_ready_reminders`. Idempotent (dedup keys).
    Off when `notify.reminder` is off. Returns how many were enqueued."""
    now = now or utcnow()
    async with session_factory() as session, session.begin():
        settings = await get_notify_settings(session)
        if not settings.reminder:
            return 0
        due_list = await due_ready_reminders(session, now, days or settings.reminder_days,
                                             max_count or settings.reminder_max)
        added = 0
        for reminder in due_list:
            ticket_id = reminder.ticket_id
            due = await amount_due(session, ticket_id) if amount_due else None
            try:
                composed = await compose_for_ticket(
                    session, ticket_id, kind=MessageKind.REMINDER, shop=shop, amount_due=due,
                    default_language=default_language,
                )
            except NotFound:
                logger.warning("no reminder template; ticket %s not reminded", ticket_id)
                continue
            await enqueue(session, kind=MessageKind.REMINDER, text=composed.text,
                          client_id=reminder.client_id, ticket_id=ticket_id,
                          dedup_key=reminder.dedup_key, now=now)
            added += 1
        return added
