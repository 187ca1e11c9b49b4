"""Form state (aiogram FSM) kept in the database: a form half-way through survives a restart
on the embedded default. Rows are written in the update's own transaction (bot/fsm_storage.py
passes the update's session), so a form step and the data it saved commit or roll back
together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, bindparam, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.base import Base, UTCDateTime, utcnow

KEY_MAX = 200


class FormState(Base):
    __tablename__ = "fsm_states"
    key: Mapped[str] = mapped_column(String(KEY_MAX), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# session.info key: the forms this session read or wrote (None: no row). The identity map holds
# unmodified rows weakly, so without this every aiogram get_state/get_data/set_* of one update
# read the same row again (five SELECTs in a payment step).
_FORMS = "fsm_forms"


def _known(session: AsyncSession) -> dict[str, FormState | None]:
    forms: dict[str, FormState | None] = session.info.setdefault(_FORMS, {})
    return forms


def forget_forms(session: Session, _previous: object = None) -> None:
    """After a rollback nothing remembered holds (a deleted form is back, say); the session
    factory (db.engine) calls this on every rollback."""
    session.info.pop(_FORMS, None)


def _current(row: FormState | None) -> bool:
    """A remembered answer still holds (a rollback detaches new rows and expires old ones)."""
    if row is None:
        return True
    state = inspect(row)
    return state.pending or (state.persistent and not state.expired_attributes)


# Read for every update (aiogram asks for the state): built once, not per call.
_FORM = select(FormState).where(FormState.key == bindparam("key"))


async def get_form(session: AsyncSession, key: str) -> FormState | None:
    known = _known(session)
    if key in known and _current(known[key]):
        return known[key]
    row = known[key] = await session.scalar(_FORM, {"key": key})
    return row


async def put_form(session: AsyncSession, key: str, *, state: str | None = None,
                   data: dict[str, Any] | None = None, keep_state: bool = False,
                   keep_data: bool = False) -> None:
    """Set the state and/or the data of `key` (the other one kept when asked); a row with no
    state and no data is deleted. Not flushed here: aiogram sets the state and the data one
    call after the other, and the session writes the row once (at the next query or the
    commit) instead of an INSERT and two UPDATEs."""
    row = await get_form(session, key)
    new_state = row.state if keep_state and row is not None else state
    new_data = dict(row.data) if keep_data and row is not None else dict(data or {})
    if new_state is None and not new_data:
        if row is not None:
            await session.delete(row)
        _known(session)[key] = None
        return
    if row is None:
        row = FormState(key=key, state=new_state, data=new_data, updated_at=utcnow())
        session.add(row)
        _known(session)[key] = row
    else:
        row.state, row.data, row.updated_at = new_state, new_data, utcnow()
