"""Drain 1,000 notifications against a Bot API emulator that enforces Telegram's limits.

    .venv/bin/python -m bench.notify_drain [--messages 1000] [--chats 200] [--no-chat 0.1]
                                           [--rate 25] [--db postgresql+asyncpg://...]

Seeds clients with chats (~200) and some without (their messages go to the `log` SMS
provider), enqueues the messages in random order, runs one OutboxWorker with the production
policy against the emulator in strict mode (429 when > 1 msg/s to a chat or > 30 msg/s
overall), and prints the rate achieved, the time, the 429s, and whether every message was
delivered exactly once. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import func, select

from bot.workers.outbox import DeliveryPolicy, OutboxWorker
from db.desk.models import Client
from db.desk.phones import reversed_digits
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.notify.models import Channel, OutboxMessage, OutboxState
from db.notify.outbox import enqueue
from sms import LogSmsProvider, SmsResult
from tests.emulators.telegram import DEFAULT_TOKEN, run_telegram_emulator


class CountingLogSms(LogSmsProvider):
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def send(self, phone_e164: str, text: str) -> SmsResult:
        self.texts.append(text)
        return await super().send(phone_e164, text)


async def seed(session_factory, messages: int, chats: int, no_chat: float) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Clients, then messages in random order. Returns text -> expected channel."""
    rng = random.Random(7)
    expected: dict[str, str] = {}
    async with session_factory() as s, s.begin():
        with_chat, without = [], []
        for n in range(chats + max(1, chats // 4)):
            phone = f"+38067{n:07d}"
            client = Client(phone=phone, phone_rev=reversed_digits(phone), name=f"Client {n}",
                            tg_chat_id=900_000 + n if n < chats else None)
            s.add(client)
            (with_chat if n < chats else without).append(client)
        await s.flush()
        for i in range(messages):
            to_sms = rng.random() < no_chat
            client = rng.choice(without if to_sms else with_chat)
            text = f"Ремонт завершено, можна забирати. #{i}"
            await enqueue(s, kind="ready", text=text, client_id=client.id)
            expected[text] = "sms" if to_sms else "telegram"
    return expected


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--no-chat", type=float, default=0.1, help="share of SMS-only messages")
    parser.add_argument("--rate", type=float, default=25.0, help="worker's overall msg/s")
    parser.add_argument("--db", default="", help="database URL (default: a temp SQLite file)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        engine = create_engine(url)
        await upgrade(engine)
        session_factory = create_session_factory(engine)
        expected = await seed(session_factory, args.messages, args.chats, args.no_chat)
        telegram_expected = sum(1 for c in expected.values() if c == "telegram")

        async with run_telegram_emulator(strict=True) as emu:
            for n in range(args.chats):
                emu.user(900_000 + n, f"Client {n}").open_chat()
            bot = Bot(DEFAULT_TOKEN,
                      session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
            sms = CountingLogSms()
            worker = OutboxWorker(session_factory, bot, sms,
                                  policy=DeliveryPolicy(rate=args.rate))
            started = time.monotonic()
            stats = await worker.drain(timeout=600)
            elapsed = time.monotonic() - started
            await bot.session.close()

            delivered = Counter(p["text"] for p in emu.calls("sendMessage"))
            delivered.update(sms.texts)
            async with session_factory() as s:
                by_state = dict((await s.execute(
                    select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
                )).all())
                by_channel = dict((await s.execute(
                    select(OutboxMessage.channel, func.count())
                    .where(OutboxMessage.state == OutboxState.SENT)
                    .group_by(OutboxMessage.channel))).all())
            exactly_once = (set(delivered) == set(expected)
                            and all(n == 1 for n in delivered.values()))

            print(f"database            {engine.dialect.name}")
            print(f"messages            {len(expected)} "
                  f"({telegram_expected} Telegram to {args.chats} chats, "
                  f"{len(expected) - telegram_expected} SMS)")
            print(f"total time          {elapsed:.1f} s")
            print(f"rate achieved       {len(expected) / elapsed:.1f} msg/s overall, "
                  f"{telegram_expected / elapsed:.1f} msg/s Telegram "
                  f"(limit set {args.rate:g}/s, Telegram allows 30/s)")
            print(f"429s received       {emu.stats.too_many_requests} "
                  f"(worker saw {stats.rate_limited}, deferred {stats.deferred})")
            print(f"busiest second      {emu.stats.max_per_second()} Telegram messages")
            print(f"closest same-chat   {emu.stats.min_chat_interval() or 0:.3f} s apart")
            print(f"outbox states       {dict(sorted((str(k), v) for k, v in by_state.items()))}")
            print(f"sent by channel     telegram={by_channel.get(Channel.TELEGRAM, 0)} "
                  f"sms={by_channel.get(Channel.SMS, 0)}")
            print(f"exactly once        {'yes' if exactly_once else 'NO'} "
                  f"({sum(delivered.values())} deliveries of {len(expected)} messages)")
        await engine.dispose()
        if not exactly_once or by_state.get(OutboxState.SENT) != len(expected):
            raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
