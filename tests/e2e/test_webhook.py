"""Webhook mode over HTTP: the real app behind WEBHOOK_URL with the Bot API emulator delivering
updates the way Telegram does (POST with the secret header, retried until 2xx). A request
without the right secret is refused with 401 and executes nothing — not even a forged
"/start" from an owner's id, which would create the owner's staff record."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import Application
from db.desk.models import Staff
from tests.e2e_kit import TOKEN
from tests.emulators.telegram import TelegramEmulator, run_telegram_emulator
from tests.handler_kit import OWNER_ID
from tests.handler_kit import test_settings as make_settings
from tests.mocked_bot import make_message_update

SECRET = "s3cret-token-for-the-webhook-test_0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def webhook_app(db_url: str) -> AsyncIterator[tuple[TelegramEmulator, Application, str]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    async with run_telegram_emulator(token=TOKEN) as emu:
        app = Application(make_settings(
            bot_token=TOKEN, telegram_api_url=emu.base_url, database_url=db_url,
            webhook_url=url, webhook_secret=SECRET, webhook_listen=f"127.0.0.1:{port}"))
        await app.start()
        stop = asyncio.Event()
        task = asyncio.create_task(app.run_webhook(stop))
        try:
            await emu.wait_webhook()
            yield emu, app, url
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await app.stop()


async def staff_count(app: Application) -> int:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(Staff)) or 0


async def test_forged_requests_are_refused_and_telegrams_are_applied(db_url: str) -> None:
    async with webhook_app(db_url) as (emu, app, url):
        assert emu.webhook_secret == SECRET  # setWebhook carried the secret
        forged = make_message_update("/start", user_id=OWNER_ID).model_dump(
            mode="json", exclude_none=True)
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong" + SECRET[5:]},
                            {"X-Telegram-Bot-Api-Secret-Token": ""}):
                async with http.post(url, json=forged, headers=headers) as response:
                    assert response.status == 401
        assert await staff_count(app) == 0
        assert emu.calls("sendMessage") == []

        owner = emu.user(OWNER_ID, "Олена")
        await owner.send("/start")  # through Telegram: delivered with the secret
        await owner.wait_for("Олена")
        assert await staff_count(app) == 1
        assert await emu.wait_webhook_answers(1) == [200]
        assert set(emu.webhook_answers) == {200}


@pytest.mark.parametrize("secret", ["", "too-short"])
async def test_webhook_mode_does_not_start_without_a_real_secret(db_url: str,
                                                                 secret: str) -> None:
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        load_settings(_env_file=None, bot_token=TOKEN, database_url=db_url,
                      webhook_url="https://example.com/hook", webhook_secret=secret)
