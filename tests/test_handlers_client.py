"""The client's side through the real Dispatcher (MockedBot): linking by own contact (a foreign
one refused), the status link, /status, the public view without staff-only data, estimate
answers with every re-check, and the client's language."""

from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import ReplyKeyboardMarkup, ReplyKeyboardRemove
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import Client, Comment, Role, Staff, Status, StatusChange, Ticket
from db.desk.tickets import change_status
from db.money.receipts import add_free_line, create_receipt
from db.notify.models import OutboxMessage
from tests.factories import make_client, make_staff, make_ticket
from tests.handler_kit import Desk
from tests.mocked_bot import make_contact_update

MASTER_ID = 2
CLIENT_ID = 5001
OTHER_ID = 5002
PHONE = "+380501112233"
OTHER_PHONE = "+380501112244"


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


def uk(desk: Desk, msgid: str) -> str:
    """What an unlinked visitor reads (CLIENT_LANGUAGE=uk), before and after the catalog
    has the Ukrainian text."""
    return desk.i18n.gettext(msgid, locale="uk")


async def share(desk: Desk, user_id: int, phone: str, contact_user_id: int | None = None,
                first_name: str = "Олена") -> list[str]:
    desk.bot.clear()
    await desk.dp.feed_update(desk.bot, make_contact_update(
        phone, user_id=user_id, contact_user_id=contact_user_id, first_name=first_name))
    return desk.bot.texts()


def alerts(desk: Desk) -> list[str]:
    return [a.text or "" for a in desk.bot.calls(AnswerCallbackQuery)]


async def status_id(session: AsyncSession, code: str) -> int:
    found = await session.scalar(select(Status.id).where(Status.code == code))
    assert found is not None
    return found


async def seed_ticket(
    sf: async_sessionmaker[AsyncSession], phone: str = PHONE, *, path: tuple[str, ...] = (),
    estimate: int | None = None, chat: int | None = None, language: str | None = None,
    name: str = "Олена",
) -> Ticket:
    async with sf() as s, s.begin():
        master = await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID))
        if master is None:
            master = await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER_ID)
        client = await s.scalar(select(Client).where(Client.phone == phone))
        if client is None:
            client = await make_client(s, phone, name=name, surname="Коваль")
            client.tg_chat_id = chat
            client.language = language
        ticket = await make_ticket(s, master, client, master_id=master.id, estimate=estimate,
                                   lock_code="SECRET-4321")
        for code in path:
            await change_status(s, master, ticket.id, await status_id(s, code))
        s.add(Comment(ticket_id=ticket.id, staff_id=master.id, text="внутреннее: клиент хамил"))
        return ticket


async def client_by_phone(sf: async_sessionmaker[AsyncSession], phone: str) -> Client | None:
    async with sf() as s:
        return await s.scalar(select(Client).where(Client.phone == phone))


# -- linking ------------------------------------------------------------------------------------

async def test_start_asks_for_the_contact(desk: Desk) -> None:
    await desk.send(CLIENT_ID, "/start")
    sent = desk.bot.last(SendMessage)
    markup = sent.reply_markup
    assert isinstance(markup, ReplyKeyboardMarkup)
    assert markup.keyboard[0][0].request_contact is True
    assert markup.keyboard[0][0].text == uk(desk, "📱 Поделиться номером")
    assert "Ремонт-Сервис" in sent.text


