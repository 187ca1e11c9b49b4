"""The `settings` table: one JSON value per key, for the switches an owner changes in the bot
(report access, the digest, notifications). A missing key means the reader's default, so a
new switch needs no migration. Who may write a key is the caller's rule (e.g.
db.reports.settings checks the owner); this module only stores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Setting


async def get(session: AsyncSession, key: str, default: Any = None) -> Any:
    setting = await session.get(Setting, key)
    return default if setting is None else setting.value


async def get_many(session: AsyncSession, keys: Iterable[str]) -> dict[str, Any]:
    """The stored values of `keys` (missing keys are absent), in one query."""
    rows = await session.execute(
        select(Setting.key, Setting.value).where(Setting.key.in_(tuple(keys))))
    return {key: value for key, value in rows}


async def put(session: AsyncSession, key: str, value: Any) -> None:
    setting = await session.get(Setting, key)
    if setting is None:
        session.add(Setting(key=key, value=value))
    else:
        setting.value = value
    await session.flush()


async def lock(session: AsyncSession, key: str) -> None:
    """Lock the key's row until the transaction ends, so a read-check-write on it (a "sent
    once" marker) is not raced by another process. PostgreSQL only: SQLite runs writers one
    at a time anyway. A missing row locks nothing; its first `put` is the claim then."""
    await session.scalar(
        select(Setting).where(Setting.key == key).with_for_update()
        # the row as it is under the lock, not as this session last saw it
        .execution_options(populate_existing=True))
