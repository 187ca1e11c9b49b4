"""The outbox worker end to end: real HTTP to the Bot API and TurboSMS emulators, a real DB.

Telegram first; SMS on 403 / no chat / chat not found / Telegram failing for good; 429 honoured;
transient failures retried with backoff; every attempt recorded; never sent twice (two workers,
a restart, a crash)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods import SendMessage
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.views.sms_text import sms_text
from bot.workers.outbox import DeliveryPolicy, DrainStats, OutboxWorker
from db.base import utcnow
from db.desk.models import Client
from db.engine import create_engine, create_session_factory
from db.notify.models import (
    Channel,
    DeliveryAttempt,
    MediaKind,
    OutboxMessage,
    OutboxState,
)
from db.notify.outbox import (
    OutboxItem,
    attempts_of,
    claim_due,
    count_unfinished,
    delivery_state,
    enqueue,
)
from sms import LogSmsProvider, SmsProvider, SmsResult, TurboSmsProvider
from tests.emulators.sms import TurboSmsEmulator
from tests.emulators.telegram import DEFAULT_TOKEN, TelegramEmulator, run_telegram_emulator
from tests.factories import make_client, make_staff, make_ticket
from tests.mocked_bot import MockedBot

PHONE = "+380671234567"
CHAT = 700001
FAST = DeliveryPolicy(
    rate=500.0, per_chat_interval=0.0, batch_size=20, lease=timedelta(seconds=60),
    send_timeout=5.0, telegram_retries=3, sms_retries=3, backoff_base=0.05, backoff_max=0.2,
    poll_interval=0.05,
)


class FakeClock:
    """A clock for the worker that stands still until `advance` moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# A bound that only ends a hung test: waits end on events, never on the clock.
PATIENT = 30.0
BUTTONS = [[{"text": "Статус", "url": "https://t.me/servicedesk_test_bot?start=tok"}]]


class RecordingSms(SmsProvider):
    name = "fake"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, phone_e164: str, text: str) -> SmsResult:
        self.sent.append((phone_e164, text))
        return SmsResult.sent(self.name, f"fake-{len(self.sent)}")


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with run_telegram_emulator() as emulator:
        yield emulator


def http_bot(emu: TelegramEmulator) -> Bot:
    # As in production (bot/app.py): HTML by default, which plain-text messages must escape.
    return Bot(DEFAULT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)),
               default=DefaultBotProperties(parse_mode=ParseMode.HTML))


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    bot = http_bot(emu)
    yield bot
    await bot.session.close()


@pytest.fixture
async def turbo() -> AsyncIterator[tuple[TurboSmsEmulator, TurboSmsProvider]]:
    async with TurboSmsEmulator(token="t0k") as gateway:
        provider = TurboSmsProvider(token="t0k", sender="Shop", api_url=gateway.api_url)
        yield gateway, provider
        await provider.aclose()


async def _client(
    sf: async_sessionmaker[AsyncSession], chat_id: int | None = CHAT, phone: str = PHONE,
) -> int:
    async with sf() as s, s.begin():
        client = await make_client(s, phone)
        client.tg_chat_id = chat_id
        return client.id


async def _enqueue(sf: async_sessionmaker[AsyncSession], **kwargs: Any) -> int:
    async with sf() as s, s.begin():
        return (await enqueue(s, **kwargs)).id


async def _get_client(s: AsyncSession, client_id: int | None) -> Client:
    client = await s.get(Client, client_id)
    assert client is not None
    return client


async def _message(sf: async_sessionmaker[AsyncSession], outbox_id: int) -> OutboxMessage:
    async with sf() as s:
        message = await s.get(OutboxMessage, outbox_id)
        assert message is not None
        return message


async def _attempts(sf: async_sessionmaker[AsyncSession], outbox_id: int) -> list[tuple]:
    async with sf() as s:
        return [(a.channel, a.ok, a.error) for a in await attempts_of(s, outbox_id)]


