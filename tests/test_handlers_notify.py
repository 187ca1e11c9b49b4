"""Staff side of client notifications through the real Dispatcher (MockedBot, no network):
the "notify?" prompt on READY, intake/status/estimate messages, delivery state and retry on the
card, the QR for the client, /templates and the owner's switches."""

from __future__ import annotations

import pytest
from aiogram.methods import SendMessage, SendPhoto
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.outbox import OutboxWorker
from db.desk.models import Role, Status, Ticket
from db.desk.tickets import change_status
from db.notify.models import MessageKind, MessageTemplate, OutboxState
from db.notify.settings import get_notify_settings, set_switch
from keyboards.notify import (
    EstimateAction,
    EstimateCb,
    MyTicketAction,
    MyTicketCb,
    NotifyAction,
    NotifyCb,
    NotifySetAction,
    NotifySetCb,
    TemplateAction,
    TemplateCb,
)
from tests.factories import make_staff
from tests.handler_kit import OWNER_ID, Desk
from tests.notify_kit import FAST, MASTER_ID, PHONE, FakeSms, answers, outbox, seed, status_id

MANAGER_ID = 3
CLIENT_CHAT = 700


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


async def ticket_status(sf: async_sessionmaker[AsyncSession], ticket_id: int) -> str:
    async with sf() as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None
        status = await s.get(Status, ticket.status_id)
        assert status is not None
        return status.code


# -- "Можно забирать" in two taps ------------------------------------------------------------

