"""The unit of work: a reply is sent only after what it reports has committed, never when the
commit fails, and an update is applied once."""

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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares import DbSessionMiddleware
from bot.unit_of_work import CommitBeforeSpeaking
from db.desk.models import Counter
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
    dp.update.outer_middleware(DbSessionMiddleware(session_factory))
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
