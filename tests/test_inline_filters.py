"""Synchronous filters are awaited on the event loop (bot/inline_filters.py), not sent to a
thread one by one as aiogram does by default, and still decide the same way."""

from __future__ import annotations

import threading

from aiogram import F, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.inline_filters import run_filters_inline
from tests.handler_kit import Desk
from tests.mocked_bot import make_message_update


def _all_filters(router: Router) -> list[FilterObject]:
    found = [flt for observer in router.observers.values()
             for handler in (observer._handler, *observer.handlers)
             for flt in handler.filters or ()]
    return found + [flt for sub in router.sub_routers for flt in _all_filters(sub)]


def test_every_filter_of_the_app_is_awaited(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    filters = _all_filters(Desk(session_factory).dp)
    assert len(filters) > 100
    assert all(flt.awaitable for flt in filters)


async def test_a_synchronous_filter_runs_on_the_loop_thread_and_decides_the_same() -> None:
    threads: list[threading.Thread] = []

    def mine(message: Message) -> bool:
        threads.append(threading.current_thread())
        return message.text == "да"

    async def handler(message: Message) -> None:
        return None

    router = Router()
    router.message.register(handler, mine, F.text.startswith("д"))
    assert run_filters_inline(router) == 2
    [registered] = router.message.handlers
    yes = make_message_update("да").message
    no = make_message_update("нет").message
    assert (await registered.check(yes))[0] is True
    assert (await registered.check(no))[0] is False
    assert threads == [threading.main_thread()] * 2
    assert run_filters_inline(router) == 0  # once is enough