async def test_telegram_first(
    session_factory: async_sessionmaker[AsyncSession], emu: TelegramEmulator, bot: Bot,
) -> None:
    user = emu.user(CHAT, "Іван")
    user.open_chat()
    client_id = await _client(session_factory)
    outbox_id = await _enqueue(session_factory, kind="ready", text="Можна забирати <3 & <b>ok",
                               client_id=client_id, buttons=BUTTONS)
    sms = RecordingSms()
    stats = await OutboxWorker(session_factory, bot, sms, policy=FAST).run_once()
    assert (stats.claimed, stats.sent_telegram, stats.sent_sms) == (1, 1, 0)
    seen = user.last_message()
    assert seen is not None and seen.text == "Можна забирати <3 & <b>ok"  # plain, not parsed
    assert seen.buttons == ["Статус"]
    message = await _message(session_factory, outbox_id)
    assert (message.state, message.channel, message.attempts) == (
        OutboxState.SENT, Channel.TELEGRAM, 1)
    assert message.provider_message_id == str(seen.message_id) and message.sent_at
    assert await _attempts(session_factory, outbox_id) == [(Channel.TELEGRAM, True, None)]
    assert sms.sent == []


async def test_photo_and_document_with_caption(
    session_factory: async_sessionmaker[AsyncSession], emu: TelegramEmulator, bot: Bot,
) -> None:
    user = emu.user(CHAT)
    user.open_chat()
    await _enqueue(session_factory, kind="receipt", text="Чек №5", chat_id=CHAT,
                   media_kind=MediaKind.DOCUMENT, media_ref="https://example.com/r/5.pdf")
    await _enqueue(session_factory, kind="custom", text="Фото", chat_id=CHAT,
                   media_kind=MediaKind.PHOTO, media_ref="https://example.com/p/1.jpg")
    await OutboxWorker(session_factory, bot, RecordingSms(), policy=FAST).run_once()
    methods = [(m.method, m.caption) for m in user.messages()]
    assert methods == [("sendDocument", "Чек №5"), ("sendPhoto", "Фото")]


async def test_blocked_client_gets_sms_through_turbosms(
    session_factory: async_sessionmaker[AsyncSession], emu: TelegramEmulator, bot: Bot,
    turbo: tuple[TurboSmsEmulator, TurboSmsProvider],
) -> None:
    gateway, provider = turbo
    emu.user(CHAT).open_chat()
    emu.block(CHAT)
    async with session_factory() as s, s.begin():
        ticket = await make_ticket(s, await make_staff(s), await make_client(s, PHONE))
        (await _get_client(s, ticket.client_id)).tg_chat_id = CHAT
    text = "Вітаємо, Іван!\n\nРемонт завершено, можна забирати."
    outbox_id = await _enqueue(session_factory, kind="ready", text=text, buttons=BUTTONS,
                               client_id=ticket.client_id, ticket_id=ticket.id)
    stats = await OutboxWorker(session_factory, bot, provider, policy=FAST).run_once()
    assert (stats.sent_telegram, stats.sent_sms) == (0, 1)

    [request] = gateway.requests
    assert (request.method, request.path) == ("POST", "/message/send.json")
    assert request.headers["Authorization"] == "Bearer t0k"
    assert request.json == {"recipients": ["380671234567"], "sms": {
        "sender": "Shop", "text": "Вітаємо, Іван!\nРемонт завершено, можна забирати."}}
    gateway.assert_no_violations()

    message = await _message(session_factory, outbox_id)
    assert (message.state, message.channel) == (OutboxState.SENT, Channel.SMS)
    assert message.provider_message_id == gateway.sent[0].message_id
    assert message.last_error is None
    assert await _attempts(session_factory, outbox_id) == [
        (Channel.TELEGRAM, False, "telegram 403: Forbidden: bot was blocked by the user"),
        (Channel.SMS, True, None)]
    async with session_factory() as s:
        [card] = await delivery_state(s, ticket.id)
        assert (card.outcome, card.attempts, card.error, card.no_chat) == ("sms", 2, None, False)
        assert card.telegram_error == "telegram 403: Forbidden: bot was blocked by the user"
        assert (await _get_client(s, ticket.client_id)).tg_chat_id is None

    # The chat is unlinked: the next message goes straight to SMS, Telegram is not bothered.
    calls = len(emu.requests)
    await _enqueue(session_factory, kind="reminder", text="Нагадування",
                   client_id=ticket.client_id)
    await OutboxWorker(session_factory, bot, provider, policy=FAST).run_once()
    assert len(emu.requests) == calls and len(gateway.sent) == 2


