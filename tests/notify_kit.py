"""Shared pieces of the notification handler tests: a fast delivery policy, an SMS gateway
that records (or refuses), and a ticket moved along a status path."""

from __future__ import annotations

from datetime import timedelta

from aiogram.methods import AnswerCallbackQuery
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.outbox import DeliveryPolicy
from db.desk.models import Role, Staff, Status
from db.desk.tickets import change_status
from db.notify.models import OutboxMessage
from sms import SmsProvider, SmsResult
from tests.factories import make_client, make_staff, make_ticket
from tests.handler_kit import Desk

MASTER_ID = 2
PHONE = "+380671112233"
FAST = DeliveryPolicy(
    rate=500.0, per_chat_interval=0.0, batch_size=20, lease=timedelta(seconds=60),
    send_timeout=5.0, telegram_retries=2, sms_retries=2, backoff_base=0.01, backoff_max=0.05,
    poll_interval=0.02,
)


class FakeSms(SmsProvider):
    name = "fake"

    def __init__(self, ok: bool = True) -> None:
        self.ok = ok
        self.sent: list[tuple[str, str]] = []

    async def send(self, phone_e164: str, text: str) -> SmsResult:
        if not self.ok:
            return SmsResult.failed(self.name, "sms: 404 NOT_ALLOWED_NUMBER_STOPLIST",
                                    permanent=True)
        self.sent.append((phone_e164, text))
        return SmsResult.sent(self.name, f"sms-{len(self.sent)}")


async def status_id(session: AsyncSession, code: str) -> int:
    found = await session.scalar(select(Status.id).where(Status.code == code))
    assert found is not None, code
    return found


async def seed(
    sf: async_sessionmaker[AsyncSession], *, path: tuple[str, ...] = ("diagnostics", "in_work"),
    chat: int | None = None, language: str | None = None, estimate: int | None = None,
    phone: str = PHONE,
) -> int:
    """A master, a client (optionally with a chat) and ticket №1 moved along `path`."""
    async with sf() as s, s.begin():
        master = await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID))
        if master is None:
            master = await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER_ID)
        client = await make_client(s, phone, name="Олена", surname="Коваль")
        client.tg_chat_id = chat
        client.language = language
        ticket = await make_ticket(s, master, client, master_id=master.id, estimate=estimate,
                                   lock_code="4321")
        for code in path:
            await change_status(s, master, ticket.id, await status_id(s, code))
        return ticket.id


async def outbox(sf: async_sessionmaker[AsyncSession], kind: str | None = None
                 ) -> list[OutboxMessage]:
    async with sf() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(await s.scalars(query))


def answers(desk: Desk) -> list[str]:
    return [a.text or "" for a in desk.bot.calls(AnswerCallbackQuery)]
