"""Telegram updates already applied: recorded in the update's own transaction, so an update
redelivered after a crash (Telegram resends what was not confirmed) is recognised and not
applied twice. Kept two days: Telegram keeps an unconfirmed update for 24 hours."""

from __future__ import annotations

from datetime import datetime, timedelta

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


async def mark_processed(session: AsyncSession, bot_id: int, update_id: int,
                         now: datetime | None = None) -> bool:
    """Record the update in the caller's transaction; False when it is already recorded (a
    concurrent delivery of the same update committed first: this one must roll back)."""
    insert = upsert_insert(session)
    statement = insert(ProcessedUpdate).values(
        bot_id=bot_id, update_id=update_id, processed_at=now or utcnow(),
    ).on_conflict_do_nothing().returning(ProcessedUpdate.update_id)
    return (await session.execute(statement)).first() is not None


async def prune(session: AsyncSession, now: datetime | None = None) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < (now or utcnow()) - KEEP))
    return rowcount(result)


async def last_processed(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(ProcessedUpdate.processed_at)
                                .order_by(ProcessedUpdate.processed_at.desc()).limit(1))
