"""Telegram updates already applied: recorded in the update's own transaction, so an update
redelivered after a crash (Telegram resends what was not confirmed) is recognised and not
applied twice. Kept two days: Telegram keeps an unconfirmed update for 24 hours."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, select
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
