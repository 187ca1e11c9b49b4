"""Form state (aiogram FSM) kept in the database: a form half-way through survives a restart
on the embedded default. Rows are written in the update's own transaction (bot/fsm_storage.py
passes the update's session), so a form step and the data it saved commit or roll back
together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, utcnow

KEY_MAX = 200


class FormState(Base):
    __tablename__ = "fsm_states"
    key: Mapped[str] = mapped_column(String(KEY_MAX), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


async def get_form(session: AsyncSession, key: str) -> FormState | None:
    return await session.get(FormState, key)


async def put_form(session: AsyncSession, key: str, *, state: str | None = None,
                   data: dict[str, Any] | None = None, keep_state: bool = False,
                   keep_data: bool = False) -> None:
    """Set the state and/or the data of `key` (the other one kept when asked); a row with no
    state and no data is deleted."""
    row = await session.get(FormState, key)
    new_state = row.state if keep_state and row is not None else state
    new_data = dict(row.data) if keep_data and row is not None else dict(data or {})
    if new_state is None and not new_data:
        if row is not None:
            await session.delete(row)
            await session.flush()
        return
    if row is None:
        session.add(FormState(key=key, state=new_state, data=new_data, updated_at=utcnow()))
    else:
        row.state, row.data, row.updated_at = new_state, new_data, utcnow()
    await session.flush()
