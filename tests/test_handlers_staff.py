"""Staff front office through the real Dispatcher (fast, no network)."""

from __future__ import annotations

import pytest
from aiogram.methods import SendPhoto, SetMyCommands
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import Client, Comment, DeviceType, Staff, Ticket
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
    assert "не найден" in texts[-1]
    await desk.tap(MASTER_ID, "Создать")
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
