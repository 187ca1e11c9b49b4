"""bot.polling.Poller against the Bot API emulator over HTTP, with Telegram misbehaving: 5xx
(JSON, or a proxy's HTML page), answers slower than the client waits, and answers lost after
Telegram handed the updates out. Every update is handled, once, in order; a reply whose send
failed with a 5xx goes out once it is retried (bot/telegram_retry.py). A slow update of one
chat holds up no other chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.polling import Poller
from tests.emulators.telegram import DEFAULT_TOKEN, TelegramEmulator, run_telegram_emulator

USER = 4242


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with run_telegram_emulator() as emulator:
        yield emulator


def echo_dispatcher(seen: list[str]) -> Dispatcher:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        seen.append(message.text or "")
        await message.answer(f"ok {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def poll(emu: TelegramEmulator, seen: list[str], dp: Dispatcher | None = None,
               ) -> tuple[Poller, asyncio.Event, asyncio.Task[None], Bot]:
    # A short client timeout, so an answer slower than it is a timeout on the bot's side.
    bot = Bot(DEFAULT_TOKEN, session=AiohttpSession(
        api=TelegramAPIServer.from_base(emu.base_url), timeout=2))
    poller = Poller(dp or echo_dispatcher(seen), bot, polling_timeout=1)
    poller.backoff = Backoff(BackoffConfig(min_delay=0.05, max_delay=0.2, factor=1.5,
                                           jitter=0.1))
    stop = asyncio.Event()
    return poller, stop, asyncio.create_task(poller.run(stop)), bot


async def test_polling_survives_5xx_timeouts_and_lost_answers(emu: TelegramEmulator) -> None:
    user = emu.user(USER)
    seen: list[str] = []
    _poller, stop, task, bot = await poll(emu, seen)
    try:
        await emu.wait_polling(timeout=30)
        emu.fail_next("getUpdates", status=502)  # Telegram's JSON 502
        emu.fail_next("getUpdates", status=502, html=True)  # a proxy's HTML page
        emu.fail_next("getUpdates", status=500, description="Internal Server Error")
        emu.fail_next("getUpdates", status=0, delay=4)  # slower than the client waits
        emu.fail_next("getUpdates", after=True)  # handed out, then the answer is lost
        for i in range(10):
            await user.send(f"m{i}")
        await emu.wait_confirmed(emu.last_update_id, timeout=60)
        replies = [m.text for m in user.messages()]
        assert seen == [f"m{i}" for i in range(10)]  # each once, in order
        assert replies == [f"ok m{i}" for i in range(10)]
        assert emu.faults_served["getupdates"] == 5
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await bot.session.close()


async def test_a_slow_update_holds_up_no_other_chat(emu: TelegramEmulator) -> None:
    """One chat's update waits (on the PRRO, say) while another chat writes: the other one is
    fetched and answered meanwhile, though the slow update keeps the offset (it is not
    confirmed to Telegram until it finishes)."""
    started, release = asyncio.Event(), asyncio.Event()
    router = Router()

    @router.message()
    async def handler(message: Message) -> None:
        if message.text == "slow":
            started.set()
            await release.wait()
        await message.answer(f"ok {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    slow, other = emu.user(USER), emu.user(USER + 1)
    poller, stop, task, bot = await poll(emu, [], dp)
    try:
        await emu.wait_polling(timeout=30)
        await slow.send("slow")
        slow_id = emu.last_update_id
        await asyncio.wait_for(started.wait(), 30)
        # A getUpdates with the slow update's offset (in hand, so not confirmed) got it back
        # alone: nothing else has come since, and the bot polls on without it finishing.
        await emu.wait_call("getUpdates", lambda r: int(r.params.get("offset") or 0) == slow_id
                            and [u["update_id"] for u in r.result] == [slow_id], timeout=30)
        await other.send("quick")
        await other.wait_for("ok quick", timeout=15)
        assert slow.messages() == []  # still in hand
        assert poller.offset is not None and poller.offset <= emu.last_update_id - 1
        release.set()
        await slow.wait_for("ok slow", timeout=30)
    finally:
        release.set()
        stop.set()
        await asyncio.wait_for(task, 30)
        await bot.session.close()
