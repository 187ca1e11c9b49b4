"""Messages a client and an owner understand (issue 12): paid SMS only where they pay off (the
policy, the worker, the owner's switch), SMS counted per kind in /today and /report, the intake
SMS signed by the shop, template names in the staff member's language, and a client's language
that stays the same through a conversation."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import make_i18n
from bot.views.client_notices import ClientNoticeTexts
from bot.views.exports import summary_xlsx
from bot.views.sms_text import SMS_MAX_CHARS
from bot.workers.outbox import OutboxWorker
from db.base import utcnow
from db.desk.models import Client, Role, Staff, Ticket
from db.desk.tickets import change_status, get_ticket
from db.notify.models import Channel, MessageKind, OutboxState
from db.notify.outbox import enqueue
from db.notify.policy import SMS_OFF_REASON, FollowUp, after_status, sms_allowed
from db.notify.settings import get_notify_settings, toggle_status_sms
from db.reports.queries import day_report, today_in
from keyboards.callbacks import TermsAction, TermsCb, TicketAction, TicketCb
from keyboards.notify import ClientLangCb, ClientLanguage
from tests.factories import make_client, make_staff, make_ticket
from tests.handler_kit import OWNER_ID, Desk
from tests.handler_kit import test_settings as shop_settings
from tests.mocked_bot import make_contact_update
from tests.notify_kit import FAST, MASTER_ID, PHONE, FakeSms, answers, outbox, seed, status_id

CLIENT_CHAT = 5001


class FixedLinks:
    async def ticket(self, ticket: Ticket) -> str:
        return f"https://t.me/test_bot?start=st_{ticket.public_token}"


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


async def owner(session: AsyncSession) -> Staff:
    found = await session.scalar(select(Staff).where(Staff.role == Role.OWNER))
    return found or await make_staff(session, Role.OWNER, tg_user_id=OWNER_ID)


# -- paid SMS only where it pays off ----------------------------------------------------------

async def test_a_status_update_to_a_blocked_chat_costs_no_sms_but_a_ready_notice_does(
    session_factory: async_sessionmaker[AsyncSession], desk: Desk,
) -> None:
    ticket_id = await seed(session_factory, estimate=150_000, chat=CLIENT_CHAT, path=())
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "🔄 Статус")
    await desk.tap(MASTER_ID, "Диагностика")
    assert len(await outbox(session_factory, "status")) == 1  # queued for the linked chat
    desk.bot.session.blocked.add(CLIENT_CHAT)  # then the client blocks the bot
    sms = FakeSms()
    await OutboxWorker(session_factory, desk.bot, sms, policy=FAST).drain(5)
    [status] = await outbox(session_factory, "status")
    assert sms.sent == []
    assert status.state == OutboxState.FAILED and status.last_error is not None
    assert status.last_error.endswith(SMS_OFF_REASON) and "blocked" in status.last_error
    await desk.send(MASTER_ID, "/ticket 1")
    assert "бот заблокирован клиентом; статусы по SMS выключены в настройках" \
        in desk.last_text()
    async with session_factory() as s, s.begin():
        await change_status(s, None, ticket_id, await status_id(s, "in_work"), by_client=True)
    await desk.send(MASTER_ID, "/ticket 1")

    # "Можно забирать" pays off: it goes by SMS to the client who blocked the bot.
    texts = await desk.tap(MASTER_ID, "✅ Можно забирать")
    assert "SMS на +380 67 111 2233" in texts[-1]  # the chat was unlinked by the 403
    await desk.tap(MASTER_ID, "📨 Можно забирать")
    await OutboxWorker(session_factory, desk.bot, sms, policy=FAST).drain(5)
    assert [phone for phone, _ in sms.sent] == [PHONE]
    [ready] = await outbox(session_factory, "ready")
    assert ready.state == OutboxState.SENT and ready.channel == Channel.SMS
    async with session_factory() as s:
        assert (await get_ticket(s, ticket_id)).client.tg_chat_id is None


async def test_the_owner_turns_status_sms_on(
    session_factory: async_sessionmaker[AsyncSession], desk: Desk,
) -> None:
    await seed(session_factory, estimate=150_000, path=())  # no chat at all
    async with session_factory() as s:
        ticket = await get_ticket(s, 1)
        assert not await sms_allowed(s, MessageKind.STATUS)
        assert await sms_allowed(s, MessageKind.READY)
        assert await sms_allowed(s, MessageKind.ESTIMATE)
        assert await sms_allowed(s, MessageKind.REMINDER)
        assert await sms_allowed(s, MessageKind.INTAKE)
        assert not await sms_allowed(s, MessageKind.INTAKE_DOC)
    await desk.send(OWNER_ID, "/settings")
    texts = await desk.tap(OWNER_ID, "🔔 Уведомления")
    assert "⛔ 📩 Смену статуса — и по SMS (платно)" in texts[-1]
    await desk.tap(OWNER_ID, "📩 Смену статуса")
    assert "Статусы: Telegram и SMS" in answers(desk)[-1]
    assert "✅ 📩 Смену статуса — и по SMS (платно)" in desk.last_text()
    async with session_factory() as s:
        assert (await get_notify_settings(s)).status_sms is True
        ticket = await get_ticket(s, 1)
    # Now a status move queues an update for a client without a chat, and it goes by SMS.
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "🔄 Статус")
    await desk.tap(MASTER_ID, "Диагностика")
    sms = FakeSms()
    await OutboxWorker(session_factory, desk.bot, sms, policy=FAST).drain(5)
    assert len(sms.sent) == 1 and "Діагностика" in sms.sent[0][1]
    assert ticket.number == 1
    # A master cannot switch it, even with forged data.
    await desk.press(MASTER_ID, "ns:ssms")
    async with session_factory() as s:
        assert (await get_notify_settings(s)).status_sms is True


async def test_policy_without_a_chat(session: AsyncSession) -> None:
    ticket_id = await seed_in(session)
    ticket = await get_ticket(session, ticket_id)
    await change_status(session, None, ticket.id, await status_id(session, "diagnostics"),
                        by_client=True)
    session.expire_all()
    ticket = await get_ticket(session, ticket_id)
    assert await after_status(session, ticket) == FollowUp.NONE
    assert await toggle_status_sms(session, await owner(session)) is True
    assert await after_status(session, ticket) == FollowUp.STATUS


async def seed_in(session: AsyncSession) -> int:
    master = await make_staff(session, Role.MASTER)
    client = await make_client(session, PHONE)
    return (await make_ticket(session, master, client)).id


# -- SMS in the reports -------------------------------------------------------------------------

async def test_sms_per_kind_in_today_and_report(
    session_factory: async_sessionmaker[AsyncSession], desk: Desk,
) -> None:
    async with session_factory() as s, s.begin():
        client = await make_client(s, PHONE)
        now = utcnow()
        sent = [("ready", Channel.SMS), ("ready", Channel.SMS), ("status", Channel.SMS),
                ("reminder", Channel.SMS), ("ready", Channel.TELEGRAM)]
        for kind, channel in sent:
            message = await enqueue(s, kind=kind, text="x", client_id=client.id)
            message.state, message.channel, message.sent_at = OutboxState.SENT, channel, now
        failed = await enqueue(s, kind="estimate", text="x", client_id=client.id)
        failed.state, failed.channel = OutboxState.FAILED, Channel.SMS
        settings = shop_settings()
        report = await day_report(s, today_in(settings.tz), settings.tz)
    assert report.total.sms == (("ready", 2), ("reminder", 1), ("status", 1))
    assert report.total.sms_total == 4 and not report.total.is_empty
    i18n = make_i18n("ru")
    with i18n.context():
        book = load_workbook(io.BytesIO(summary_xlsx(report, "ru")))
    cells = {row[0]: row[1] for sheet in book.worksheets
             for row in sheet.iter_rows(values_only=True) if row and len(row) > 1}
    assert cells["SMS отправлено"] == 4
    assert (cells["  SMS: готово"], cells["  SMS: напоминание"], cells["  SMS: статус"]) == (
        2, 1, 1)
    texts = await desk.send(OWNER_ID, "/today")
    assert "📩 SMS отправлено: 4 (готово 2 · напоминание 1 · статус 1)" in texts[-1]
    texts = await desk.send(OWNER_ID, "/report week")
    assert "📩 SMS отправлено: 4" in "\n".join(texts)


# -- the intake SMS and the template picker --------------------------------------------------

async def test_intake_sms_carries_the_shop_name_and_phone(session: AsyncSession) -> None:
    ticket_id = await seed_in(session)
    ticket = await get_ticket(session, ticket_id)
    settings = shop_settings()
    i18n = make_i18n("ru")
    with i18n.context():
        notice = await ClientNoticeTexts(settings, FixedLinks()).intake(ticket)
    assert notice.sms is not None
    lines = notice.sms.splitlines()
    assert lines[0].startswith(f"Звернення №{ticket.number} прийнято. Статус: https://t.me/")
    assert lines[1] == "Ремонт-Сервис +380441234567"
    assert len(notice.sms) <= SMS_MAX_CHARS


async def test_ready_picker_names_templates_in_the_staff_language(
    session_factory: async_sessionmaker[AsyncSession], desk: Desk,
) -> None:
    await seed(session_factory, estimate=150_000, path=("diagnostics", "in_work"))  # a uk client
    async with session_factory() as s, s.begin():
        master = await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID))
        assert master is not None
        master.language = "uk"  # a Ukrainian-speaking master sees Ukrainian names
    await desk.send(MASTER_ID, "/ticket 1")
    texts = await desk.tap(MASTER_ID, "Можна забирати")
    assert desk.buttons(MASTER_ID)[:2] == ["📨 Можна забирати ⭐", "📨 Коротко (SMS)"]
    assert "Мова повідомлення" not in texts[-1]  # the same language: nothing to say


# -- a client's language ---------------------------------------------------------------------

async def test_the_conversation_keeps_the_clients_language(
    session_factory: async_sessionmaker[AsyncSession], desk: Desk,
) -> None:
    ticket_id = await seed(session_factory, estimate=150_000, path=("diagnostics", "approval"))
    async with session_factory() as s:
        token = (await get_ticket(s, ticket_id)).public_token
    # Telegram says "ru"; the shop writes to clients in uk: the view is Ukrainian …
    texts = await desk.send(CLIENT_CHAT, f"/start st_{token}", language_code="ru")
    assert "<b>Погодження</b>" in texts[0] and "Пристрій" in texts[0]
    # … and stays Ukrainian after the contact is shared.
    desk.bot.clear()
    await desk.dp.feed_update(desk.bot, make_contact_update(PHONE, user_id=CLIENT_CHAT))
    texts = desk.bot.texts()
    assert texts[0].startswith("✅ Готово, номер +380 67 111 2233 підтверджено")
    assert "<b>Погодження</b>" in texts[-1] and "Майстер чекає" in texts[-1]
    async with session_factory() as s:
        client = await s.scalar(select(Client).where(Client.phone == PHONE))
        assert client is not None and client.language is None  # nothing chosen yet

    # The client chooses Russian: stored, and everything from now on is Russian.
    texts = await desk.send(CLIENT_CHAT, "/status")
    assert desk.buttons(CLIENT_CHAT)[-1] == "🌐 На русском"
    texts = await desk.tap(CLIENT_CHAT, "🌐 На русском")
    assert texts[-1].startswith("🧰 <b>Ваши ремонты</b>")
    assert desk.buttons(CLIENT_CHAT)[-1] == "🌐 Українською"
    async with session_factory() as s:
        client = await s.scalar(select(Client).where(Client.phone == PHONE))
        assert client is not None and client.language == "ru"
    texts = await desk.send(CLIENT_CHAT, f"/start st_{token}")
    assert "<b>Согласование</b>" in texts[0]
    # Sharing the contact again keeps the chosen language.
    desk.bot.clear()
    await desk.dp.feed_update(desk.bot, make_contact_update(PHONE, user_id=CLIENT_CHAT))
    async with session_factory() as s:
        client = await s.scalar(select(Client).where(Client.phone == PHONE))
        assert client is not None and client.language == "ru"
    # A visitor who opens the link reads the ticket client's language.
    texts = await desk.send(CLIENT_CHAT + 1, f"/start st_{token}", language_code="uk")
    assert "<b>Согласование</b>" in texts[0]


async def test_language_button_needs_a_linked_chat_and_a_known_language(desk: Desk) -> None:
    await desk.press(CLIENT_CHAT, ClientLangCb(lang=ClientLanguage.RU).pack())
    assert answers(desk)[-1] == "Спершу поділіться номером: /start"
    await desk.press(CLIENT_CHAT, "lg:en")  # forged: not a language the shop writes in
    assert answers(desk)  # answered, nothing stored (no client exists)


def test_new_callback_payloads_fit_telegram() -> None:
    biggest = 2**63 - 1
    payloads = [ClientLangCb(lang=code) for code in ClientLanguage]
    payloads += [TermsCb(action=a, lang="uk") for a in TermsAction]
    payloads.append(TicketCb(action=TicketAction.RECEIPT, id=biggest))
    for data in payloads:
        packed = data.pack()
        assert len(packed.encode()) <= 64, packed
        assert type(data).unpack(packed) == data
