"""Start-up: polling begins without waiting for the command menus, and a Bot API that refuses
the menus leaves the bot running."""

from __future__ import annotations

import logging

import pytest
from aiogram.types import BotCommandScopeDefault

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
