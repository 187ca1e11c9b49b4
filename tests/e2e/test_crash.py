"""The real process killed with SIGKILL at random moments and right after it confirmed
something, then restarted, again and again: every confirmation a person saw is backed by the
database, no update is lost and none is applied twice.

The staff member's updates are queued at the Bot API emulator up front (as a busy desk types
ahead); Telegram keeps every update the bot has not confirmed and offers it again after a
restart. Each round is three updates — ✍️ on the card, a text, ✅ Готово — and makes one
comment, so exactly-once shows in the comments themselves."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path

from db.engine import create_engine, create_session_factory
from keyboards.callbacks import FormAction, FormCb, TicketAction, TicketCb
from tests.e2e_kit import TOKEN
from tests.emulators.telegram import BotMessage, SimUser, TelegramEmulator, run_telegram_emulator
from tests.handler_kit import OWNER_ID
from tests.process_kit import BotProcess, comments_and_applied, seed_owner_ticket

ROUNDS = 30
KILLS = 20
SAVED = "✅ Комментарий сохранён."


@dataclass
class Outcome:
    comments: list[str]
    applied: int  # updates recorded as applied
    saved_shown: int  # "comment saved" confirmations the person saw
    cards_shown: list[int] = field(default_factory=list)  # comment counts on cards shown


async def outcome(db_url: str, ticket_id: int, user: SimUser, first: int, last: int) -> Outcome:
    engine = create_engine(db_url)
    try:
        async with create_session_factory(engine)() as session:
            comments, applied = await comments_and_applied(session, ticket_id, first, last)
    finally:
        await engine.dispose()
    texts = [m.text or "" for m in user.messages()]
    cards = [int(t.split("💬 Комментарии: ")[1].split()[0]) for t in texts
             if "💬 Комментарии: " in t]
    return Outcome(comments, applied or 0, sum(t == SAVED for t in texts), cards)


async def queue_rounds(user: SimUser, ticket_id: int) -> None:
    for i in range(ROUNDS):
        await user.press_forged(TicketCb(action=TicketAction.COMMENT, id=ticket_id).pack())
        await user.send(f"note {i}")
        await user.press_forged(FormCb(action=FormAction.DONE).pack())


def confirmation(message: BotMessage) -> bool:
    return message.text == SAVED


async def kill_soon(bot: BotProcess, emu: TelegramEmulator, user: SimUser, rnd: random.Random,
                    right_after_reply: bool) -> None:
    """SIGKILL the bot right after its next confirmation, or after a random short while."""
    if right_after_reply:
        waiter = asyncio.ensure_future(user.wait_for(confirmation, timeout=30))
        with_progress = asyncio.ensure_future(emu.wait_confirmed(emu.last_update_id, 30))
        await asyncio.wait({waiter, with_progress}, return_when=asyncio.FIRST_COMPLETED)
        for task in (waiter, with_progress):
            task.cancel()
        await asyncio.gather(waiter, with_progress, return_exceptions=True)
    else:
        await asyncio.sleep(rnd.uniform(0.05, 1.5))
    await bot.kill()


async def test_kills_never_show_unsaved_data_and_lose_or_repeat_nothing(
    db_url: str, tmp_path: Path,
) -> None:
    ticket_id = await seed_owner_ticket(db_url)
    rnd = random.Random(20261201)
    async with run_telegram_emulator(token=TOKEN) as emu:
        bot = BotProcess(emu, db_url, tmp_path)
        owner = emu.user(OWNER_ID, "Олена")
        await bot.start()
        await owner.send("/start")
        await owner.wait_for("Олена")
        first = emu.last_update_id + 1
        await queue_rounds(owner, ticket_id)
        last = emu.last_update_id
        for kill in range(KILLS):
            await kill_soon(bot, emu, owner, rnd, right_after_reply=kill % 2 == 0)
            await bot.start()
        await emu.wait_confirmed(emu.last_update_id, timeout=120)
        assert await bot.terminate() == 0
    result = await outcome(db_url, ticket_id, owner, first, last)
    assert result.comments == [f"note {i}" for i in range(ROUNDS)]  # none lost, none twice
    assert result.applied == last - first + 1  # every update sent was applied, once
    assert result.saved_shown <= ROUNDS  # a confirmation only for a comment that exists
    assert result.cards_shown == sorted(result.cards_shown)
    assert all(count <= ROUNDS for count in result.cards_shown)
