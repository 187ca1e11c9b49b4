"""Notification jobs: plain async functions; APScheduler wiring lives in the composition root.

`enqueue_ready_reminders` is meant to run once a day at a decent hour (e.g. 11:00 in
TIMEZONE): it only writes to the outbox, the worker delivers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.errors import NotFound
from db.models import Status, StatusChange, StatusKind, Ticket
from db.notify_models import MessageKind
from db.notify_settings import get_notify_settings
from db.outbox import by_dedup_key, enqueue, ticket_dedup_key
from db.templates import ShopInfo, compose_for_ticket

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
    `notify.reminder_days` when None): one reminder per full `days` period, at most
    `max_count` (`notify.reminder_max`) per stay in the ready status. Idempotent: the dedup key
    is (ticket, the status change that made it ready, period number), so running the job
    twice, or on two machines, enqueues nothing new; going back to work and to ready again
    starts a new series. Off when `notify.reminder` is off. Returns how many were enqueued."""
    now = now or utcnow()
    async with session_factory() as session, session.begin():
        settings = await get_notify_settings(session)
        if not settings.reminder:
            return 0
        days = days or settings.reminder_days
        max_count = max_count or settings.reminder_max
        period = timedelta(days=days)
        entered = (
            select(func.max(StatusChange.id))
            .where(StatusChange.ticket_id == Ticket.id,
                   StatusChange.to_status_id == Ticket.status_id)
            .correlate(Ticket).scalar_subquery()
        )
        rows = (await session.execute(
            select(Ticket.id, Ticket.client_id, StatusChange.id, StatusChange.created_at)
            .join(Status, Status.id == Ticket.status_id)
            .join(StatusChange, StatusChange.id == entered)
            .where(Status.kind == StatusKind.READY, StatusChange.created_at <= now - period)
            .order_by(Ticket.id)
        )).all()
        added = 0
        for ticket_id, client_id, change_id, ready_since in rows:
            number = int((now - ready_since) / period)
            if number > max_count:
                continue
            key = ticket_dedup_key(MessageKind.REMINDER, ticket_id, f"{change_id}.{number}")
            if await by_dedup_key(session, key) is not None:
                continue
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
                          client_id=client_id, ticket_id=ticket_id, dedup_key=key, now=now)
            added += 1
        return added
