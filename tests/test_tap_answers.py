"""A tap's new screen and its answer leave together (handlers.ui.edit_and_answer): both after
the update's changes committed, both in flight at once; and when the screen's edit then fails,
the person still learns about it, in the chat (handlers/errors.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import make_i18n
from bot.middlewares import DbSessionMiddleware
from bot.unit_of_work import CommitBeforeSpeaking
from db.desk.models import Counter, Role, Ticket
from db.desk.tickets import get_ticket
from db.updates import Redeliveries
from handlers.errors import on_error
from handlers.ui import edit_and_answer
from tests.factories import make_staff, make_ticket
from tests.handler_kit import OWNER_ID, Desk
from tests.mocked_bot import MockedBot, make_callback_update

WAIT = 30.0  # seconds a call waits for its partner: only reached when they are not concurrent


class Rendezvous(BaseRequestMiddleware):
    """Inside CommitBeforeSpeaking: what another connection reads of the counter when each call
    leaves, and whether the edit and the answer were in flight at the same time (each waits,
    up to WAIT, for the other to arrive; calls made one after the other never meet)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory
        self.seen: dict[str, int | None] = {}
        self.arrived: set[str] = set()
        self.both = asyncio.Event()
        self.alone: list[str] = []  # calls that waited in vain for the other

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        name = method.__api_method__
        async with self.session_factory() as other:
            self.seen[name] = await other.scalar(
                select(Counter.value).where(Counter.name == "tap-test"))
        self.arrived.add(name)
        if {"editMessageText", "answerCallbackQuery"} <= self.arrived:
            self.both.set()
        try:
            await asyncio.wait_for(self.both.wait(), WAIT)
        except TimeoutError:
            self.alone.append(name)
        return await make_request(bot, method)


def _dispatcher(session_factory: async_sessionmaker[AsyncSession]) -> Dispatcher:
    """A tap that saves and shows it; the app's error handler (in Russian)."""
    router = Router()

    @router.callback_query()
    async def save_then_show(query: CallbackQuery, session: AsyncSession) -> None:
        session.add(Counter(name="tap-test", value=5))
        await edit_and_answer(query, "saved 5", note="Сохранено")

    dp = Dispatcher(i18n=make_i18n("ru"))
    dp.update.outer_middleware(DbSessionMiddleware(session_factory, Redeliveries(in_order=True)))
    dp.include_router(router)
    dp.errors.register(on_error)
    return dp


async def _saved(session_factory: async_sessionmaker[AsyncSession]) -> int | None:
    async with session_factory() as s:
        return await s.scalar(select(Counter.value).where(Counter.name == "tap-test"))


async def test_the_screen_and_the_answer_leave_together_after_the_commit(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    bot = MockedBot()
    meeting = Rendezvous(session_factory)
    bot.session.middleware(CommitBeforeSpeaking())
    bot.session.middleware(meeting)
    await _dispatcher(session_factory).feed_update(bot, make_callback_update("x", user_id=5))
    assert meeting.seen == {"editMessageText": 5, "answerCallbackQuery": 5}
    assert meeting.alone == []
    assert bot.last(EditMessageText).text == "saved 5"
    assert bot.last(AnswerCallbackQuery).text == "Сохранено"
    assert bot.session.errors == []


async def _card_on_screen(session_factory: async_sessionmaker[AsyncSession]
                          ) -> tuple[Desk, Ticket]:
    """The app with a ticket's card open in the owner's chat."""
    async with session_factory() as session:
        owner = await make_staff(session, Role.OWNER, tg_user_id=OWNER_ID)
        ticket = await make_ticket(session, owner)
        await session.commit()
    desk = Desk(session_factory)
    await desk.send(OWNER_ID, f"#{ticket.number}")
    return desk, ticket


async def test_a_failed_edit_after_the_answer_is_told_in_the_chat(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The tap was answered together with the edit, so the error's alert cannot go on the
    button any more: the incident code comes as a message instead of being lost."""
    desk, _ticket = await _card_on_screen(session_factory)
    desk.bot.session.add_error(EditMessageText, 500, "Internal Server Error")
    texts = await desk.tap(OWNER_ID, "🔄 Статус")
    calls = desk.bot.session.requests
    alerts = [m.text for m in calls if isinstance(m, AnswerCallbackQuery)]
    assert alerts == [None, texts[-1][:200]]  # the second one refused: the tap was answered
    assert isinstance(calls[-1], SendMessage)
    assert "Что-то пошло не так" in texts[-1] and "код" in texts[-1]


async def test_a_screen_that_fails_after_the_save_says_it_was_saved(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The commit came before the edit; the incident message must not say "nothing saved"."""
    bot = MockedBot()
    bot.session.middleware(CommitBeforeSpeaking())
    bot.session.add_error(EditMessageText, 500, "Internal Server Error")
    await _dispatcher(session_factory).feed_update(bot, make_callback_update("x", user_id=5))
    assert await _saved(session_factory) == 5
    told = bot.texts()[-1]
    assert told.startswith("Изменения сохранены, но показать результат не получилось")
    assert "ничего не сохранено" not in told
    assert isinstance(bot.session.requests[-1], SendMessage)  # the tap was answered already


async def test_a_tap_that_cannot_be_answered_keeps_its_screen(
        session_factory: async_sessionmaker[AsyncSession],
        caplog: pytest.LogCaptureFixture) -> None:
    """The screen is shown and the save committed: a refused answer (the tap is too old) is
    logged, not reported to the person as a failure."""
    bot = MockedBot()
    bot.session.middleware(CommitBeforeSpeaking())
    bot.session.add_error(AnswerCallbackQuery, 400, "Bad Request: query is too old and response "
                          "timeout expired or query ID is invalid")
    await _dispatcher(session_factory).feed_update(bot, make_callback_update("x", user_id=5))
    assert await _saved(session_factory) == 5
    assert bot.texts() == ["saved 5"]
    assert "not answered" in caplog.text


async def test_the_real_app_says_a_saved_status_was_saved(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Through the app's dispatcher: the status change commits, its card then fails to show;
    the person is told the change stays (the error handler sees the update's unit of work)."""
    desk, ticket = await _card_on_screen(session_factory)
    await desk.tap(OWNER_ID, "🔄 Статус")
    desk.bot.session.add_error(EditMessageText, 500, "Internal Server Error")
    texts = await desk.tap(OWNER_ID, "Диагностика")
    assert texts[-1].startswith("Изменения сохранены, но показать результат не получилось")
    async with session_factory() as session:
        moved = await get_ticket(session, ticket.id)
        assert moved.status.code == "diagnostics"
