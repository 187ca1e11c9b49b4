"""Chats in parallel through the real app: while one chat's answer waits on Telegram, another
chat is answered (no update holds the database, nor the polling, over a network wait)."""

from __future__ import annotations

import asyncio

from tests.e2e_kit import live_bot
from tests.handler_kit import OWNER_ID

STRANGER = 4242


async def test_a_held_answer_in_one_chat_holds_up_no_other(db_url: str) -> None:
    held, reached = asyncio.Event(), asyncio.Event()
    async with live_bot(db_url, background=False) as (emu, _app):
        owner = emu.user(OWNER_ID, "Олег", "Власник")
        stranger = emu.user(STRANGER, "Інна", "Клієнтка")
        await owner.send("/start")
        await owner.wait_for("владелец")
        answered = len(owner.messages())
        emu.fail_next("sendMessage", status=0, hold=held, reached=reached)
        await owner.send("/help")
        await asyncio.wait_for(reached.wait(), 30)  # the owner's answer is on its way, held
        try:
            await stranger.send("/start")
            await stranger.wait_for(lambda _m: True, timeout=15)
            assert len(owner.messages()) == answered  # the /help answer is still held
        finally:
            held.set()
        await owner.wait_for("/ticket")  # the /help answer, once let through
