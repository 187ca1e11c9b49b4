"""Two real `python -m bot` processes on one PostgreSQL database and one Redis, against the Bot
API and Checkbox emulators: one polls, the other stands by; every update is handled once; the
leader is killed with SIGKILL and the other takes over and carries on; the client's
notification goes once, the fiscal receipt is made once, the overdue shift is closed once (the
start-up catch-up of the shift auto-close, run by both at once) and the owners' digest goes
once. Counts are exact.

PostgreSQL and Redis only (TEST_DATABASE_URL, TEST_REDIS_URL): on SQLite there is one instance
by design."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.desk.models import Client, Role, Status
from db.desk.tickets import change_status
from db.engine import create_engine, create_session_factory
from db.money.models import FiscalState, Receipt, Shift, ShiftStatus
from db.money.payments import PayPart, pay_receipt
from db.notify.models import OutboxMessage, OutboxState
from keyboards.callbacks import FormAction, FormCb, TicketAction, TicketCb
from tests.conftest import backend_name
from tests.e2e_kit import TOKEN
from tests.emulators.checkbox import CheckboxEmulator
from tests.emulators.telegram import BotMessage, SimUser, TelegramEmulator, run_telegram_emulator
from tests.factories import make_client, make_staff, make_ticket
from tests.handler_kit import OWNER_ID
from tests.process_kit import BotProcess, comments_and_applied
from tests.test_money_support import cash_type, receipt_for

log = logging.getLogger(__name__)

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
pytestmark = pytest.mark.skipif(
    backend_name() != "postgresql" or not REDIS_URL,
    reason="several instances need PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL)")

CLIENT_ID = 880001
LICENSE, PIN = "lic-two-instances", "4321"
ROUNDS_BEFORE, ROUNDS_AFTER = 6, 6
SAVED = "✅ Комментарий сохранён."
STARTUP = 300.0  # seconds: two interpreters starting at once on a loaded machine


async def seed(db_url: str) -> tuple[int, str]:
    """The owner; a linked client with a ticket in work; a shift left open since an earlier
    day holding a paid sale that waits for the PRRO. Returns (ticket id, the sale's fiscal
    id)."""
    engine = create_engine(db_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            owner = await make_staff(session, Role.OWNER, tg_user_id=OWNER_ID, name="Олена")
            client = await make_client(session, "+380671112233", name="Оксана")
            client.tg_chat_id = CLIENT_ID
            ticket = await make_ticket(session, owner, client, master_id=owner.id)
            for code in ("diagnostics", "in_work"):
                status = await session.scalar(select(Status.id).where(Status.code == code))
                assert status is not None
                await change_status(session, owner, ticket.id, status)
            sale = await receipt_for(session, owner, 45000)  # its shift opens on 2 March 2026
            cash = await cash_type(session)
            paid = await pay_receipt(session, owner, sale.id, [PayPart(cash.id, 45000, None)],
                                     now=sale.created_at, fiscal=True)
            return ticket.id, str(paid.receipt.fiscal_id)
    finally:
        await engine.dispose()


async def until(check: Callable[[], Awaitable[bool] | bool], what: str,
                timeout: float = 120.0) -> None:  # noqa: ASYNC109
    """Wait for a condition that an event outside this process makes true (a DB row, a log
    line), checking often; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        await asyncio.sleep(0.1)


async def comment_round(owner: SimUser, ticket_id: int, i: int) -> None:
    await owner.press_forged(TicketCb(action=TicketAction.COMMENT, id=ticket_id).pack())
    await owner.wait_for("Комментарий к", timeout=STARTUP)
    await owner.send(f"note {i}")
    await owner.press_forged(FormCb(action=FormAction.DONE).pack())
    await owner.wait_for(SAVED, timeout=STARTUP)


def z_reports(checkbox: CheckboxEmulator) -> int:
    return sum(shift.z_report is not None for shift in checkbox._shifts.values())


def is_digest_chart(message: BotMessage) -> bool:
    return message.method == "sendPhoto"


class Instances:
    """The two processes, each with its own log folder and web port."""

    def __init__(self, emu: TelegramEmulator, db_url: str, tmp_path: Path, env: dict[str, str]
                 ) -> None:
        self.procs = []
        for name in ("a", "b"):
            folder = tmp_path / name
            folder.mkdir()
            self.procs.append(BotProcess(emu, db_url, folder, env=dict(env)))

    def standing_by(self) -> list[BotProcess]:
        return [p for p in self.procs if "standing by" in p.last_log()]

    async def stop_all(self) -> None:
        for proc in self.procs:
            await proc.kill()


async def db_counts(db_url: str, ticket_id: int, first_update: int, last_update: int
                    ) -> dict[str, object]:
    engine = create_engine(db_url)
    try:
        async with create_session_factory(engine)() as session:
            comments, applied = await comments_and_applied(session, ticket_id, first_update,
                                                            last_update)
            client_id = await session.scalar(select(Client.id).where(
                Client.tg_chat_id == CLIENT_ID))
            outbox = list(await session.scalars(
                select(OutboxMessage.state).where(OutboxMessage.client_id == client_id)))
            closed = await session.scalar(select(func.count()).select_from(Shift)
                                          .where(Shift.status == ShiftStatus.CLOSED))
            fiscal_done = await session.scalar(
                select(func.count()).select_from(Receipt)
                .where(Receipt.fiscal_state == FiscalState.DONE))
    finally:
        await engine.dispose()
    return {"comments": comments, "applied": applied, "outbox": outbox, "closed": closed,
            "fiscal_done": fiscal_done}