async def test_no_chat_goes_by_sms_without_buttons(
    session_factory: async_sessionmaker[AsyncSession], emu: TelegramEmulator, bot: Bot,
    turbo: tuple[TurboSmsEmulator, TurboSmsProvider],
) -> None:
    gateway, provider = turbo
    client_id = await _client(session_factory, chat_id=None)
    outbox_id = await _enqueue(session_factory, kind="intake", text="Прийнято №1",
                               client_id=client_id, buttons=BUTTONS,
                               sms_text="Прийнято №1. Статус: t.me/x?start=tok")
    await OutboxWorker(session_factory, bot, provider, policy=FAST).run_once()
    assert emu.requests == []
    assert [(s.phone, s.text) for s in gateway.sent] == [
        ("380671234567", "Прийнято №1. Статус: t.me/x?start=tok")]
    assert await _attempts(session_factory, outbox_id) == [(Channel.SMS, True, None)]


async def test_chat_not_found_falls_back_to_sms(
    session_factory: async_sessionmaker[AsyncSession], bot: Bot,
) -> None:
    client_id = await _client(session_factory, chat_id=31337)  # never wrote to this bot
    outbox_id = await _enqueue(session_factory, kind="ready", text="Готово",
                               client_id=client_id)
    sms = RecordingSms()
    await OutboxWorker(session_factory, bot, sms, policy=FAST).run_once()
    assert sms.sent == [(PHONE, "Готово")]
    assert (await _attempts(session_factory, outbox_id))[0][2] == \
        "telegram 400: Bad Request: chat not found"


async def test_retry_after_is_honoured_in_order_without_duplicates(
    session_factory: async_sessionmaker[AsyncSession], emu: TelegramEmulator, bot: Bot,
) -> None:
    user = emu.user(CHAT)
    user.open_chat()
    emu.rate_limit(CHAT, count=1, retry_after=1)
    client_id = await _client(session_factory)
    first = await _enqueue(session_factory, kind="status", text="first", client_id=client_id)
    await _enqueue(session_factory, kind="ready", text="second", client_id=client_id)
    worker = OutboxWorker(session_factory, bot, RecordingSms(), policy=FAST)
    started = time.monotonic()
    stats = await worker.drain(timeout=PATIENT)
    assert time.monotonic() - started >= 1.0  # waited retry_after
    assert [m.text for m in user.messages()] == ["first", "second"]  # once each, in order
    assert stats.rate_limited == 1 and stats.sent_telegram == 2 and stats.deferred == 1
    assert emu.stats.too_many_requests == 1
    assert await _attempts(session_factory, first) == [
        (Channel.TELEGRAM, False, "telegram 429: retry after 1s"),
        (Channel.TELEGRAM, True, None)]
    assert worker.limiter.rate < FAST.rate  # slowed down


