"""Client notifications end to end: the real app polls the Bot API emulator over HTTP, the outbox
worker delivers to the emulator's chats and to the TurboSMS emulator.

The worker: when the app runs its own (`app.background` holds a live "outbox" task) the test
only waits for the outbox to empty; otherwise it runs one here with short times."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Application
from bot.workers.outbox import DeliveryPolicy, OutboxWorker
from db.desk.models import Client, Role, Staff, Status, StatusChange, Ticket
from db.desk.tickets import change_status
from db.notify.models import Channel, OutboxMessage
from db.notify.outbox import attempts_of, count_unfinished
from tests.e2e_kit import live_bot
from tests.emulators.sms import TurboSmsEmulator
from tests.emulators.telegram import BotMessage, SimUser
from tests.factories import make_client, make_staff, make_ticket

MASTER = 2002
OLENA, BOHDAN, STRANGER = 5001, 5002, 5003
OLENA_PHONE, BOHDAN_PHONE = "+380501112233", "+380501112244"
FAST = DeliveryPolicy(
    rate=200.0, per_chat_interval=0.0, batch_size=20, lease=timedelta(seconds=60),
    send_timeout=5.0, telegram_retries=2, sms_retries=2, backoff_base=0.05, backoff_max=0.2,
    poll_interval=0.05,
)


class Delivery:
    """Deliver what is in the outbox now: the app's worker if it runs one, else ours."""

    def __init__(self, app: Application) -> None:
        assert app.session_factory and app.bot and app.services
        self.app = app
        running = any(t.get_name() == "outbox" and not t.done() for t in app.background)
        self.worker = None if running else OutboxWorker(
            app.session_factory, app.bot, app.services.sms, policy=FAST,
            wakeup=app.services.outbox_wakeup)

    async def __call__(self, kind: str, ticket_id: int | None = None,
                       timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the update that enqueues a `kind` message has committed (the bot answers
        before its transaction commits), then deliver everything due."""
        assert self.app.session_factory
        sf = self.app.session_factory

        async def enqueued() -> bool:
            async with sf() as session:
                query = select(OutboxMessage.id).where(OutboxMessage.kind == kind)
                if ticket_id is not None:
                    query = query.where(OutboxMessage.ticket_id == ticket_id)
                return await session.scalar(query.limit(1)) is not None

        await eventually(enqueued, timeout)
        if self.worker is not None:
            await self.worker.drain(timeout)
            return
        assert self.app.session_factory
        deadline = time.monotonic() + timeout
        while True:
            async with self.app.session_factory() as session:
                if not await count_unfinished(session):
                    return
            assert time.monotonic() < deadline, "the app's worker did not drain the outbox"
            await asyncio.sleep(0.05)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Poll a DB condition: a handler's writes commit just after its replies are seen."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"{check.__name__} not true within {timeout}s"
        await asyncio.sleep(0.02)


async def _status_id(session: AsyncSession, code: str) -> int:
    found = await session.scalar(select(Status.id).where(Status.code == code))
    assert found is not None
    return found


async def seed(app: Application, phone: str, name: str, *, path: tuple[str, ...],
               estimate: int | None = None) -> int:
    """The master (created once) accepts an iPhone from a client; the ticket walks `path`."""
    assert app.session_factory
    async with app.session_factory() as s, s.begin():
        master = await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER))
        if master is None:
            master = await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER)
        client = await make_client(s, phone, name=name, surname="Коваль")
        ticket = await make_ticket(s, master, client, master_id=master.id, estimate=estimate)
        for code in path:
            await change_status(s, master, ticket.id, await _status_id(s, code))
        return ticket.id


def asks_contact(message: BotMessage) -> bool:
    rows = (message.reply_markup or {}).get("keyboard", [])
    return any(button.get("request_contact") for row in rows for button in row)


async def link_by_contact(client: SimUser) -> None:
    await client.send("/start")
    await client.wait_for(asks_contact)
    await client.share_contact()
    # The conversation stays in the shop's client language (uk), whatever Telegram's is …
    await client.wait_for("підтверджено")
    await client.wait_for(lambda m: "Ваші ремонти" in (m.text or "")
                          or "немає звернень" in (m.text or ""))
    # … until the client chooses Russian under the list (then everything is ru).
    await client.tap("🌐 На русском")
    await client.wait_for(lambda m: m.edited and ("Ваши ремонты" in (m.text or "")
                                                  or "нет обращений" in (m.text or "")))


async def ready_in_two_taps(master: SimUser, number: int, template: str) -> None:
    await master.send(f"/ticket {number}")
    await master.wait_for(f"[{number}] Apple iPhone 12")
    master.interactions = 0
    await master.tap("✅ Можно забирать")
    await master.wait_for("Сообщить клиенту")
    await master.tap(template)
    answer = await master.wait_answer()
    assert "Отправляем" in answer.get("text", "")
    assert master.interactions == 2, master.interactions


async def test_client_links_by_contact_and_gets_ready_in_chat(db_url: str) -> None:
    async with live_bot(db_url, background=False) as (emu, app):
        assert app.i18n and app.session_factory
        deliver = Delivery(app)
        await seed(app, OLENA_PHONE, "Олена", path=("diagnostics", "in_work"))
        olena = emu.user(OLENA, "Олена", "Коваль", phone=OLENA_PHONE)

        # A forwarded (foreign) contact is refused; her own, by the button, links the chat.
        await olena.send("/start")
        await olena.wait_for(asks_contact)
        await olena.share_contact("+380509999999", contact_user_id=STRANGER)
        await olena.wait_for("Це не ваш контакт")  # clients get CLIENT_LANGUAGE (uk)
        async with app.session_factory() as s:
            assert await s.scalar(select(Client).where(Client.tg_chat_id == OLENA)) is None
        await olena.tap(app.i18n.gettext("📱 Поделиться номером", locale="uk"))
        await olena.wait_for("підтверджено")  # still uk: Telegram's "ru" does not switch it
        listing = await olena.wait_for("Ваші ремонти")
        assert "№1 · Apple iPhone 12" in (listing.text or "")
        await olena.tap("🌐 На русском")  # her choice: from now on she reads Russian
        await olena.wait_for(lambda m: m.edited and "Ваши ремонты" in (m.text or ""))

        # "Можно забирать" in two taps of the master; the worker delivers to her chat.
        master = emu.user(MASTER, "Петя")
        await ready_in_two_taps(master, 1, "📨 Можно забирать")
        await deliver("ready")
        ready = await olena.wait_for("Ремонт завершён")
        assert (ready.text or "").startswith("Здравствуйте, Олена!")
        assert ready.buttons == ["📋 Статус ремонта"]
        await olena.tap("📋 Статус ремонта")
        view = await olena.wait_for("Обращение №1")
        assert "Можно забирать" in (view.text or "")
        await master.send("/ticket 1")
        await master.wait_for("✓ Telegram · можно забирать")
        await olena.expect_silence(0.2)  # exactly one message, nothing twice


async def test_sms_without_chat_and_when_blocked(db_url: str) -> None:
    async with TurboSmsEmulator(token="turbo-token") as gateway:
        async with live_bot(db_url, background=False, sms_provider="turbosms",
                            turbosms_token="turbo-token", turbosms_sender="Remont",
                            turbosms_api_url=gateway.api_url) as (emu, app):
            assert app.session_factory
            deliver = Delivery(app)
            olena_ticket = await seed(app, OLENA_PHONE, "Олена", path=("diagnostics", "in_work"))
            bohdan_ticket = await seed(app, BOHDAN_PHONE, "Богдан",
                                       path=("diagnostics", "in_work"))
            master = emu.user(MASTER, "Петя")

            # No chat: the SMS goes out, in Ukrainian (the shop's client language); the master
            # picks the template by its name in his own language.
            await ready_in_two_taps(master, 1, "📨 Можно забирать")
            await deliver("ready", olena_ticket)
            assert len(gateway.sent) == 1
            request = gateway.requests[-1]
            assert (request.method, request.path) == ("POST", "/message/send.json")
            assert request.headers["Authorization"] == "Bearer turbo-token"
            assert request.json == {"recipients": ["380501112233"], "sms": {
                "sender": "Remont",
                "text": "Вітаємо, Олена!\n"
                        "Ремонт завершено: Apple iPhone 12, звернення №1. Можна забирати.\n"
                        "Адреса: Київ, Хрещатик 1\nТел.: +380441234567\nРемонт-Сервис"}}
            await master.send("/ticket 1")
            await master.wait_for("✓ SMS (нет Telegram) · можно забирать")

            # Linked, then blocked the bot: Telegram answers 403, the SMS follows at once.
            bohdan = emu.user(BOHDAN, "Богдан", phone=BOHDAN_PHONE)
            await link_by_contact(bohdan)
            emu.block(BOHDAN)
            await ready_in_two_taps(master, 2, "📨 Можно забирать")
            await deliver("ready", bohdan_ticket)
            assert len(gateway.sent) == 2
            assert gateway.sent[-1].phone == "380501112244"
            assert "Ремонт завершён: Apple iPhone 12, обращение №2" in gateway.sent[-1].text
            async with app.session_factory() as s:
                client = await s.scalar(select(Client).where(Client.phone == BOHDAN_PHONE))
                assert client is not None and client.tg_chat_id is None  # unlinked
                message = await s.scalar(select(OutboxMessage).where(
                    OutboxMessage.ticket_id == bohdan_ticket, OutboxMessage.kind == "ready"))
                assert message is not None and message.channel == Channel.SMS
                tried = [(a.channel, a.ok) for a in await attempts_of(s, message.id)]
            assert tried == [(Channel.TELEGRAM, False), (Channel.SMS, True)]
            await master.send("/ticket 2")
            await master.wait_for("✓ SMS (бот заблокирован клиентом) · можно забирать")

            # Unblocked and back: /start relinks the same chat without a new contact.
            emu.unblock(BOHDAN)
            await bohdan.send("/start")
            await bohdan.wait_for("/status")
            sf = app.session_factory

            async def relinked() -> bool:
                async with sf() as s:
                    client = await s.scalar(select(Client).where(Client.phone == BOHDAN_PHONE))
                    return client is not None and client.tg_chat_id == BOHDAN

            await eventually(relinked)
        gateway.assert_no_violations()


async def test_estimate_approval_moves_the_ticket_and_tells_the_master(db_url: str) -> None:
    async with live_bot(db_url, background=False) as (emu, app):
        assert app.session_factory
        deliver = Delivery(app)
        ticket_id = await seed(app, OLENA_PHONE, "Олена", path=("diagnostics",),
                               estimate=150_000)
        other_ticket = await seed(app, BOHDAN_PHONE, "Богдан", path=("diagnostics", "approval"))
        olena = emu.user(OLENA, "Олена", phone=OLENA_PHONE)
        await link_by_contact(olena)

        master = emu.user(MASTER, "Петя")
        await master.send("/ticket 1")
        await master.wait_for("[1] Apple iPhone 12")
        await master.tap("🔄 Статус")
        await master.wait_for("Выберите новый статус")
        await master.tap("Согласование")
        await master.wait_for("Статус: Согласование")
        await deliver("estimate")
        estimate = await olena.wait_for("согласие на ремонт")
        assert "Стоимость ремонта: 1 500,00 грн" in (estimate.text or "").replace("\xa0", " ")
        assert estimate.buttons == ["✅ Согласовать", "❌ Отказаться"]
        event = int(estimate.callback_data[0].rsplit(":", 1)[1])

        # Forged: another client's ticket, and a stranger on hers.
        await olena.press_forged(f"ea:ok:{other_ticket}:{event}")
        assert (await olena.wait_answer())["text"] == "Обращение не найдено."
        stranger = emu.user(STRANGER, "Чужий")
        await stranger.send("/start")
        await stranger.wait_for(asks_contact)
        await stranger.press_forged(f"ea:no:{ticket_id}:{event}")
        assert (await stranger.wait_answer()).get("show_alert")

        await olena.tap("✅ Согласовать", estimate)
        assert "Согласовано" in (await olena.wait_answer()).get("text", "")
        edited = await olena.wait_for("Ремонт согласован")
        assert edited.edited and edited.buttons == []
        sf = app.session_factory

        async def approved() -> bool:
            async with sf() as s:
                ticket = await s.get(Ticket, ticket_id)
                assert ticket is not None
                status = await s.get(Status, ticket.status_id)
                assert status is not None
                return status.code == "in_work"

        await eventually(approved)
        async with sf() as s:
            change = await s.scalar(select(StatusChange).where(
                StatusChange.ticket_id == ticket_id).order_by(StatusChange.id.desc()).limit(1))
            assert change is not None and change.by_client
        await deliver("staff")
        told = await master.wait_for("Клиент согласовал ремонт")
        assert "[1] Apple iPhone 12 — Олена Коваль" in (told.text or "")
        await master.tap("Открыть [1]")
        await master.wait_for("Статус: В работе")
        # Tapping again (a replay) changes nothing.
        await olena.press_forged(f"ea:no:{ticket_id}:{event}")
        assert "неактуально" in (await olena.wait_answer()).get("text", "")
