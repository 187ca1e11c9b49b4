"""Reminders for ready devices not collected: once per N days per ticket, capped, switchable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.desk.models import Role, Staff, Status
from db.desk.tickets import change_status
from db.notify.models import OutboxMessage
from db.notify.settings import set_reminder, set_switch
from db.notify.templates import ShopInfo
from scheduler.notifications import enqueue_ready_reminders
from tests.factories import make_client, make_staff, make_ticket

SHOP = ShopInfo("Гвинтик", "вул. Соборна, 12", "+380 67 123 4567")


async def _ready_ticket(sf: async_sessionmaker[AsyncSession], since: object) -> tuple[int, int]:
    async with sf() as s, s.begin():
        master = await make_staff(s)
        ticket = await make_ticket(s, master, await make_client(s, name="Іван"))
        statuses = {st.code: st.id for st in await s.scalars(select(Status))}
        for code in ("in_work", "ready"):
            await change_status(s, master, ticket.id, statuses[code], now=since)  # type: ignore[arg-type]
        return ticket.id, master.id


async def _reminders(sf: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sf() as s:
        return list(await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")
                                    .order_by(OutboxMessage.id)))


async def test_reminder_once_per_period_and_capped(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    start = utcnow() - timedelta(days=30)
    ticket_id, _ = await _ready_ticket(session_factory, start)

    async def run(days_later: float) -> int:
        return await enqueue_ready_reminders(session_factory, start + timedelta(days=days_later),
                                             shop=SHOP, amount_due=amount)

    async def amount(session: AsyncSession, tid: int) -> int | None:
        assert tid == ticket_id
        return 50000

    assert await run(2.9) == 0  # not yet
    assert await run(3.0) == 1
    assert await run(3.5) == 0 and await run(5.9) == 0  # same period, twice: nothing new
    assert await run(6.1) == 1
    assert await run(9.0) == 1
    assert await run(12.0) == 0  # at most 3 (notify.reminder_max)
    sent = await _reminders(session_factory)
    assert len(sent) == 3 and all(m.ticket_id == ticket_id for m in sent)
    text = sent[0].text
    assert text.startswith("Вітаємо, Іван!\nНагадуємо: ремонт за зверненням №")
    assert "500,00 грн" in text and "вул. Соборна, 12" in text


async def test_reminders_follow_settings_and_status(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    start = utcnow() - timedelta(days=10)
    ticket_id, master_id = await _ready_ticket(session_factory, start)
    async with session_factory() as s, s.begin():
        owner = await make_staff(s, Role.OWNER)
        await set_switch(s, owner, "reminder", False)
    assert await enqueue_ready_reminders(session_factory, start + timedelta(days=4),
                                         shop=SHOP) == 0
    async with session_factory() as s, s.begin():
        owner = await s.merge(owner)
        await set_switch(s, owner, "reminder", True)
        await set_reminder(s, owner, days=5)
    assert await enqueue_ready_reminders(session_factory, start + timedelta(days=4),
                                         shop=SHOP) == 0
    assert await enqueue_ready_reminders(session_factory, start + timedelta(days=5),
                                         shop=SHOP) == 1
    statuses = await _status_ids(session_factory)
    # Back to work and ready again on day 6: a new series, counted from then.
    async with session_factory() as s, s.begin():
        master = await s.get(Staff, master_id)
        for code in ("in_work", "ready"):
            await change_status(s, master, ticket_id, statuses[code],
                                now=start + timedelta(days=6))
    assert await enqueue_ready_reminders(session_factory, start + timedelta(days=10),
                                         shop=SHOP) == 0
    assert await enqueue_ready_reminders(session_factory, start + timedelta(days=11),
                                         shop=SHOP) == 1
    # Handed over: no more reminders.
    async with session_factory() as s, s.begin():
        await change_status(s, await s.get(Staff, master_id), ticket_id, statuses["issued"],
                            now=start + timedelta(days=12))
    assert await enqueue_ready_reminders(session_factory, start + timedelta(days=20),
                                         shop=SHOP) == 0
    assert len(await _reminders(session_factory)) == 2


async def _status_ids(sf: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sf() as s:
        return {st.code: st.id for st in await s.scalars(select(Status))}
