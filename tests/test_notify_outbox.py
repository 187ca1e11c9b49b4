"""Outbox: enqueue in the caller's transaction, dedup, validation, safe claiming, card state."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.desk.models import Role, Status
from db.desk.tickets import change_status
from db.notify.errors import InvalidMessage, NoRecipient
from db.notify.models import (
    Channel,
    DeliveryAttempt,
    MediaKind,
    MessageKind,
    OutboxMessage,
    OutboxState,
)
from db.notify.outbox import (
    INTERRUPTED,
    claim_due,
    delivery_state,
    enqueue,
    enqueue_for_ticket,
    next_due_at,
    record_attempt,
    retry_failed,
    settle,
    ticket_dedup_key,
)
from db.notify.settings import set_switch
from tests.conftest import backend_name
from tests.factories import make_client, make_staff, make_ticket

LEASE = timedelta(minutes=5)


async def _count(session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as s:
        return await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0


async def test_enqueue_lives_and_dies_with_the_status_change(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        master = await make_staff(s)
        ticket = await make_ticket(s, master)
        statuses = {st.code: st for st in await s.scalars(select(Status))}
    for commit in (False, True):
        async with session_factory() as s:
            await s.begin()
            change = await change_status(s, master, ticket.id, statuses["in_work"].id)
            await enqueue(s, kind=MessageKind.STATUS, text="В роботі", client_id=ticket.client_id,
                          ticket_id=ticket.id,
                          dedup_key=ticket_dedup_key("status", ticket.id, change.id))
            if backend_name() == "postgresql":  # SQLite: a second reader would wait
                assert await _count(session_factory) == 0  # flushed, not committed
            await (s.commit() if commit else s.rollback())
        assert await _count(session_factory) == (1 if commit else 0)


async def test_dedup_key_makes_one_message(session: AsyncSession) -> None:
    client = await make_client(session)
    first = await enqueue(session, kind="ready", text="one", client_id=client.id,
                          dedup_key="ready:t1:5")
    again = await enqueue(session, kind="ready", text="two", client_id=client.id,
                          dedup_key="ready:t1:5")
    other = await enqueue(session, kind="ready", text="three", client_id=client.id)
    assert again.id == first.id and again.text == "one"
    assert other.id != first.id
    assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


async def test_dedup_across_concurrent_transactions(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        client = await make_client(s)

    async def one(text: str) -> int:
        async with session_factory() as s, s.begin():
            message = await enqueue(s, kind="ready", text=text, client_id=client.id,
                                    dedup_key="ready:t9:1")
            await asyncio.sleep(0.01)
            return message.id

    ids = await asyncio.gather(*(one(f"m{i}") for i in range(5)))
    assert len(set(ids)) == 1
    assert await _count(session_factory) == 1


async def test_recipient_comes_from_the_client(session: AsyncSession) -> None:
    client = await make_client(session, "+380671112233")
    client.tg_chat_id = 555
    message = await enqueue(session, kind="custom", text="hi", client_id=client.id)
    assert (message.chat_id, message.phone, message.state) == (555, "+380671112233",
                                                                OutboxState.PENDING)
    staff_note = await enqueue(session, kind="custom", text="to master", chat_id=777)
    assert (staff_note.chat_id, staff_note.phone, staff_note.client_id) == (777, None, None)
    with pytest.raises(NoRecipient):
        await enqueue(session, kind="custom", text="nobody")


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"text": "  "}, "empty_text"),
        ({"text": "x" * 4097}, "text_too_long"),
        ({"text": "x" * 1025, "media_kind": MediaKind.PHOTO, "media_ref": "AgAD"},
         "caption_too_long"),
        ({"text": "x", "media_kind": MediaKind.PHOTO}, "bad_media"),
        ({"text": "x", "buttons": [[{"text": "Ok", "callback_data": "a" * 65}]]},
         "callback_data_too_long"),
        ({"text": "x", "buttons": [[{"text": "Ok"}]]}, "bad_button"),
        ({"text": "x", "buttons": [[{"text": "Ok", "url": "https://x", "callback_data": "y"}]]},
         "bad_button"),
        ({"text": "x", "buttons": [[{"text": "Ok", "url": "javascript:alert(1)"}]]},
         "bad_button"),
        ({"text": "x", "parse_mode": "MarkdownV2"}, "bad_parse_mode"),
    ],
)
async def test_enqueue_refuses_what_telegram_would(
    session: AsyncSession, kwargs: dict[str, Any], reason: str,
) -> None:
    with pytest.raises(InvalidMessage) as err:
        await enqueue(session, kind="custom", chat_id=1, **kwargs)
    assert err.value.reason == reason


async def test_buttons_and_media_are_stored(session: AsyncSession) -> None:
    buttons = [[{"text": "Погодити", "callback_data": "est:1:yes"},
                {"text": "Відмовитись", "callback_data": "est:1:no"}],
               [{"text": "Статус", "url": "https://t.me/bot?start=abc"}]]
    message = await enqueue(session, kind="estimate", text="Кошторис 1 200 грн", chat_id=5,
                            buttons=buttons, media_kind=MediaKind.PHOTO, media_ref="AgADfile")
    await session.commit()
    stored = await session.get(OutboxMessage, message.id)
    assert stored is not None and stored.buttons == buttons
    assert stored.media_kind == MediaKind.PHOTO


async def _seed(session_factory: async_sessionmaker[AsyncSession], count: int) -> list[int]:
    async with session_factory() as s, s.begin():
        ids = []
        for i in range(count):
            ids.append((await enqueue(s, kind="custom", text=f"m{i}", chat_id=100 + i % 7)).id)
        return ids


async def test_concurrent_claims_never_share_a_message(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(session_factory, 60)
    now = utcnow() + timedelta(seconds=1)
    names = [f"w{i}" for i in range(4)]

    async def claim(name: str) -> list[int]:
        async with session_factory() as s, s.begin():
            items = await claim_due(s, worker_id=name, now=now, lease=LEASE, limit=4)
        return [item.id for item in items]

    # Rounds in which the four workers claim at the same time, until a round finds nothing:
    # every round is a real race (on SQLite the write lock orders it, on PostgreSQL SKIP
    # LOCKED), and no worker can take everything before the others start, whatever the load.
    results: dict[str, list[int]] = {name: [] for name in names}
    rounds = 0
    while True:
        batches = await asyncio.gather(*(claim(name) for name in names))
        if not any(batches):
            break
        rounds += 1
        for name, got in zip(names, batches, strict=True):
            results[name] += got
    claimed = [i for got in results.values() for i in got]
    assert sorted(claimed) == sorted(ids)  # everything, each exactly once
    # They really competed: 4 each in every round while 16 were left, 12 in the last one.
    assert rounds == 4
    assert sorted(len(got) for got in results.values()) == [12, 16, 16, 16]


async def test_claim_order_lease_and_reclaim_after_a_crash(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(session_factory, 3)
    now = utcnow() + timedelta(seconds=1)
    async with session_factory() as s, s.begin():
        items = await claim_due(s, worker_id="dead", now=now, lease=LEASE, limit=10)
    assert [i.id for i in items] == ids and not any(i.interrupted for i in items)
    async with session_factory() as s, s.begin():
        assert await claim_due(s, worker_id="other", now=now, lease=LEASE, limit=10) == []
        assert await next_due_at(s) == now + LEASE
    # "dead" never settles; after the lease another worker takes the messages over.
    later = now + LEASE + timedelta(seconds=1)
    async with session_factory() as s, s.begin():
        taken = await claim_due(s, worker_id="heir", now=later, lease=LEASE, limit=10)
    assert [i.id for i in taken] == ids and all(i.interrupted for i in taken)
    async with session_factory() as s:
        attempts = list(await s.scalars(select(DeliveryAttempt)))
        assert [a.error for a in attempts] == [INTERRUPTED] * 3
        # The dead worker's late result is refused: the lease is no longer its own.
        assert not await settle(s, ids[0], worker_id="dead", state=OutboxState.SENT)
        assert await settle(s, ids[0], worker_id="heir", state=OutboxState.SENT)
        await s.commit()


async def test_delivery_state_for_the_ticket_card(session: AsyncSession) -> None:
    master = await make_staff(session)
    ticket = await make_ticket(session, master)
    now = utcnow()
    kinds = ["intake", "status", "ready", "reminder"]
    messages = [await enqueue(session, kind=k, text=k, client_id=ticket.client_id,
                              ticket_id=ticket.id, now=now + timedelta(seconds=i))
                for i, k in enumerate(kinds)]
    await session.commit()
    claimed = await claim_due(session, worker_id="w", now=now + timedelta(seconds=9),
                              lease=LEASE, limit=3)
    assert [c.kind for c in claimed] == ["intake", "status", "ready"]
    intake, status, ready = (m.id for m in messages[:3])
    record_attempt(session, intake, channel=Channel.TELEGRAM, ok=True, provider_message_id="7")
    await settle(session, intake, worker_id="w", state=OutboxState.SENT,
                 channel=Channel.TELEGRAM, sent_at=now)
    record_attempt(session, status, channel=Channel.TELEGRAM, ok=False,
                   error="telegram 403: Forbidden: bot was blocked by the user")
    record_attempt(session, status, channel=Channel.SMS, ok=True, provider_message_id="s1")
    await settle(session, status, worker_id="w", state=OutboxState.SENT, channel=Channel.SMS,
                 sent_at=now)
    await settle(session, ready, worker_id="w", state=OutboxState.FAILED, channel=Channel.SMS,
                 last_error="turbosms: 404 (phone number is in the stop list)")
    await session.commit()
    card = await delivery_state(session, ticket.id)
    assert [(d.kind, d.outcome) for d in card] == [
        ("reminder", "pending"), ("ready", "failed"), ("status", "sms"), ("intake", "telegram")]
    assert "stop list" in (card[1].error or "") and card[1].telegram_error is None
    assert "blocked" in (card[2].telegram_error or "") and card[2].error is None
    assert card[0].next_attempt_at is not None and card[3].attempts == 1
    assert await retry_failed(session, ready)
    await session.commit()
    assert (await delivery_state(session, ticket.id))[1].outcome == "pending"


async def test_enqueue_for_ticket_keys_by_event_and_respects_switches(
    session: AsyncSession,
) -> None:
    master = await make_staff(session)
    ticket = await make_ticket(session, master)
    first = await enqueue_for_ticket(session, ticket.id, kind="status", text="В роботі",
                                     event=41)
    assert first is not None and first.client_id == ticket.client_id
    assert first.dedup_key == f"status:t{ticket.id}:41"
    again = await enqueue_for_ticket(session, ticket.id, kind="status", text="x", event=41)
    assert again is not None and again.id == first.id
    await set_switch(session, await make_staff(session, Role.OWNER), "status", False)
    assert await enqueue_for_ticket(session, ticket.id, kind="status", text="x", event=42) is None
    forced = await enqueue_for_ticket(session, ticket.id, kind="status", text="x", event=None,
                                      respect_switch=False)
    assert forced is not None and forced.dedup_key is None
