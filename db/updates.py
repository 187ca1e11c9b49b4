"""Telegram updates already applied: recorded in the update's own transaction, so an update
redelivered after a crash (Telegram resends what was not confirmed) is recognised and not
applied twice. Kept two days: Telegram keeps an unconfirmed update for 24 hours."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, rowcount, upsert_insert, utcnow

KEEP = timedelta(days=2)


class ProcessedUpdate(Base):
    __tablename__ = "processed_updates"
    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# Every update asks this first: one statement built once (building it per call, and its cache
# key, cost as much as SQLite running it).
_APPLIED = select(ProcessedUpdate.update_id).where(
    ProcessedUpdate.bot_id == bindparam("bot_id"),
    ProcessedUpdate.update_id == bindparam("update_id"))


async def was_processed(session: AsyncSession, bot_id: int, update_id: int) -> bool:
    applied = await session.scalar(_APPLIED, {"bot_id": bot_id, "update_id": update_id})
    return applied is not None


_NEWEST = select(func.max(ProcessedUpdate.update_id)).where(
    ProcessedUpdate.bot_id == bindparam("bot_id"))


class Redeliveries:
    """Which updates may have been applied before, and so need `was_processed`'s answer.

    Telegram numbers a bot's updates in increasing order and gives a poller one again only
    when it did not see it confirmed (after a crash or a restart). While this process is the
    one polling (`in_order`), an update numbered above every update applied before it began
    (read once, at its first update) and above every one it has met since cannot have been
    applied: its lookup, one statement of every update, is skipped. Anything else is looked
    up: a redelivery, an update met before that rolled back, numbers that start lower again
    (Telegram picks a new random start after a week without updates). `forget` starts over;
    the app calls it whenever this instance starts polling (instances take turns, and another
    may have applied updates meanwhile). Webhook deliveries may come out of order, again, or
    to another instance behind the same proxy: every one is looked up (`in_order` False)."""

    def __init__(self, *, in_order: bool) -> None:
        self.in_order = in_order
        self._highest: dict[int, int] = {}  # bot id → the highest update id met or applied

    def forget(self) -> None:
        self._highest.clear()

    async def may_be_applied(self, session: AsyncSession, bot_id: int, update_id: int) -> bool:
        if not self.in_order:
            return True
        if bot_id not in self._highest:
            applied = await session.scalar(_NEWEST, {"bot_id": bot_id}) or 0
            # max: updates met while this read waited count too
            self._highest[bot_id] = max(applied, self._highest.get(bot_id, 0))
        if update_id > self._highest[bot_id]:
            self._highest[bot_id] = update_id
            return False
        return True


@functools.cache
def _mark(insert: Callable[[Any], Any]) -> Any:
    """Every update that writes records itself: built once per dialect's INSERT."""
    return insert(ProcessedUpdate).values(
        bot_id=bindparam("b_id"), update_id=bindparam("u_id"),
        processed_at=bindparam("at", type_=UTCDateTime()),
    ).on_conflict_do_nothing().returning(ProcessedUpdate.update_id)


async def mark_processed(session: AsyncSession, bot_id: int, update_id: int,
                         now: datetime | None = None) -> bool:
    """Record the update in the caller's transaction; False when it is already recorded (a
    concurrent delivery of the same update committed first: this one must roll back)."""
    statement = _mark(upsert_insert(session))
    found = await session.execute(statement, {"b_id": bot_id, "u_id": update_id,
                                              "at": now or utcnow()})
    return found.first() is not None


async def prune(session: AsyncSession, now: datetime | None = None) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < (now or utcnow()) - KEEP))
    return rowcount(result)


async def last_processed(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(ProcessedUpdate.processed_at)
                                .order_by(ProcessedUpdate.processed_at.desc()).limit(1))