async def test_transient_failures_back_off_then_succeed(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    bot = MockedBot()
    for _ in range(2):
        bot.session.add_error(SendMessage, 502, "Bad Gateway")
    client_id = await _client(session_factory)
    outbox_id = await _enqueue(session_factory, kind="ready", text="Готово",
                               client_id=client_id)
    clock = FakeClock(utcnow())  # the worker's time moves only when the test moves it
    worker = OutboxWorker(session_factory, bot, RecordingSms(), policy=FAST, clock=clock)
    start = clock.now
    first = await worker.run_once()
    assert first.retried == 1 and first.sent == 0
    message = await _message(session_factory, outbox_id)
    assert message.state == OutboxState.PENDING and message.retries == 1
    assert message.next_attempt_at == start + timedelta(seconds=FAST.backoff(1))  # 0.05 s
    clock.advance(FAST.backoff(1) - 0.001)
    assert (await worker.run_once()).claimed == 0  # not before its backoff
    clock.advance(0.001)
    second = await worker.run_once()
    assert second.retried == 1 and second.sent == 0
    clock.advance(FAST.backoff(2) - 0.001)
    assert (await worker.run_once()).claimed == 0
    clock.advance(0.001)
    stats = await worker.run_once()
    assert stats.sent_telegram == 1
    assert [c.text for c in bot.calls(SendMessage)] == ["Готово"] * 3
    async with session_factory() as s:
        attempts = list(await attempts_of(s, outbox_id))
        assert not await count_unfinished(s)
    assert [a.ok for a in attempts] == [False, False, True]
    gaps = [(b.created_at - a.created_at).total_seconds()
            for a, b in itertools.pairwise(attempts)]
    assert gaps == [0.05, 0.1]  # exponential backoff


async def test_telegram_failing_for_good_falls_back_to_sms(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    bot = MockedBot()
    for _ in range(FAST.telegram_retries):
        bot.session.add_error(SendMessage, 500, "Internal Server Error")
    client_id = await _client(session_factory)
    outbox_id = await _enqueue(session_factory, kind="ready", text="Готово",
                               client_id=client_id)
    sms = RecordingSms()
    stats = await OutboxWorker(session_factory, bot, sms, policy=FAST).drain(timeout=PATIENT)
    assert stats.sent_sms == 1 and sms.sent == [(PHONE, "Готово")]
    channels = [c for c, _, _ in await _attempts(session_factory, outbox_id)]
    assert channels == [Channel.TELEGRAM] * 3 + [Channel.SMS]
    async with session_factory() as s:  # a server error is not the client's fault
        assert (await _get_client(s, client_id)).tg_chat_id == CHAT


async def test_permanent_sms_failure_fails_with_the_reason(
    session_factory: async_sessionmaker[AsyncSession], bot: Bot,
    turbo: tuple[TurboSmsEmulator, TurboSmsProvider],
) -> None:
    gateway, provider = turbo
    gateway.stoplist.add("380671234567")
    client_id = await _client(session_factory, chat_id=None)
    outbox_id = await _enqueue(session_factory, kind="ready", text="Готово",
                               client_id=client_id)
    stats = await OutboxWorker(session_factory, bot, provider, policy=FAST).run_once()
    assert stats.failed == 1
    message = await _message(session_factory, outbox_id)
    assert message.state == OutboxState.FAILED
    assert "stop list" in (message.last_error or "")
    assert len(gateway.requests) == 1  # not retried


async def test_transient_sms_failure_is_retried(
    session_factory: async_sessionmaker[AsyncSession], bot: Bot,
    turbo: tuple[TurboSmsEmulator, TurboSmsProvider],
) -> None:
    gateway, provider = turbo
    gateway.fail_next(1, 503)
    client_id = await _client(session_factory, chat_id=None)
    outbox_id = await _enqueue(session_factory, kind="ready", text="Готово",
                               client_id=client_id)
    stats = await OutboxWorker(session_factory, bot, provider, policy=FAST).drain(timeout=PATIENT)
    assert (stats.retried, stats.sent_sms) == (1, 1)
    assert len(gateway.sent) == 1
    assert [ok for _, ok, _ in await _attempts(session_factory, outbox_id)] == [False, True]


async def test_blocked_staff_chat_without_phone_fails_saying_why(
    session_factory: async_sessionmaker[AsyncSession], emu: TelegramEmulator, bot: Bot,
) -> None:
    emu.user(CHAT).open_chat()
    emu.block(CHAT)
    outbox_id = await _enqueue(session_factory, kind="custom", text="Клієнт погодив", chat_id=CHAT)
    await OutboxWorker(session_factory, bot, RecordingSms(), policy=FAST).run_once()
    message = await _message(session_factory, outbox_id)
    assert message.state == OutboxState.FAILED
    assert message.last_error == "telegram 403: Forbidden: bot was blocked by the user; " \
        "no phone for SMS"


async def test_pending_messages_survive_a_restart_and_are_delivered_once(
    db_url: str, emu: TelegramEmulator,
) -> None:
    for chat in range(10, 15):
        emu.user(chat).open_chat()
    engine = create_engine(db_url)
    sf = create_session_factory(engine)
    ids = [await _enqueue(sf, kind="custom", text=f"m{chat}", chat_id=chat)
           for chat in range(10, 15)]
    # A worker claims two and dies before sending; the process goes down.
    async with sf() as s, s.begin():
        dead = await claim_due(s, worker_id="dead", now=utcnow(),
                               lease=timedelta(milliseconds=300), limit=2)
    assert len(dead) == 2
    await engine.dispose()

    engine = create_engine(db_url)  # "restart": new engine, new session factory, new worker
    try:
        sf = create_session_factory(engine)
        bot = http_bot(emu)
        stats = await OutboxWorker(sf, bot, RecordingSms(), policy=FAST).drain(timeout=PATIENT)
        await bot.session.close()
        assert stats.sent_telegram == 5 and stats.interrupted == 2
        assert sorted(p["text"] for p in emu.calls("sendMessage")) == [
            f"m{chat}" for chat in range(10, 15)]
        async with sf() as s:
            states = set(await s.scalars(select(OutboxMessage.state)))
            assert states == {OutboxState.SENT}
            interrupted = await s.scalar(select(func.count()).select_from(DeliveryAttempt)
                                         .where(DeliveryAttempt.ok.is_(False)))
            assert interrupted == 2 and ids
    finally:
        await engine.dispose()


class StartTogether(OutboxWorker):
    """A worker whose first claim waits for the other worker's first claim. Without it, on
    SQLite one worker's quick transactions may take every message while the other one's
    BEGIN IMMEDIATE sleeps in its busy wait: whether both take part would depend on the load.
    After the start they race freely."""

    def __init__(self, *args: Any, start: asyncio.Barrier, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._start: asyncio.Barrier | None = start

    async def _claim(self, limit: int) -> list[OutboxItem]:
        items = await super()._claim(limit)
        if self._start is not None:
            start, self._start = self._start, None
            await start.wait()
        return items


async def test_two_workers_send_each_message_once(
    db_url: str, emu: TelegramEmulator,
) -> None:
    chats = list(range(100, 110))
    for chat in chats:
        emu.user(chat).open_chat()
    engines = [create_engine(db_url) for _ in range(2)]
    factories = [create_session_factory(e) for e in engines]
    bots = [http_bot(emu) for _ in range(2)]
    try:
        expected = []
        async with factories[0]() as s, s.begin():
            for i in range(40):
                expected.append(f"m{i}")
                await enqueue(s, kind="custom", text=f"m{i}", chat_id=chats[i % 10])
        policy = DeliveryPolicy(rate=500.0, per_chat_interval=0.0, batch_size=4,
                                lease=timedelta(seconds=60), send_timeout=5.0)
        start = asyncio.Barrier(2)
        workers = [StartTogether(f, b, RecordingSms(), policy=policy, worker_id=f"w{n}",
                                 start=start)
                   for n, (f, b) in enumerate(zip(factories, bots, strict=True))]
        results = await asyncio.gather(*(w.run_once() for w in workers))
        assert sum(r.sent_telegram for r in results) == 40
        assert all(r.sent_telegram for r in results)  # both took part
        assert sorted(p["text"] for p in emu.calls("sendMessage")) == sorted(expected)
        async with factories[0]() as s:
            assert await s.scalar(select(func.count()).select_from(DeliveryAttempt)) == 40
    finally:
        for b in bots:
            await b.session.close()
        for e in engines:
            await e.dispose()


async def test_run_forever_wakes_and_stops(
    session_factory: async_sessionmaker[AsyncSession], emu: TelegramEmulator, bot: Bot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = emu.user(CHAT)
    user.open_chat()
    # Idle for an hour unless woken: a message delivered within PATIENT was woken for.
    policy = DeliveryPolicy(rate=500.0, per_chat_interval=0.0, poll_interval=3600.0,
                            lease=timedelta(seconds=60), send_timeout=5.0)
    wakeup = asyncio.Event()  # shared with the code that enqueues (Services.outbox_wakeup)
    worker = OutboxWorker(session_factory, bot, RecordingSms(), policy=policy, wakeup=wakeup)
    cycles = _count_cycles(worker, monkeypatch)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    assert (await cycles.get()).claimed == 0  # the first cycle found nothing: now idle
    await _enqueue(session_factory, kind="custom", text="wake up", chat_id=CHAT)
    wakeup.set()
    await user.wait_for("wake up", timeout=PATIENT)
    assert (await cycles.get()).sent_telegram == 1  # that cycle is over: idle again
    await _enqueue(session_factory, kind="custom", text="again", chat_id=CHAT)
    worker.wake()
    await user.wait_for("again", timeout=PATIENT)
    stop.set()
    await asyncio.wait_for(task, PATIENT)  # woken by `stop`; the bound only stops a hang


def _count_cycles(
    worker: OutboxWorker, monkeypatch: pytest.MonkeyPatch,
) -> asyncio.Queue[DrainStats]:
    """A queue that gets the stats of each cycle (`run_once`) of `worker` when it ends."""
    cycles: asyncio.Queue[DrainStats] = asyncio.Queue()
    run_once = worker.run_once

    async def counted(*args: Any, **kwargs: Any) -> DrainStats:
        stats = await run_once(*args, **kwargs)
        cycles.put_nowait(stats)
        return stats

    monkeypatch.setattr(worker, "run_once", counted)
    return cycles


def _item(text: str, **kwargs: Any) -> OutboxItem:
    base: dict[str, Any] = {
        "id": 1, "kind": "ready", "text": text, "sms_text": None, "parse_mode": None,
        "buttons": None, "media_kind": None, "media_ref": None, "chat_id": None,
        "phone": PHONE, "client_id": None, "ticket_id": None, "channel": None, "attempts": 0,
        "retries": 0, "last_error": None, "interrupted": False, "lease_until": utcnow(),
    }
    return OutboxItem(**{**base, **kwargs})


def test_sms_text_is_plain_and_short() -> None:
    assert sms_text(_item("<b>Готово</b> &amp; ok\n\n  Тел.:  +380 67  ", parse_mode="HTML")) \
        == "Готово & ok\nТел.: +380 67"
    assert sms_text(_item("a <b> c")) == "a <b> c"  # plain text keeps its characters
    long = sms_text(_item("слово " * 100), max_chars=70)
    assert len(long) <= 70 and long.endswith("слово…")


async def test_log_provider_is_a_valid_fallback(
    session_factory: async_sessionmaker[AsyncSession], bot: Bot,
) -> None:
    client_id = await _client(session_factory, chat_id=None)
    outbox_id = await _enqueue(session_factory, kind="ready", text="Готово",
                               client_id=client_id)
    await OutboxWorker(session_factory, bot, LogSmsProvider(), policy=FAST).run_once()
    message = await _message(session_factory, outbox_id)
    assert message.state == OutboxState.SENT and (message.provider_message_id or "").startswith(
        "log-")


async def test_a_send_is_not_started_without_enough_lease_left(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A message that waited in its chat's queue until its lease nearly ran out is put back
    rather than sent: another worker may take it over the moment the lease expires."""
    offset = timedelta()

    class SlowQueueWorker(OutboxWorker):
        bumped = False

        async def _claim(self, limit: int) -> list[OutboxItem]:
            nonlocal offset
            items = await super()._claim(limit)
            if items and not self.bumped:
                self.bumped = True
                offset = FAST.lease - timedelta(seconds=FAST.send_margin - 1)
            return items

    bot = MockedBot()
    await _enqueue(session_factory, kind="custom", text="late", chat_id=CHAT)
    worker = SlowQueueWorker(session_factory, bot, RecordingSms(), policy=FAST,
                             clock=lambda: utcnow() + offset)
    stats = await worker.run_once()
    assert (stats.deferred, stats.sent_telegram, stats.claimed) == (1, 1, 2)
    assert [c.text for c in bot.calls(SendMessage)] == ["late"]


# -- leases and the heartbeat: a dead worker's messages are taken over within a minute ---------

class HeldSms(SmsProvider):
    """An SMS gateway that holds every send until `go` is set (a send in progress)."""

    name = "held"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.entered = asyncio.Event()
        self.go = asyncio.Event()

    async def send(self, phone_e164: str, text: str) -> SmsResult:
        self.entered.set()
        await self.go.wait()
        self.sent.append(text)
        return SmsResult.sent(self.name, f"held-{len(self.sent)}")


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


PRODUCTION_LEASES = DeliveryPolicy(rate=500.0, per_chat_interval=0.0)  # lease and heartbeat


def test_the_default_lease_lets_a_dead_workers_messages_go_within_a_minute() -> None:
    policy = DeliveryPolicy()
    assert policy.lease.total_seconds() + policy.poll_interval < 60
    assert policy.heartbeat + policy.send_margin <= policy.lease.total_seconds()


async def _lease_until(sf: async_sessionmaker[AsyncSession], outbox_id: int) -> datetime | None:
    message = await _message(sf, outbox_id)
    return message.lease_until


async def test_a_dead_workers_message_is_taken_over_after_the_lease(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    outbox_id = await _enqueue(session_factory, kind="custom", text="ready", chat_id=CHAT,
                               now=clock.now)
    async with session_factory() as s, s.begin():  # claimed, then the worker is killed
        held = await claim_due(s, worker_id="dead", now=clock.now,
                               lease=PRODUCTION_LEASES.lease, limit=10)
    assert [m.id for m in held] == [outbox_id]
    bot = MockedBot()
    heir = OutboxWorker(session_factory, bot, RecordingSms(), policy=PRODUCTION_LEASES,
                        worker_id="heir", clock=clock)
    clock.advance(PRODUCTION_LEASES.lease.total_seconds() - 1)
    assert (await heir.run_once()).claimed == 0  # still the dead worker's
    clock.advance(2)  # the lease has run out: 46 s after the last sign of life
    stats = await heir.run_once()
    assert (stats.claimed, stats.interrupted, stats.sent_telegram) == (1, 1, 1)
    assert [c.text for c in bot.calls(SendMessage)] == ["ready"]
    message = await _message(session_factory, outbox_id)
    assert message.state == OutboxState.SENT and message.lease_owner is None
    assert (await heir.run_once()).claimed == 0  # and only once


async def test_a_live_workers_heartbeat_keeps_its_message(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    client_id = await _client(session_factory, chat_id=None)  # SMS only
    outbox_id = await _enqueue(session_factory, kind="ready", text="Готово",
                               client_id=client_id, now=clock.now)
    sms = HeldSms()
    live = OutboxWorker(session_factory, MockedBot(), sms, policy=PRODUCTION_LEASES,
                        worker_id="live", clock=clock)
    run = asyncio.create_task(live.run_once())
    await asyncio.wait_for(sms.entered.wait(), 30)  # claimed, and the send is in progress
    started = clock.now
    assert await _lease_until(session_factory, outbox_id) == started + PRODUCTION_LEASES.lease

    clock.advance(30)
    await live.heartbeat()
    assert live.last_beat == clock.now
    assert await _lease_until(session_factory, outbox_id) == clock.now + PRODUCTION_LEASES.lease
    clock.advance(30)  # 60 s after the claim: past the first lease, within the renewed one
    other_bot = MockedBot()
    other = OutboxWorker(session_factory, other_bot, RecordingSms(), policy=PRODUCTION_LEASES,
                         worker_id="other", clock=clock)
    assert (await other.run_once()).claimed == 0

    sms.go.set()
    stats = await asyncio.wait_for(run, 30)
    assert (stats.sent_sms, stats.interrupted) == (1, 0)
    assert sms.sent == ["Готово"] and not other_bot.calls(SendMessage)
    message = await _message(session_factory, outbox_id)
    assert message.state == OutboxState.SENT and message.attempts == 1


async def test_a_worker_whose_claim_was_taken_over_does_not_send_it_again(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A stalled worker whose clock lags (another host) still believes in its lease; its next
    heartbeat finds the message taken over, cannot win it back, and does not send it."""
    slow_clock, heir_clock = Clock(), Clock()
    outbox_id = await _enqueue(session_factory, kind="custom", text="once", chat_id=CHAT,
                               now=slow_clock.now)
    slow_bot, heir_bot = MockedBot(), MockedBot()
    slow = OutboxWorker(session_factory, slow_bot, RecordingSms(), policy=PRODUCTION_LEASES,
                        worker_id="slow", clock=slow_clock)
    heir = OutboxWorker(session_factory, heir_bot, RecordingSms(), policy=PRODUCTION_LEASES,
                        worker_id="heir", clock=heir_clock)
    items = await slow._claim(10)  # in hand, then the worker stalls (no heartbeat)
    assert [i.id for i in items] == [outbox_id]
    heir_clock.now = slow_clock.now + PRODUCTION_LEASES.lease + timedelta(seconds=1)
    assert (await heir.run_once()).sent_telegram == 1
    slow_clock.advance(10)  # to its own clock 35 s of lease are left: it would still send
    await slow.heartbeat()
    assert await _lease_until(session_factory, outbox_id) is None  # the heir's result stands
    stats = DrainStats()
    await slow._deliver(items[0], stats)
    assert stats.sent == 0 and stats.deferred == 1
    assert not slow_bot.calls(SendMessage) and len(heir_bot.calls(SendMessage)) == 1
    message = await _message(session_factory, outbox_id)
    assert message.state == OutboxState.SENT and message.lease_owner is None


async def test_telegram_5xx_and_timeouts_are_retried_and_the_message_goes_once(
    session_factory: async_sessionmaker[AsyncSession], emu: TelegramEmulator, bot: Bot,
) -> None:
    """Over HTTP: a JSON 502, a proxy's HTML 502 and an answer slower than the send timeout
    (Telegram never acted on any of them) are retried with backoff; the client gets it once."""
    user = emu.user(CHAT)
    user.open_chat()
    emu.fail_next("sendMessage", status=502)
    emu.fail_next("sendMessage", status=502, html=True)
    emu.fail_next("sendMessage", status=0, delay=3)  # past the 1 s send timeout
    policy = DeliveryPolicy(rate=500.0, per_chat_interval=0.0, send_timeout=1.0,
                            telegram_retries=5, backoff_base=0.05, backoff_max=0.2,
                            poll_interval=0.05)
    outbox_id = await _enqueue(session_factory, kind="custom", text="Готово", chat_id=CHAT)
    stats = await OutboxWorker(session_factory, bot, RecordingSms(), policy=policy).drain(30)
    assert (stats.retried, stats.sent_telegram, stats.sent_sms) == (3, 1, 0)
    assert emu.faults_served["sendmessage"] == 3
    assert [m.text for m in user.messages()] == ["Готово"]
    assert [ok for _channel, ok, _error in await _attempts(session_factory, outbox_id)] == [
        False, False, False, True]