async def shift_closed(db_url: str) -> bool:
    engine = create_engine(db_url)
    try:
        async with create_session_factory(engine)() as session:
            return bool(await session.scalar(select(func.count()).select_from(Shift)
                                             .where(Shift.status == ShiftStatus.CLOSED)))
    finally:
        await engine.dispose()


async def test_two_instances_share_one_database_and_do_everything_once(
    db_url: str, tmp_path: Path,
) -> None:
    ticket_id, fiscal_id = await seed(db_url)
    checkbox = CheckboxEmulator(license_key=LICENSE, pin_code=PIN)
    # A bot of its own: its forms' Redis keys carry its id, so another run of this test at the
    # same time (two suites on one machine share Redis) cannot clear this one's forms.
    token = f"{random.randint(10**8, 10**9 - 1)}:{TOKEN.split(':', 1)[1]}"
    async with checkbox.serve() as checkbox_url, run_telegram_emulator(token=token) as emu:
        owner = emu.user(OWNER_ID, "Олена")
        client = emu.user(CLIENT_ID, "Оксана", language_code="uk")
        client.open_chat()
        owner.open_chat()
        env = {"BOT_TOKEN": token, "REDIS_URL": REDIS_URL, "FISCAL_PROVIDER": "checkbox",
               "CHECKBOX_API_URL": checkbox_url, "CHECKBOX_LICENSE_KEY": LICENSE,
               "CHECKBOX_PIN_CODE": PIN, "SHIFT_AUTOCLOSE_AT": "23:50",
               "DIGEST_CHECK_SECONDS": "2"}
        two = Instances(emu, db_url, tmp_path, env)
        try:
            # Both start at once: both run the start-up shift catch-up and both fiscal workers
            # and digest checks race; one of them gets to poll.
            await asyncio.gather(*(p.start() for p in two.procs))
            await until(lambda: len(two.standing_by()) == 1, "one instance stands by", STARTUP)
            standby = two.standing_by()[0]
            leader = next(p for p in two.procs if p is not standby)

            # The overdue shift: closed once (Z at the PRRO, after its sale was fiscalized);
            # then the owners' digest of that shift, once.
            await owner.wait_for("закрыта", timeout=STARTUP)
            await owner.wait_for(is_digest_chart, timeout=STARTUP)
            await until(lambda: shift_closed(db_url), "the shift is closed")

            await owner.send("/start")
            await owner.wait_for("Олена", timeout=STARTUP)
            first_update = emu.last_update_id
            for i in range(ROUNDS_BEFORE):
                await comment_round(owner, ticket_id, i)

            await leader.kill()  # SIGKILL: no goodbye, its database connections just drop
            killed_at = time.monotonic()
            await comment_round(owner, ticket_id, ROUNDS_BEFORE)
            takeover = time.monotonic() - killed_at
            assert "took over polling" in standby.last_log()
            for i in range(ROUNDS_BEFORE + 1, ROUNDS_BEFORE + ROUNDS_AFTER):
                await comment_round(owner, ticket_id, i)

            # "Ready" in two taps, handled by the survivor; the client is told once.
            await owner.send("/ticket 1")
            await owner.wait_for("[1]", timeout=STARTUP)
            await owner.tap("✅ Можно забирать")
            await owner.wait_for("Сообщить клиенту", timeout=STARTUP)
            await owner.tap("📨 Можно забирать")  # the template, named in the staff language
            await client.wait_for(lambda m: True, timeout=STARTUP)
            last_update = emu.last_update_id
            await emu.wait_confirmed(last_update, timeout=STARTUP)
            assert await standby.terminate() == 0, standby.last_log()[-3000:]
        finally:
            await two.stop_all()

        counts = await db_counts(db_url, ticket_id, first_update, last_update)
        to_owner = owner.messages()
        print(f"two instances: takeover after SIGKILL {takeover:.1f} s; updates "
              f"{last_update - first_update + 1} sent and confirmed, {counts['applied']} wrote; "
              f"comments "
              f"{len(counts['comments'])}; client messages {len(client.messages())}; fiscal "
              f"receipts {sum(checkbox.fiscalized.values())}; PRRO Z-reports "
              f"{z_reports(checkbox)}; "
              f"shifts closed {counts['closed']}; digests "
              f"{sum(is_digest_chart(m) for m in to_owner)}")

    total = ROUNDS_BEFORE + ROUNDS_AFTER
    assert counts["comments"] == [f"note {i}" for i in range(total)]  # none lost, none twice
    # Updates that wrote to the database are recorded once each (db.updates, in their own
    # transaction): every ✅ Готово (a comment), the status set and the notice queued. The
    # others (/start, ✍️, the texts: form state in Redis) left nothing to record.
    assert counts["applied"] == total + 2
    assert sum(m.text == SAVED for m in to_owner) == total
    assert len(client.messages()) == 1 and counts["outbox"] == [OutboxState.SENT]
    assert checkbox.fiscalized == {fiscal_id: 1}  # one fiscal receipt for the one sale
    assert counts["fiscal_done"] == 1
    assert counts["closed"] == 1 and z_reports(checkbox) == 1
    assert sum("закрыта" in (m.text or "") for m in to_owner) == 1  # one Z announced
    assert sum(is_digest_chart(m) for m in to_owner) == 1  # one digest
    assert takeover < 60
