"""After-commit signals: a write marks what it queued (client messages, fiscal receipts) on its
session, and whoever listens on the session factory hears it once the transaction commits —
never after a rollback. The composition root listens to wake the outbox and fiscal workers, so
no caller has to remember to wake them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

OUTBOX = "outbox"  # a client (or staff) message was queued
FISCAL = "fiscal"  # a receipt or cash move waits for the PRRO

_KEY = "signals"


def mark(session: AsyncSession | Session, signal: str) -> None:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(_KEY, set()).add(signal)


def on_commit(factory: async_sessionmaker[AsyncSession],
              listener: Callable[[frozenset[str]], None]) -> None:
    """Call `listener(signals)` after each commit of a session of `factory` that marked any.
    The factory's own session class (see db.engine) keeps listeners of two apps apart."""
    session_class: type[Session] = factory.kw["sync_session_class"]

    def committed(session: Session) -> None:
        signals = session.info.pop(_KEY, None)
        if signals:
            listener(frozenset(signals))

    def rolled_back(session: Session, *_args: Any) -> None:
        session.info.pop(_KEY, None)

    event.listen(session_class, "after_commit", committed)
    event.listen(session_class, "after_soft_rollback", rolled_back)
