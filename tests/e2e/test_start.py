"""Start-up: polling begins without waiting for the command menus, a Bot API that refuses the
menus leaves the bot running, and the collector is back on once the bot is up."""

from __future__ import annotations

import gc
import logging
import subprocess
import sys

import pytest
from aiogram.types import BotCommandScopeDefault

from bot.app import settle_heap
from tests.e2e_kit import live_bot
from tests.emulators.telegram import TelegramEmulator
from tests.handler_kit import OWNER_ID


def slow_menus(emu: TelegramEmulator) -> None:
    emu.fail_next("setMyCommands", status=0, delay=3600)  # answers in an hour


def refused_menus(emu: TelegramEmulator) -> None:
    emu.fail_next("setMyCommands", status=400, description="Bad Request: something changed")


async def test_updates_are_answered_while_the_menus_are_being_set(db_url: str) -> None:
    async with live_bot(db_url, background=False, prepare=slow_menus) as (emu, app):
        owner = emu.user(OWNER_ID, "Олег", "Власник")
        await owner.send("/start")
        await owner.wait_for("владелец")
        assert app.menus is not None and not app.menus.done()
        assert emu.commands(BotCommandScopeDefault()) == []
    assert app.menus.cancelled()  # stop() does not wait an hour for them


async def test_refused_menus_are_logged_and_the_bot_runs_on(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    async with live_bot(db_url, background=False, prepare=refused_menus) as (emu, app):
        assert app.menus is not None
        await app.menus
        assert "command menus not set" in caplog.text
        owner = emu.user(OWNER_ID, "Олег", "Власник")
        await owner.send("/start")
        await owner.wait_for("владелец")
        assert emu.commands(BotCommandScopeDefault()) == []


def test_the_collector_is_back_on_with_the_start_up_heap_frozen() -> None:
    gc.disable()  # as `python -m bot` starts
    try:
        settle_heap()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_importing_the_entry_point_leaves_the_collector_alone() -> None:
    """Only `python -m bot` starts without collections; tests and bench.app_runner import it."""
    code = "import gc, bot.__main__; print(gc.isenabled())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"
