"""The unit of work: a reply is sent only after what it reports has committed, never when the
commit fails, an update is applied once, and no transaction that only read is held over a Bot
API call."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message
from sqlalchemy import delete, event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares import DbSessionMiddleware
from bot.unit_of_work import CommitBeforeSpeaking, UnitOfWork, current_uow
from db.base import utcnow
from db.desk.models import Counter
from db.updates import ProcessedUpdate, Redeliveries
from tests.mocked_bot import MockedBot, make_message_update


class SeenAtSend(BaseRequestMiddleware):
    """Inside CommitBeforeSpeaking: reads the counter from another connection at the moment
    each reply leaves, i.e. what a person could rely on when reading it."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory
        self.seen: list[int | None] = []

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        async with self.session_factory() as other:
            self.seen.append(await other.scalar(
                select(Counter.value).where(Counter.name == "uow-test")))
        return await make_request(bot, method)


def _dispatcher(session_factory: async_sessionmaker[AsyncSession], value: int) -> Dispatcher:
    router = Router()

    @router.message()
    async def save_then_say(message: Message, session: AsyncSession) -> None:
        session.add(Counter(name="uow-test", value=value))
        await message.answer(f"saved {value}")

    dp = Dispatcher()
    dp.update.outer_middleware(DbSessionMiddleware(session_factory, Redeliveries(in_order=True)))
    dp.include_router(router)
    return dp


def _bot(session_factory: async_sessionmaker[AsyncSession]) -> tuple[MockedBot, SeenAtSend]:
    bot = MockedBot()
    seen = SeenAtSend(session_factory)
    bot.session.middleware(CommitBeforeSpeaking())
    bot.session.middleware(seen)
    return bot, seen


async def test_the_reply_leaves_after_the_commit(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    bot, seen = _bot(session_factory)
    await _dispatcher(session_factory, 7).feed_update(bot, make_message_update("x", user_id=5))
    assert bot.texts() == ["saved 7"]
    assert seen.seen == [7]  # visible to everybody when the reply was sent


async def test_no_reply_when_the_commit_fails(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        session.add(Counter(name="uow-test", value=1))
        await session.commit()
    bot, seen = _bot(session_factory)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await _dispatcher(session_factory, 2).feed_update(bot, make_message_update("x", user_id=5))
    assert bot.texts() == []
    assert seen.seen == []


async def test_a_redelivered_update_is_applied_once(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    bot, _seen = _bot(session_factory)
    dp = _dispatcher(session_factory, 3)
    update = make_message_update("x", user_id=5)
    await dp.feed_update(bot, update)
    await dp.feed_update(bot, update)  # Telegram redelivers what it did not see confirmed
    assert bot.texts() == ["saved 3"]


async def test_only_an_update_that_may_have_been_applied_is_looked_up(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """After a restart (a new dispatcher), an update numbered at or below the newest applied
    is looked up and skipped; a newer one runs without the lookup; one met before is looked
    up again (and runs again if it rolled back)."""
    lookups: list[int] = []
    sync_engine = session_factory.kw["bind"].sync_engine

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM processed_updates" in statement and "max(" not in statement:
            lookups.append(1)

    event.listen(sync_engine, "before_cursor_execute", seen)
    try:
        bot, _seen = _bot(session_factory)
        first = make_message_update("x", user_id=5)
        await _dispatcher(session_factory, 3).feed_update(bot, first)
        assert lookups == []  # the first update a process meets: nothing applied was newer
        restarted = _dispatcher(session_factory, 4)
        await restarted.feed_update(bot, first)  # redelivered after a restart
        assert bot.texts() == ["saved 3"] and len(lookups) == 1
        newer = first.model_copy(update={"update_id": first.update_id + 1})
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            await restarted.feed_update(bot, newer)  # runs (no lookup), fails, rolls back
        assert len(lookups) == 1
        async with session_factory() as session:
            await session.execute(delete(Counter).where(Counter.name == "uow-test"))
            await session.commit()
        await restarted.feed_update(bot, newer)  # met before: looked up, not applied, runs
        assert bot.texts() == ["saved 3", "saved 4"] and len(lookups) == 2
    finally:
        event.remove(sync_engine, "before_cursor_execute", seen)


async def test_redeliveries_forget_and_webhooks(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """After `forget` (this instance polls again; another may have applied updates meanwhile)
    the newest applied is read again; webhook deliveries are always looked up."""
    async with session_factory() as session:
        session.add(ProcessedUpdate(bot_id=1, update_id=50, processed_at=utcnow()))
        await session.commit()
        polling, webhook = Redeliveries(in_order=True), Redeliveries(in_order=False)
        assert await polling.may_be_applied(session, 1, 10)  # below what was applied before
        assert await polling.may_be_applied(session, 1, 50)
        assert not await polling.may_be_applied(session, 1, 51)
        session.add(ProcessedUpdate(bot_id=1, update_id=52, processed_at=utcnow()))
        await session.commit()  # another instance polled and applied 52
        assert not await polling.may_be_applied(session, 1, 52)  # stale: trusts the order
        polling.forget()
        assert await polling.may_be_applied(session, 1, 52)
        assert not await polling.may_be_applied(session, 1, 53)
        assert await webhook.may_be_applied(session, 1, 10**9)


class InTransactionAtSend(BaseRequestMiddleware):
    """Inside CommitBeforeSpeaking: whether the update's session still held a transaction when
    each call left (on SQLite, the database's write lock)."""

    def __init__(self) -> None:
        self.held: list[bool] = []

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        uow = current_uow.get()
        assert uow is not None
        self.held.append(uow.session.in_transaction())
        return await make_request(bot, method)


async def test_a_transaction_that_only_read_is_ended_before_a_call(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Reads end before any call, silent or not; writes of the update stay together across a
    silent call (a callback answer), and after-commit work waits for the real commit."""
    ran: list[str] = []
    router = Router()

    @router.message()
    async def read_then_write(message: Message, session: AsyncSession, uow: UnitOfWork) -> None:
        counter = await session.scalar(select(Counter).where(Counter.name == "uow-test"))
        uow.after_commit.append(_note(ran, "after commit"))
        await message.bot.send_chat_action(message.chat.id, "typing")  # silent: read only
        assert counter is not None and ran == []
        counter.value += 1
        await message.bot.send_chat_action(message.chat.id, "typing")  # silent: a write
        await message.answer(f"now {counter.value}")  # commits first

    async with session_factory() as session:
        session.add(Counter(name="uow-test", value=1))
        await session.commit()
    bot = MockedBot()
    held = InTransactionAtSend()
    bot.session.middleware(CommitBeforeSpeaking())
    bot.session.middleware(held)
    dp = Dispatcher()
    dp.update.outer_middleware(DbSessionMiddleware(session_factory, Redeliveries(in_order=True)))
    dp.include_router(router)
    await dp.feed_update(bot, make_message_update("x", user_id=5))
    assert held.held == [False, True, False]
    assert bot.texts() == ["now 2"] and ran == ["after commit"]


def _note(ran: list[str], what: str) -> Any:
    async def job() -> None:
        ran.append(what)
    return job
