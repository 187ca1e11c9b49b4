"""Staff front office through the real Dispatcher (fast, no network)."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import AnswerCallbackQuery, SendPhoto, SetMyCommands
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import Client, Comment, Device, DeviceType, Role, Staff, Ticket
from keyboards.callbacks import (
    ClientAction,
    ClientCb,
    ClientField,
    DeviceAction,
    DeviceCb,
    IntakeAction,
    IntakeCb,
    IntakeField,
    NewClientAction,
    NewClientCb,
    SettingsAction,
    SettingsCb,
    StaffAction,
    StaffCb,
)
from tests.handler_kit import OWNER_ID, Desk

MASTER_ID = 2
STRANGER_ID = 666


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


async def invite_master(desk: Desk) -> None:
    await desk.send(OWNER_ID, "/staff")
    await desk.tap(OWNER_ID, "Пригласить")
    texts = await desk.tap(OWNER_ID, "мастер")
    link = next(t for t in texts if "start=inv_" in t)
    payload = link.split("start=")[1].split()[0]
    texts = await desk.send(MASTER_ID, f"/start {payload}", first_name="Петя")
    assert any("Добро пожаловать" in t for t in texts), texts


async def test_owner_start_and_menu(desk: Desk) -> None:
    texts = await desk.send(OWNER_ID, "/start")
    assert "владелец" in texts[-1]
    assert desk.bot.calls(SetMyCommands)


async def test_invite_and_intake_flow(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await invite_master(desk)
    texts = await desk.send(MASTER_ID, "+38 (067) 123-45-67")
    assert "не найден" in texts[-1] and "Имя и фамилия" in texts[-1]
    texts = await desk.send(MASTER_ID, "Иван Петренко")
    assert "Какое устройство" in texts[-1]
    await desk.tap(MASTER_ID, "Телефон")
    await desk.send(MASTER_ID, "Apple iPhone 12")
    texts = await desk.send(MASTER_ID, "Не заряжается")
    assert "Приём" in texts[-1]
    await desk.photo(MASTER_ID, "ph1")
    texts = await desk.photo(MASTER_ID, "ph2")
    assert "Фото: 2" in texts[-1]
    texts = await desk.tap(MASTER_ID, "Принять")
    assert any("[1] Apple iPhone 12 — Иван Петренко" in t for t in texts), texts
    async with session_factory() as s:
        ticket = await s.scalar(select(Ticket))
        assert ticket is not None and ticket.defect == "Не заряжается"
        comment = await s.scalar(select(Comment))
        assert comment is not None
    # status moves
    await desk.tap(MASTER_ID, "Статус")
    texts = await desk.tap(MASTER_ID, "Диагностика")
    assert any("Диагностика" in t for t in texts)
    await desk.tap(MASTER_ID, "Этикетка")
    assert desk.bot.calls(SendPhoto)


async def test_stranger_is_refused(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    for command in ("/client 067", "/ticket 1", "/staff", "/find x", "/settings"):
        texts = await desk.send(STRANGER_ID, command)
        assert texts and "Немає доступу" in texts[-1], (command, texts)  # client language
    texts = await desk.press(STRANGER_ID, "t:card:1:0")
    assert desk.bot.session.requests[-1].show_alert
    async with session_factory() as s:
        assert await s.scalar(select(Staff).where(Staff.tg_user_id == STRANGER_ID)) is None
        assert await s.scalar(select(Client)) is None


async def test_client_card_lists_each_devices_tickets(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    """The card shows, under each device, that device's latest tickets (newest first) and how
    many more there are."""
    from db.base import utcnow
    from db.desk.clients import create_client
    from db.desk.models import Status, StatusKind
    from db.desk.tickets import NewDevice, TicketDraft, open_ticket

    await desk.send(OWNER_ID, "/start")
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        done = await s.scalar(select(Status).where(Status.kind == StatusKind.DONE))
        assert owner is not None and done is not None
        client = await create_client(s, owner, phone="067 123 45 67", name="Олена")
        phone = await open_ticket(s, owner, TicketDraft(defect="екран"), client_id=client.id,
                                  new_device=NewDevice(kind="Телефон", brand="Apple",
                                                       model="iPhone 12"))
        for _visit in range(4):  # tickets 2..5 on the same phone, each after the last closed
            last = await s.scalar(select(Ticket).order_by(Ticket.number.desc()).limit(1))
            assert last is not None
            last.status_id, last.closed_at = done.id, utcnow()
            await s.flush()
            await open_ticket(s, owner, TicketDraft(defect="знову"),
                              device_id=phone.device_id)
        await open_ticket(s, owner, TicketDraft(defect="клавіатура"), client_id=client.id,
                          new_device=NewDevice(kind="Ноутбук", brand="Lenovo", model="T14"))
    texts = await desk.send(OWNER_ID, "/client 0671234567")
    card = texts[-1].splitlines()
    laptop = next(i for i, line in enumerate(card) if "Lenovo" in line)
    iphone = next(i for i, line in enumerate(card) if "iPhone 12" in line)
    assert laptop < iphone, card  # the newest device first
    assert "[6]" in card[laptop + 1] and iphone == laptop + 2, card
    numbers = [line.split("[")[1].split("]")[0] for line in card[iphone + 1:iphone + 4]]
    assert numbers == ["5", "4", "3"], card
    assert "2" in card[iphone + 4] and "[" not in card[iphone + 4], card  # "… and 2 more"


async def test_owner_edits_device_types(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "/settings")
    await desk.tap(OWNER_ID, "Типы устройств")
    await desk.tap(OWNER_ID, "Добавить тип")
    texts = await desk.send(OWNER_ID, "x" * 41)
    assert "от 1 до 40" in texts[-1]
    texts = await desk.send(OWNER_ID, "Наушники")
    assert "Наушники" in desk.buttons(OWNER_ID)
    await desk.tap(OWNER_ID, "Наушники")
    assert "⛔ Наушники" in desk.buttons(OWNER_ID)
    async with session_factory() as s:
        hidden = await s.scalar(select(DeviceType).where(DeviceType.name_ru == "Наушники"))
        assert hidden is not None and not hidden.active
    texts = await desk.send(MASTER_ID, "/settings")  # not staff yet → no access, learns nothing
    assert "Наушники" not in " ".join(texts)


# -- forms: stale buttons, typed data ---------------------------------------------------------

def alerts(desk: Desk) -> list[str]:
    return [a.text or "" for a in desk.bot.calls(AnswerCallbackQuery) if a.show_alert]


async def form(desk: Desk, user_id: int) -> tuple[str | None, dict[str, Any]]:
    key = StorageKey(bot_id=desk.bot.id, chat_id=user_id, user_id=user_id)
    return await desk.dp.storage.get_state(key), await desk.dp.storage.get_data(key)


INTAKE_BUTTONS = [
    IntakeCb(action=IntakeAction.FIELD, field=IntakeField.SERIAL),
    IntakeCb(action=IntakeAction.OPTION, field=IntakeField.CONDITION, arg=1),
    IntakeCb(action=IntakeAction.MASTER, arg=1),
    IntakeCb(action=IntakeAction.SERVICE, arg=1),
    IntakeCb(action=IntakeAction.BACK),
    IntakeCb(action=IntakeAction.CLEAR),
    IntakeCb(action=IntakeAction.KIND, arg=1),
    IntakeCb(action=IntakeAction.OK),
    IntakeCb(action=IntakeAction.CANCEL),
]


async def test_intake_buttons_of_no_current_intake_are_stale(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "/start")
    for data in INTAKE_BUTTONS:  # no form at all
        await desk.press(OWNER_ID, data.pack())
        assert alerts(desk) == ["Кнопка устарела."], (data, desk.bot.session.requests)
        assert not desk.bot.texts() and await form(desk, OWNER_ID) == (None, {})
    # Another form is open (a client's comment): it stays as it was and still takes the text.
    await desk.send(OWNER_ID, "+380671234567")
    await desk.send(OWNER_ID, "Олена")
    await desk.tap(OWNER_ID, "Комментарий")
    before = await form(desk, OWNER_ID)
    for data in INTAKE_BUTTONS:
        await desk.press(OWNER_ID, data.pack())
        assert alerts(desk) == ["Кнопка устарела."], data
        assert await form(desk, OWNER_ID) == before
    await desk.send(OWNER_ID, "Постоянный клиент")
    async with session_factory() as s:
        client = await s.scalar(select(Client))
        assert client is not None and client.comment == "Постоянный клиент"
    # An intake at its "brand and model" question: the review's buttons are not current yet.
    await desk.send(OWNER_ID, "/client 0671234567")
    await desk.tap(OWNER_ID, "Новое устройство")
    await desk.tap(OWNER_ID, "Телефон")
    before = await form(desk, OWNER_ID)
    for data in INTAKE_BUTTONS[:-1]:
        await desk.press(OWNER_ID, data.pack())
        assert alerts(desk) == ["Кнопка устарела."], data
        assert await form(desk, OWNER_ID) == before
    texts = await desk.send(OWNER_ID, "Apple iPhone 12")
    assert "Опишите неисправность" in texts[-1]


async def test_intake_review_fields(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "+380671234567")
    await desk.send(OWNER_ID, "Олена")
    await desk.tap(OWNER_ID, "Телефон")
    texts = await desk.send(OWNER_ID, "x" * 191)
    assert "до 190 символов" in texts[-1]
    await desk.send(OWNER_ID, "Apple iPhone 12")
    texts = await desk.send(OWNER_ID, "x" * 2001)
    assert "не больше 2000 символов" in texts[-1]
    await desk.send(OWNER_ID, "Не заряжается")
    await desk.tap(OWNER_ID, "Серийный")
    texts = await desk.send(OWNER_ID, "S" * 65)
    assert texts[-1] == "Не длиннее 64 символов."
    texts = await desk.send(OWNER_ID, "SN-777")
    assert "Серийный/IMEI: SN-777" in texts[-1]
    await desk.tap(OWNER_ID, "Оценка")
    texts = await desk.send(OWNER_ID, "1 500")
    assert "Оценка: 1" in texts[-1] and "500,00" in texts[-1]
    await desk.tap(OWNER_ID, "Код")
    await desk.send(OWNER_ID, "1234")
    await desk.tap(OWNER_ID, "Код")
    texts = await desk.tap(OWNER_ID, "Очистить")
    assert "Код блокировки: —" in texts[-1]
    await desk.tap(OWNER_ID, "Состояние")
    await desk.tap(OWNER_ID, "Царапины")
    await desk.tap(OWNER_ID, "Сколы")
    assert "✓ Царапины" in desk.buttons(OWNER_ID) and "✓ Сколы" in desk.buttons(OWNER_ID)
    await desk.tap(OWNER_ID, "Царапины")
    texts = await desk.tap(OWNER_ID, "Готово")
    assert "Состояние: Сколы" in texts[-1]
    await desk.tap(OWNER_ID, "Комплект")
    texts = await desk.send(OWNER_ID, "Кабель и чехол")
    assert "Комплект: Кабель и чехол" in texts[-1]
    await desk.tap(OWNER_ID, "Мастер")
    texts = await desk.tap(OWNER_ID, "✓")  # the one who accepts is the master by default
    assert "Мастер: Test" in texts[-1]
    texts = await desk.tap(OWNER_ID, "Принять")
    assert any("[1] Apple iPhone 12" in t for t in texts), texts
    assert await form(desk, OWNER_ID) == (None, {})
    async with session_factory() as s:
        ticket = await s.scalar(select(Ticket))
        assert ticket is not None
        device = await s.get(Device, ticket.device_id)
        assert (ticket.defect, ticket.condition, ticket.kit, ticket.lock_code, ticket.estimate) \
            == ("Не заряжается", "Сколы", "Кабель и чехол", "", 150000)
        assert device is not None and device.serial == "SN-777"


async def test_client_edits(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "+380671234567")
    await desk.tap(OWNER_ID, "Пропустить")
    texts = await desk.press(OWNER_ID, NewClientCb(action=NewClientAction.SKIP).pack())
    assert alerts(desk) == ["Кнопка устарела."] and not texts  # the client exists already
    await desk.tap(OWNER_ID, "✏️ Имя")
    texts = await desk.send(OWNER_ID, "Олена Коваль")
    assert "Олена Коваль" in texts[-1]
    await desk.tap(OWNER_ID, "Доп. телефон")
    texts = await desk.send(OWNER_ID, "12")
    assert "Попробуйте ещё раз" in texts[-1]
    await desk.send(OWNER_ID, "050 111 22 33")
    await desk.tap(OWNER_ID, "✏️ Комментарий")
    await desk.send(OWNER_ID, "VIP")
    await desk.tap(OWNER_ID, "✏️ Комментарий")
    await desk.send(OWNER_ID, "-")
    async with session_factory() as s:
        client = await s.scalar(select(Client))
        assert client is not None
        assert (client.name, client.surname, client.extra_phone, client.comment) == (
            "Олена", "Коваль", "+380501112233", "")


async def test_owner_sets_role_percent_and_deactivates(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await invite_master(desk)
    await desk.send(OWNER_ID, "/staff")
    await desk.tap(OWNER_ID, "Петя")
    await desk.tap(OWNER_ID, "Процент")
    texts = await desk.send(OWNER_ID, "сто")
    assert "от 0 до 100" in texts[-1]
    texts = await desk.send(OWNER_ID, "12,5")
    assert "Процент с работ: 12.5%" in texts[-1]
    await desk.tap(OWNER_ID, "менеджер")
    assert "Сохранено." in [a.text for a in desk.bot.calls(AnswerCallbackQuery)]
    await desk.tap(OWNER_ID, "Отключить")
    async with session_factory() as s:
        master = await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID))
        assert master is not None
        assert (master.role, master.commission_bp, master.active) == (Role.MANAGER, 1250, False)
    texts = await desk.send(MASTER_ID, "/client 067")
    assert "Немає доступу" in texts[-1] or "Нет доступа" in texts[-1]


def test_every_payload_fits_telegram() -> None:
    """callback_data ≤ 64 bytes even with the largest ids and the longest enum values."""
    big = 2**63 - 1
    payloads = [
        *(ClientCb(action=a, id=big, field=f) for a in ClientAction for f in ClientField),
        *(DeviceCb(action=a, id=big) for a in DeviceAction),
        *(IntakeCb(action=a, field=f, arg=big, cid=big) for a in IntakeAction
          for f in IntakeField),
        *(NewClientCb(action=a) for a in NewClientAction),
        *(StaffCb(action=a, id=big, role=r) for a in StaffAction for r in Role),
        *(SettingsCb(action=a, id=big) for a in SettingsAction),
    ]
    assert max(len(p.pack().encode()) for p in payloads) <= 64