async def test_ready_in_two_taps_from_the_card(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ticket_id = await seed(session_factory)
    await desk.send(MASTER_ID, "/ticket 1")
    assert "✅ Можно забирать" in desk.buttons(MASTER_ID)
    assert "📱 Для клиента" in desk.buttons(MASTER_ID)

    # Tap 1: the card moves to READY and asks, in the same message.
    card_id = desk.find_button(MASTER_ID, "Можно забирать")[1].message_id
    texts = await desk.tap(MASTER_ID, "✅ Можно забирать")
    assert "Сообщить клиенту" in texts[-1] and "SMS на +380 67 111 2233" in texts[-1]
    prompt_data, prompt = desk.find_button(MASTER_ID, "📨")
    assert prompt.message_id == card_id  # edited, not a new message
    labels = desk.buttons(MASTER_ID)
    # The client's language (none set → uk): uk templates, the default first, named in the
    # master's language (ru); then "don't"; the card's own buttons stay below.
    assert labels[:3] == ["📨 Можно забирать ⭐", "📨 Коротко (SMS)", "🔕 Не уведомлять"]
    assert "Язык сообщения: украинский" in texts[-1]
    assert "🔄 Статус" in labels
    assert await ticket_status(session_factory, ticket_id) == "ready"
    assert await outbox(session_factory, "ready") == []

    # Tap 2: one template → one outbox row written in that update's transaction.
    await desk.tap(MASTER_ID, "📨 Можно забирать")
    assert "Отправляем" in answers(desk)[-1]
    rows = await outbox(session_factory, "ready")
    assert len(rows) == 1
    assert rows[0].text == ("Вітаємо, Олена!\n"
                            "Ремонт завершено: Apple iPhone 12, звернення №1. Можна забирати.\n"
                            "Адреса: Київ, Хрещатик 1\nТел.: +380441234567\nРемонт-Сервис")
    assert rows[0].buttons and rows[0].buttons[0][0]["callback_data"] == f"mt:view:{ticket_id}"
    assert "⏳" in desk.last_text() and "можно забирать" in desk.last_text()

    # A second tap (double tap, or the other template) sends nothing more.
    await desk.press(MASTER_ID, prompt_data, prompt)
    assert "уже отправлено" in answers(desk)[-1]
    assert len(await outbox(session_factory, "ready")) == 1

    # The worker delivers by SMS (no chat); the card then says so.
    sms = FakeSms()
    await OutboxWorker(session_factory, desk.bot, sms, policy=FAST).drain(5)
    assert sms.sent == [(PHONE, rows[0].text)]
    await desk.send(MASTER_ID, "/ticket 1")
    assert "✓ SMS (нет Telegram) · можно забирать" in desk.last_text()


async def test_ready_through_the_status_picker_and_skip(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(session_factory, chat=CLIENT_CHAT, language="ru")
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "🔄 Статус")
    texts = await desk.tap(MASTER_ID, "✅ Можно забирать")
    assert "Куда: 💬 Telegram" in texts[-1]
    assert desk.buttons(MASTER_ID)[:2] == ["📨 Можно забирать ⭐", "📨 Коротко (SMS)"]  # ru
    await desk.tap(MASTER_ID, "Не уведомлять")
    assert "не уведомлён" in answers(desk)[-1]
    assert "Сообщить клиенту" not in desk.last_text()
    assert await outbox(session_factory, "ready") == []


async def test_ready_prompt_off_when_switched_off(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(session_factory)
    async with session_factory() as s, s.begin():
        await set_switch(s, await make_staff(s, Role.OWNER), "ready", False)
    await desk.send(MASTER_ID, "/ticket 1")
    texts = await desk.tap(MASTER_ID, "✅ Можно забирать")
    assert "Сообщить клиенту" not in texts[-1] and "Можно забирать" in texts[-1]
    assert not any(b.startswith("📨") for b in desk.buttons(MASTER_ID))


async def test_stale_prompt_after_status_moved_on(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ticket_id = await seed(session_factory)
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "✅ Можно забирать")
    data, message = desk.find_button(MASTER_ID, "📨 Можно забирать")
    async with session_factory() as s, s.begin():
        await change_status(s, None, ticket_id, await status_id(s, "in_work"), by_client=True)
    await desk.press(MASTER_ID, data, message)
    assert "Статус уже другой" in answers(desk)[-1]
    assert await outbox(session_factory, "ready") == []
    # A forged template id of another kind is refused too.
    await desk.press(MASTER_ID, f"nt:send:{ticket_id}:999")
    assert await outbox(session_factory, "ready") == []


# -- intake, status and estimate messages -----------------------------------------------------

async def test_intake_confirmation_with_status_link(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await desk.send(OWNER_ID, "/start")
    await desk.send(OWNER_ID, "067 111 22 33")
    await desk.send(OWNER_ID, "Олена Коваль")
    await desk.tap(OWNER_ID, "Телефон")
    await desk.send(OWNER_ID, "Samsung A52")
    await desk.send(OWNER_ID, "Разбит экран")
    await desk.tap(OWNER_ID, "Принять")
    rows = await outbox(session_factory, "intake")
    assert len(rows) == 1
    async with session_factory() as s:
        ticket = await s.scalar(select(Ticket))
        assert ticket is not None
    link = f"https://t.me/test_bot?start=st_{ticket.public_token}"
    assert link in rows[0].text and "№1" in rows[0].text and "Samsung A52" in rows[0].text
    assert rows[0].sms_text is not None and link in rows[0].sms_text
    assert rows[0].phone == PHONE and rows[0].chat_id is None
    assert rows[0].dedup_key == f"intake:t{ticket.id}:open"


async def test_intake_switched_off(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        await set_switch(s, await make_staff(s, Role.OWNER), "intake", False)
    await desk.send(OWNER_ID, "/start")
    await desk.send(OWNER_ID, "067 111 22 33")
    await desk.send(OWNER_ID, "Олена")
    await desk.tap(OWNER_ID, "Телефон")
    await desk.send(OWNER_ID, "Samsung A52")
    await desk.send(OWNER_ID, "Разбит экран")
    await desk.tap(OWNER_ID, "Принять")
    assert await outbox(session_factory) == []


async def test_status_updates_only_to_a_linked_chat(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(session_factory, path=(), chat=CLIENT_CHAT, language="ru")
    await seed(session_factory, path=(), phone="+380671112244")  # ticket 2, no chat
    for number in (1, 2):
        await desk.send(MASTER_ID, f"/ticket {number}")
        await desk.tap(MASTER_ID, "🔄 Статус")
        await desk.tap(MASTER_ID, "Диагностика")
    rows = await outbox(session_factory, "status")
    assert len(rows) == 1 and rows[0].chat_id == CLIENT_CHAT
    assert rows[0].text.startswith("Обращение №1 (Apple iPhone 12): статус «Диагностика».")
    assert "диагностику" in rows[0].text
    # The same status change handled twice would still give one row (dedup on the change).
    assert rows[0].dedup_key and rows[0].dedup_key.startswith("status:t")


async def test_estimate_sent_on_approval(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ticket_id = await seed(session_factory, path=("diagnostics",), chat=CLIENT_CHAT,
                           language="ru", estimate=150_000)
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "🔄 Статус")
    await desk.tap(MASTER_ID, "Согласование")
    rows = await outbox(session_factory, "estimate")
    assert len(rows) == 1
    assert "Стоимость ремонта: 1 500,00 грн" in rows[0].text.replace("\xa0", " ")
    assert rows[0].buttons is not None
    data = [b["callback_data"] for b in rows[0].buttons[0]]
    assert data[0].startswith(f"ea:ok:{ticket_id}:") and data[1].startswith(f"ea:no:{ticket_id}:")
    assert rows[0].sms_text and "start=st_" in rows[0].sms_text


# -- delivery state, retry, QR, staff opening the client's link --------------------------------

async def test_failed_delivery_shown_and_retried(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(session_factory)
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "✅ Можно забирать")
    await desk.tap(MASTER_ID, "📨 Коротко")
    await OutboxWorker(session_factory, desk.bot, FakeSms(ok=False), policy=FAST).drain(5)
    await desk.send(MASTER_ID, "/ticket 1")
    card = desk.last_text()
    assert "✗ sms: 404 NOT_ALLOWED_NUMBER_STOPLIST · можно забирать" in card
    assert "🔁 Повторить отправку" in desk.buttons(MASTER_ID)

    await desk.tap(MASTER_ID, "Повторить")
    assert "ещё раз" in answers(desk)[-1]
    assert "⏳ повтор: sms: 404" in desk.last_text()
    [row] = await outbox(session_factory, "ready")
    assert row.state == OutboxState.PENDING
    sms = FakeSms()
    await OutboxWorker(session_factory, desk.bot, sms, policy=FAST).drain(5)
    assert len(sms.sent) == 1
    await desk.send(MASTER_ID, "/ticket 1")
    assert "✓ SMS" in desk.last_text()
    assert "Повторить" not in " ".join(desk.buttons(MASTER_ID))
    # A forged retry of a message of another ticket does nothing.
    await desk.press(MASTER_ID, f"nt:retry:999:{row.id}")
    assert "не найдено" in answers(desk)[-1]


async def test_delivered_to_the_chat_by_the_worker(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed(session_factory, chat=CLIENT_CHAT, language="ru")
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "✅ Можно забирать")
    await desk.tap(MASTER_ID, "📨 Можно забирать")
    desk.bot.clear()
    await OutboxWorker(session_factory, desk.bot, FakeSms(), policy=FAST).drain(5)
    sent = desk.bot.last(SendMessage)
    assert sent.chat_id == CLIENT_CHAT and "Ремонт завершён" in sent.text
    assert sent.parse_mode is None  # plain text: a client's name with "<" stays as typed
    await desk.send(MASTER_ID, "/ticket 1")
    assert "✓ Telegram · можно забирать" in desk.last_text()


async def test_qr_for_the_client_and_staff_opening_it(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ticket_id = await seed(session_factory)
    async with session_factory() as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None
        token = ticket.public_token
    await desk.send(MASTER_ID, "/ticket 1")
    await desk.tap(MASTER_ID, "📱 Для клиента")
    photo = desk.bot.last(SendPhoto)
    assert f"start=st_{token}" in (photo.caption or "")
    uploads = list(desk.bot.session.uploads.values())  # the uploaded PNG
    assert uploads and uploads[-1][:8] == b"\x89PNG\r\n\x1a\n"
    # Staff opening the client's link land on the staff card (lock code included).
    texts = await desk.send(MASTER_ID, f"/start st_{token}")
    assert "[1] Apple iPhone 12" in texts[-1] and "4321" in texts[-1]
    texts = await desk.send(MASTER_ID, "/start st_nonexistent")
    assert "не найдено" in texts[-1]


# -- /templates -------------------------------------------------------------------------------

async def test_templates_editor(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await desk.send(OWNER_ID, "/start")
    texts = await desk.send(OWNER_ID, "/templates")
    assert "Шаблоны сообщений" in texts[-1] and "{amount_due}" in texts[-1]
    assert "Можна забирати ⭐" in texts[-1]

    await desk.tap(OWNER_ID, "Новый шаблон")
    await desk.tap(OWNER_ID, "📨 Можно забирать")
    await desk.tap(OWNER_ID, "українською")
    texts = await desk.send(OWNER_ID, "Ввічливо")
    assert "текст сообщения" in texts[-1]
    texts = await desk.send(OWNER_ID, "Добрий день, {nmae}! Готово.")
    assert "{nmae}" in texts[-1] and "Неизвестная подстановка" in texts[-1]
    texts = await desk.send(OWNER_ID, "Добрий день, {name! Готово.")
    assert "Незакрытая фигурная скобка" in texts[-1]
    texts = await desk.send(OWNER_ID, "Добрий день, {name}!\nДо сплати: {amount_due}\n{shop}")
    assert "Так увидит клиент" in texts[-1] and "Олена" in texts[-1]
    assert "1 250,00 грн" in texts[-1].replace("\xa0", " ") and "Ремонт-Сервис" in texts[-1]
    async with session_factory() as s:
        assert await s.scalar(select(MessageTemplate).where(
            MessageTemplate.name == "Ввічливо")) is None  # not before "Сохранить"
    texts = await desk.tap(OWNER_ID, "Сохранить")
    assert "Шаблон сохранён" in texts[-1]
    async with session_factory() as s:
        new = await s.scalar(select(MessageTemplate).where(MessageTemplate.name == "Ввічливо"))
        assert new is not None and new.kind == "ready" and new.language == "uk"
        assert not new.is_default
        new_id = new.id

    # Edit the text, make it the default, rename, delete.
    await desk.tap(OWNER_ID, "✏️ Текст")
    texts = await desk.send(OWNER_ID, "Готово, {name}. {address}")
    assert "Київ, Хрещатик 1" in texts[-1]
    await desk.tap(OWNER_ID, "Сохранить")
    await desk.tap(OWNER_ID, "Сделать основным")
    await desk.tap(OWNER_ID, "✏️ Название")
    texts = await desk.send(OWNER_ID, "Можна забирати")
    assert "уже есть" in texts[-1]
    texts = await desk.send(OWNER_ID, "Коротко й ввічливо")
    assert "Название сохранено" in texts[-1]
    async with session_factory() as s:
        new = await s.get(MessageTemplate, new_id)
        assert new is not None
        assert (new.text, new.is_default, new.name) == (
            "Готово, {name}. {address}", True, "Коротко й ввічливо")
    await desk.tap(OWNER_ID, "🗑 Удалить")
    texts = await desk.tap(OWNER_ID, "Да, удалить")
    assert "Шаблон удалён" in texts[-1]
    async with session_factory() as s:
        assert await s.get(MessageTemplate, new_id) is None
        heir = await s.scalar(select(func.count()).select_from(MessageTemplate).where(
            MessageTemplate.kind == "ready", MessageTemplate.language == "uk",
            MessageTemplate.is_default.is_(True)))
        assert heir == 1


async def test_a_stale_save_button_changes_nothing(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await desk.send(OWNER_ID, "/start")
    await desk.send(OWNER_ID, "/templates")
    await desk.tap(OWNER_ID, "Новый шаблон")
    await desk.tap(OWNER_ID, "📨 Можно забирать")
    await desk.tap(OWNER_ID, "українською")
    await desk.send(OWNER_ID, "Застарілий")
    await desk.send(OWNER_ID, "Готово, {name}")
    data, message = desk.find_button(OWNER_ID, "Сохранить")
    await desk.send(OWNER_ID, "/cancel")
    await desk.press(OWNER_ID, data, message)
    assert answers(desk)[-1] == "Форма устарела — откройте /templates заново."
    async with session_factory() as s:
        assert await s.scalar(select(MessageTemplate).where(
            MessageTemplate.name == "Застарілий")) is None


async def test_templates_only_for_owner_and_manager(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        await make_staff(s, Role.MASTER, tg_user_id=MASTER_ID)
        await make_staff(s, Role.MANAGER, tg_user_id=MANAGER_ID)
    texts = await desk.send(MANAGER_ID, "/templates")
    assert "Шаблоны сообщений" in texts[-1]
    texts = await desk.send(MASTER_ID, "/templates")
    assert "Шаблоны" not in texts[-1]
    await desk.press(MASTER_ID, "tp:delok:1::")
    async with session_factory() as s:
        assert await s.get(MessageTemplate, 1) is not None


# -- /settings → 🔔 ---------------------------------------------------------------------------

async def test_owner_switches(
    desk: Desk, session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await desk.send(OWNER_ID, "/settings")
    texts = await desk.tap(OWNER_ID, "🔔 Уведомления")
    assert "Уведомления клиентам" in texts[-1] and "через 3 дн." in texts[-1]
    await desk.tap(OWNER_ID, "✅ Приём")
    await desk.tap(OWNER_ID, "✅ Смена статуса")
    data, message = desk.find_button(OWNER_ID, "➕")
    await desk.press(OWNER_ID, data, message)
    await desk.press(OWNER_ID, data, message)
    async with session_factory() as s:
        current = await get_notify_settings(s)
    assert (current.intake, current.status, current.ready, current.reminder_days) == (
        False, False, True, 5)
    assert "⛔ Приём" in desk.last_text()
    await desk.tap(OWNER_ID, "⛔ Приём")
    async with session_factory() as s:
        assert (await get_notify_settings(s)).intake is True
    # Not for a master, even with forged data.
    async with session_factory() as s, s.begin():
        await make_staff(s, Role.MASTER, tg_user_id=MASTER_ID)
    await desk.press(MASTER_ID, "ns:sw:ready:0")
    async with session_factory() as s:
        assert (await get_notify_settings(s)).ready is True


def test_callback_payloads_fit_telegram() -> None:
    biggest = 2**63 - 1  # DbId's top
    payloads = [NotifyCb(action=a, id=biggest, arg=biggest) for a in NotifyAction]
    payloads += [TemplateCb(action=a, id=biggest, kind=MessageKind.REMINDER, lang="uk")
                 for a in TemplateAction]
    payloads += [NotifySetCb(action=a, kind=MessageKind.ESTIMATE, step=-1)
                 for a in NotifySetAction]
    payloads += [MyTicketCb(action=a, id=biggest) for a in MyTicketAction]
    payloads += [EstimateCb(action=a, id=biggest, ev=biggest) for a in EstimateAction]
    for data in payloads:
        packed = data.pack()
        assert len(packed.encode()) <= 64, packed
        assert type(data).unpack(packed) == data
