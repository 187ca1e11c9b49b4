"""Run the real application (`bot.app.Application`, as `python -m bot` does) polling the Bot API
emulator over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from bot.app import Application
from bot.config import Settings
from tests.emulators.telegram import TelegramEmulator, run_telegram_emulator
from tests.handler_kit import test_settings

TOKEN = "123456789:AAE_test-token-for-the-local-emulator"


@asynccontextmanager
async def live_bot(
    db_url: str, *, background: bool = True,
    prepare: Callable[[TelegramEmulator], None] | None = None, **overrides: Any
) -> AsyncIterator[tuple[TelegramEmulator, Application]]:
    """`prepare` sets the emulator up (faults, users) before the app makes its first call."""
    async with run_telegram_emulator(token=TOKEN) as emu:
        if prepare is not None:
            prepare(emu)
        settings: Settings = test_settings(
            bot_token=TOKEN, telegram_api_url=emu.base_url, database_url=db_url,
            **overrides)
        app = Application(settings)
        await app.start()
        if background:
            await app.start_background()
        stop = asyncio.Event()
        task = asyncio.create_task(app.run_polling(stop))
        try:
            await emu.wait_polling()
            yield emu, app
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await app.stop()