async def test_own_contact_links_the_existing_client(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed_ticket(session_factory, path=("diagnostics",))
    await desk.send(CLIENT_ID, "/start")
    texts = await share(desk, CLIENT_ID, PHONE.lstrip("+"))  # Telegram often omits the "+"
    client = await client_by_phone(session_factory, PHONE)
    assert client is not None and client.tg_chat_id == CLIENT_ID
    # The conversation was in the shop's client language (uk): linking does not switch it to
    # Telegram's language_code (ru here) and chooses nothing for the client.
    assert client.language is None and not client.self_registered
    confirmed = uk(desk, "✅ Готово, номер {phone} подтверждён. Уведомления о ремонте будут "
                         "приходить сюда.")
    assert texts[0] == confirmed.format(phone="+380 50 111 2233")
    assert isinstance(desk.bot.calls(SendMessage)[0].reply_markup, ReplyKeyboardRemove)
    assert "№1 · Apple iPhone 12 — <b>Діагностика</b>" in texts[-1]
    # Now /start greets a known client.
    texts = await desk.send(CLIENT_ID, "/start")
    assert "/status" in texts[-1]


async def test_foreign_contact_is_refused(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed_ticket(session_factory)
    texts = await share(desk, CLIENT_ID, PHONE, contact_user_id=OTHER_ID)
    assert texts[-1] == uk(desk, "Это не ваш контакт. Нажмите кнопку «{button}» внизу — "
                                 "Telegram отправит ваш собственный номер.").format(
        button=uk(desk, "📱 Поделиться номером"))
    texts = await share(desk, CLIENT_ID, PHONE, contact_user_id=None)
    client = await client_by_phone(session_factory, PHONE)
    assert client is not None and client.tg_chat_id == CLIENT_ID
    # A contact without a user id (typed into the address book) is foreign as well.
    desk.bot.clear()
    update = make_contact_update(OTHER_PHONE, user_id=OTHER_ID)
    assert update.message and update.message.contact
    typed = update.message.contact.model_copy(update={"user_id": None})
    update = update.model_copy(update={"message": update.message.model_copy(
        update={"contact": typed})})
    await desk.dp.feed_update(desk.bot, update)
    assert await client_by_phone(session_factory, OTHER_PHONE) is None


async def test_unknown_phone_self_registers(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    texts = await share(desk, CLIENT_ID, OTHER_PHONE, first_name="Марія")
    client = await client_by_phone(session_factory, OTHER_PHONE)
    assert client is not None and client.self_registered and client.name == "Марія"
    assert client.tg_chat_id == CLIENT_ID
    assert texts[-1] == uk(desk, "У вас пока нет обращений в сервисе. Когда вы сдадите "
                                 "устройство, его статус будет здесь.")


# -- the status link ------------------------------------------------------------------------------

async def test_status_link_shows_only_public_data_and_links_by_matching_phone(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ticket = await seed_ticket(session_factory, path=("diagnostics", "approval"),
                               estimate=150_000)
    texts = await desk.send(CLIENT_ID, f"/start st_{ticket.public_token}")
    view = texts[0]
    # A visitor reads the client language (uk): the status title is the uk one.
    assert "№1" in view and "Apple iPhone 12" in view and "<b>Погодження</b>" in view
    assert "1 500,00" in view.replace("\xa0", " ")
    for secret in ("SECRET-4321", "хамил", "Петя", "35-209900"):
        assert secret not in "\n".join(texts), secret
    assert isinstance(desk.bot.calls(SendMessage)[-1].reply_markup, ReplyKeyboardMarkup)
    # No estimate buttons for a stranger holding the link.
    assert not any(b.startswith(("✅", "❌")) for b in desk.buttons(CLIENT_ID))

    # Someone else's phone: explained, not linked.
    texts = await share(desk, CLIENT_ID, OTHER_PHONE)
    assert "не совпадает" in texts[-1] or "не збігається" in texts[-1]
    assert await client_by_phone(session_factory, OTHER_PHONE) is None
    client = await client_by_phone(session_factory, PHONE)
    assert client is not None and client.tg_chat_id is None

    # The ticket client's phone: linked, and the view comes back with the estimate buttons.
    await desk.send(CLIENT_ID, f"/start st_{ticket.public_token}")
    texts = await share(desk, CLIENT_ID, PHONE)
    client = await client_by_phone(session_factory, PHONE)
    assert client is not None and client.tg_chat_id == CLIENT_ID
    # The view came in Ukrainian before the contact, and stays Ukrainian after it.
    assert uk(desk, "Мастер ждёт вашего решения по стоимости ремонта.") in texts[-1]
    assert desk.buttons(CLIENT_ID)[:2] == [uk(desk, "✅ Согласовать"), uk(desk, "❌ Отказаться")]


async def test_unknown_status_link(desk: Desk) -> None:
    texts = await desk.send(CLIENT_ID, "/start st_AAAAAAAAAAAAAAAAAAAAAA")
    assert texts[0] == uk(desk, "Ссылка на обращение не найдена или устарела.")
    assert isinstance(desk.bot.calls(SendMessage)[-1].reply_markup, ReplyKeyboardMarkup)


# -- /status ------------------------------------------------------------------------------------

async def test_status_lists_open_first_and_refuses_foreign_tickets(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed_ticket(session_factory, path=("refused",), chat=CLIENT_ID, language="ru")  # №1
    await seed_ticket(session_factory, path=("diagnostics", "in_work"))  # №2, same client
    other = await seed_ticket(session_factory, OTHER_PHONE, name="Сусід")  # №3
    texts = await desk.send(CLIENT_ID, "/status")
    lines = texts[-1].splitlines()
    assert "№2" in lines[1] and "В работе" in lines[1] and "0 дн." in lines[1]
    assert "№1" in lines[2] and "Отказ" in lines[2]
    assert "№3" not in texts[-1]
    assert [b.split(" · ")[0][-2:] for b in desk.buttons(CLIENT_ID)] == ["№2", "№1", "ою"]
    assert desk.buttons(CLIENT_ID)[-1] == "🌐 Українською"  # the other language, to choose

    texts = await desk.tap(CLIENT_ID, "№2")
    assert "Обращение №2" in texts[-1] and "SECRET" not in texts[-1]
    await desk.tap(CLIENT_ID, "Все мои ремонты")
    assert "Ваши ремонты" in desk.last_text()

    for forged in (f"mt:open:{other.id}", f"mt:view:{other.id}", "mt:view:999999"):
        await desk.press(CLIENT_ID, forged)
        assert alerts(desk)[-1] == "Обращение не найдено."
        assert desk.bot.texts() == []


async def test_status_shows_what_each_open_ticket_owes(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    owing = await seed_ticket(session_factory, chat=CLIENT_ID, language="ru")  # №1
    await seed_ticket(session_factory)  # №2: an empty receipt owes nothing
    async with session_factory() as s, s.begin():
        owner = await make_staff(s, Role.OWNER, name="Власник", tg_user_id=1)
        receipt = await create_receipt(s, owner, owing.id)
        await add_free_line(s, owner, receipt.id, "Работа", 50_000)
        await add_free_line(s, owner, receipt.id, "Запчасть", 25_050)
        await create_receipt(s, owner, owing.id + 1)
    texts = await desk.send(CLIENT_ID, "/status")
    lines = texts[-1].replace("\u00a0", " ").splitlines()
    assert "№2" in lines[1] and "к оплате" not in lines[1]
    assert "№1" in lines[2] and "к оплате 750,50 ₴" in lines[2]


async def test_status_asks_an_unlinked_visitor_for_the_contact(desk: Desk) -> None:
    await desk.send(CLIENT_ID, "/status")
    assert isinstance(desk.bot.last(SendMessage).reply_markup, ReplyKeyboardMarkup)
    await desk.press(CLIENT_ID, "mt:view:1")
    assert alerts(desk)[-1] == uk(desk, "Обращение не найдено.")


# -- estimate answers ---------------------------------------------------------------------------

async def _approval(sf: async_sessionmaker[AsyncSession]) -> tuple[Ticket, int]:
    ticket = await seed_ticket(sf, path=("diagnostics", "approval"), estimate=150_000,
                               chat=CLIENT_ID, language="ru")
    async with sf() as s:
        event = await s.scalar(select(StatusChange.id).where(
            StatusChange.ticket_id == ticket.id).order_by(StatusChange.id.desc()).limit(1))
    assert event is not None
    return ticket, event


async def _status_code(sf: async_sessionmaker[AsyncSession], ticket_id: int) -> str:
    async with sf() as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None
        status = await s.get(Status, ticket.status_id)
        assert status is not None
        return status.code


async def test_estimate_approved_moves_to_work_and_tells_the_master(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ticket, event = await _approval(session_factory)
    await desk.send(CLIENT_ID, "/status")
    await desk.tap(CLIENT_ID, "№1")
    # Forged: someone else, another round, an unknown ticket.
    await desk.press(OTHER_ID, f"ea:ok:{ticket.id}:{event}")
    assert alerts(desk)[-1] == uk(desk, "Обращение не найдено.")
    await desk.press(CLIENT_ID, f"ea:ok:{ticket.id}:{event - 1}")
    assert "неактуально" in alerts(desk)[-1]
    await desk.press(CLIENT_ID, f"ea:ok:999999:{event}")
    assert alerts(desk)[-1] == "Обращение не найдено."
    assert await _status_code(session_factory, ticket.id) == "approval"

    texts = await desk.tap(CLIENT_ID, "✅ Согласовать")
    assert "Ремонт согласован" in texts[-1]
    assert await _status_code(session_factory, ticket.id) == "in_work"
    async with session_factory() as s:
        change = await s.scalar(select(StatusChange).order_by(StatusChange.id.desc()).limit(1))
        assert change is not None and change.by_client and change.staff_id is None
        told = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "staff")))
    assert len(told) == 1 and told[0].chat_id == MASTER_ID and told[0].client_id is None
    assert told[0].text == ("✅ Клиент согласовал ремонт: [1] Apple iPhone 12 — Олена Коваль. "
                            "Статус: «В работе».")
    assert told[0].dedup_key == f"staff:t{ticket.id}:{change.id}"
    assert told[0].buttons == [[{"text": "Открыть [1]", "callback_data": f"t:card:{ticket.id}:0"}]]

    # A second tap (the same button, replayed) changes nothing.
    await desk.press(CLIENT_ID, f"ea:no:{ticket.id}:{event}")
    assert "неактуально" in alerts(desk)[-1]
    assert await _status_code(session_factory, ticket.id) == "in_work"
    # The master's card does not list the staff message as a client delivery.
    await desk.send(MASTER_ID, "/ticket 1")
    assert "Сообщения клиенту" not in desk.last_text()


async def test_estimate_declined(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ticket, event = await _approval(session_factory)
    await desk.press(CLIENT_ID, f"ea:no:{ticket.id}:{event}")
    assert await _status_code(session_factory, ticket.id) == "refused"
    async with session_factory() as s:
        told = await s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "staff"))
    assert told is not None and told.text.startswith("❌ Клиент отказался от ремонта: [1]")


# -- language ---------------------------------------------------------------------------------

async def test_client_language_follows_the_client(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A linked client reads their language (ru from Telegram here); a visitor reads uk."""
    await seed_ticket(session_factory, chat=CLIENT_ID, language="ru")
    texts = await desk.send(CLIENT_ID, "/status")
    assert texts[-1].startswith("🧰 <b>Ваши ремонты</b>")
    texts = await desk.send(OTHER_ID, "/status")
    assert texts[-1] == uk(desk, "Чтобы увидеть свои ремонты, поделитесь номером телефона, "
                                 "который вы оставили в сервисе.")
    async with session_factory() as s, s.begin():
        client = await s.scalar(select(Client).where(Client.tg_chat_id == CLIENT_ID))
        assert client is not None
        client.language = "uk"
    texts = await desk.send(CLIENT_ID, "/status")
    assert texts[-1].startswith(uk(desk, "🧰 <b>Ваши ремонты</b>"))
    assert "<b>Прийнято</b>" in texts[-1]  # the status in Ukrainian


async def test_other_text_gets_a_hint(desk: Desk) -> None:
    texts = await desk.send(CLIENT_ID, "привіт, коли буде готово?")
    assert "/status" in texts[-1]
    texts = await desk.send(CLIENT_ID, "/client 067")
    assert texts[-1] == uk(desk, "Нет доступа: эта команда для сотрудников сервиса.")
