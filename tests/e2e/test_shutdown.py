"""`python -m bot` as a process: /healthz answers while it runs; SIGTERM finishes the update in
hand, stops the workers and exits 0; nothing that was sent is lost — what was not taken yet is
handled after the restart, and nothing is applied twice."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from sqlalchemy import select

from db.desk.models import Comment
from db.engine import create_engine, create_session_factory
from keyboards.callbacks import FormAction, FormCb, TicketAction, TicketCb
from tests.e2e_kit import TOKEN
from tests.emulators.telegram import SimUser, run_telegram_emulator
from tests.handler_kit import OWNER_ID
from tests.process_kit import BotProcess, seed_owner_ticket

ROUNDS = 12


async def comments(db_url: str, ticket_id: int) -> list[str]:
    engine = create_engine(db_url)
    try:
        async with create_session_factory(engine)() as session:
            return list(await session.scalars(
                select(Comment.text).where(Comment.ticket_id == ticket_id).order_by(Comment.id)))
    finally:
        await engine.dispose()


async def comment_rounds(user: SimUser, ticket_id: int, rounds: int) -> None:
    """Each round: ✍️ on the card, a text, ✅ Готово — three updates, one comment."""
    for i in range(rounds):
        await user.press_forged(TicketCb(action=TicketAction.COMMENT, id=ticket_id).pack())
        await user.send(f"note {i}")
        await user.press_forged(FormCb(action=FormAction.DONE).pack())


async def test_sigterm_finishes_the_update_in_hand_and_loses_nothing(db_url: str,
                                                                     tmp_path: Path) -> None:
    ticket_id = await seed_owner_ticket(db_url)
    async with run_telegram_emulator(token=TOKEN) as emu:
        bot = BotProcess(emu, db_url, tmp_path)
        await bot.start()
        async with aiohttp.ClientSession() as http, \
                http.get(f"http://127.0.0.1:{bot.web_port}/healthz") as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["status"] == "ok"
        owner = emu.user(OWNER_ID, "Олена")
        await owner.send("/start")
        await owner.wait_for("Олена")
        await comment_rounds(owner, ticket_id, ROUNDS)
        await owner.wait_for("Комментарий к")  # the first update is in hand
        assert await bot.terminate() == 0, bot.last_log()[-3000:]
        assert '"stopped"' in bot.last_log()
        await bot.start()  # what was not confirmed is delivered again
        await emu.wait_confirmed(emu.last_update_id)
        assert await bot.terminate() == 0
    assert await comments(db_url, ticket_id) == [f"note {i}" for i in range(ROUNDS)]
