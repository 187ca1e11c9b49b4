"""The update's unit of work: one transaction, applied once, confirmed only after the commit.

* An update already applied (Telegram redelivers what it did not see confirmed, e.g. after a
  crash) is recognised by `db.updates` and skipped.
* Nothing is shown to a person while the update holds uncommitted shop data:
  `CommitBeforeSpeaking` (a Bot session middleware) commits the unit of work before any Bot API
  call that shows something (a message, an edit, a callback answer with text). If the commit
  fails, the call is not made and the error handler answers instead — so "saved", "paid",
  "accepted" or "sent" is only ever said about what committed. A handler may also call
  `await uow.commit()` itself where the order reads better; the update is recorded as applied
  in the first commit. Whatever the handler does afterwards runs in a new transaction that the
  middleware commits at the end.
* A transaction that has only read is ended before any Bot API call (`release`), so no update
  holds SQLite's write lock while it waits on Telegram.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import AnswerCallbackQuery, SendChatAction, TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from db.fsm import FormState
from db.updates import ProcessedUpdate, mark_processed

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[Any]]
current_uow: ContextVar[UnitOfWork | None] = ContextVar("current_uow", default=None)

# Bookkeeping that is not shop data: writing it confirms nothing to anybody.
_BOOKKEEPING = {FormState.__tablename__, ProcessedUpdate.__tablename__}
_UOW = "unit_of_work"  # the session's info key of the unit of work it belongs to


def watch_writes(session_class: type[Session]) -> None:
    """Let every unit of work on sessions of this class see what they write. Listeners on the
    class, once (DbSessionMiddleware, for its factory): listening on each update's session cost
    ~90 µs an update."""
    for name, listener in (("before_flush", _flushing), ("do_orm_execute", _executing)):
        if not event.contains(session_class, name, listener):
            event.listen(session_class, name, listener)


def _flushing(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    uow: UnitOfWork | None = session.info.get(_UOW)
    if uow is not None:
        uow.flushing(session)


def _executing(state: ORMExecuteState) -> None:
    uow: UnitOfWork | None = state.session.info.get(_UOW)
    if uow is not None:
        uow.executing(state)


class AlreadyApplied(Exception):
    """The same update was applied by a concurrent delivery that committed first."""


class UnitOfWork:
    def __init__(self, session: AsyncSession, bot_id: int, update_id: int) -> None:
        self.session = session
        self.bot_id = bot_id
        self.update_id = update_id
        self.after_commit: list[AfterCommit] = []
        self.wrote = False  # anything written in the open transaction
        self.shop_data = False  # shop data (not form state) written, not committed yet
        self.applied = False  # the update is recorded as applied
        self.saved = False  # shop data of this update committed (an error after it undoes none)
        session.sync_session.info[_UOW] = self  # seen by watch_writes' listeners

    def flushing(self, session: Session) -> None:
        objects = [*session.new, *session.dirty, *session.deleted]
        if objects:
            self.wrote = True
        if any(getattr(o, "__tablename__", "") not in _BOOKKEEPING for o in objects):
            self.shop_data = True

    def executing(self, state: ORMExecuteState) -> None:
        if not (state.is_insert or state.is_update or state.is_delete):
            return
        self.wrote = True
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) not in _BOOKKEEPING:
            self.shop_data = True

    @property
    def unconfirmed(self) -> bool:
        """Shop data changed in this transaction and not committed yet."""
        s = self.session
        return self.shop_data or any(
            getattr(o, "__tablename__", "") not in _BOOKKEEPING
            for o in (*s.new, *s.dirty, *s.deleted))

    async def release(self) -> None:
        """End a transaction that has only read, so it holds nothing while the bot waits on the
        network: on SQLite an update's transaction holds the database's write lock (BEGIN
        IMMEDIATE, db/engine.py), and every other chat's update would wait for that send.
        A commit, not a rollback: what was loaded stays loaded. After-commit work stays queued
        for the real commit, and a transaction that wrote anything (a form step too) is kept:
        its writes belong together."""
        s = self.session
        if s.in_transaction() and not (self.wrote or s.new or s.dirty or s.deleted):
            await s.commit()

    async def commit(self) -> None:
        """The point of no return: after it, confirmations may be sent."""
        await self.session.flush()
        if self.wrote and not self.applied:
            if not await mark_processed(self.session, self.bot_id, self.update_id):
                raise AlreadyApplied(self.update_id)
            self.applied = True
        await self.session.commit()
        self.saved = self.saved or self.shop_data
        self.wrote = self.shop_data = False
        jobs, self.after_commit[:] = list(self.after_commit), []
        for job in jobs:
            try:
                await job()
            except Exception:
                log.exception("after-commit job %r failed", job)


class CommitBeforeSpeaking(BaseRequestMiddleware):
    """Commits the update's unit of work before a Bot API call that shows a person something,
    so a reply can never tell about a change that then rolls back (a crash after the commit
    may lose the reply, never make it false). Enforced here, at the one door every reply goes
    through, rather than by each handler remembering to commit."""

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        await ready_to_speak(method.__api_method__, claims=_claims(method))
        return await make_request(bot, method)


async def ready_to_speak(what: str, *, claims: bool = True) -> None:
    """Before a Bot API call (`what`): commit the update's unconfirmed changes if the call shows
    something (`claims`), else end a read-only transaction. Also called once by a handler
    before calls it makes at the same time (handlers.ui.edit_and_answer): each call's
    middleware then finds nothing to do, where both committing one session at once would
    break it."""
    uow = current_uow.get()
    if uow is None:
        return
    if uow.unconfirmed and claims:
        log.debug("%s: committing update %s first", what, uow.update_id)
        await uow.commit()
    else:
        await uow.release()


def _claims(method: TelegramMethod[Any]) -> bool:
    """Whether the call shows a person anything (a typing action or a silent callback answer
    does not)."""
    if isinstance(method, SendChatAction):
        return False
    return not (isinstance(method, AnswerCallbackQuery) and method.text is None)
