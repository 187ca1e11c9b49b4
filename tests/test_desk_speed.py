"""The front desk's everyday flows, counted in the person's actions (every message sent, every
button pressed; photos picked together arrive as an album: one action), through the real
Dispatcher. The README's "Intake in N actions" states these counts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.desk.models import Attachment, Client, Device, Status, StatusKind, Ticket
from db.money.models import Payment
from tests.handler_kit import OWNER_ID, Desk

NEW_CLIENT_ACTIONS = 6  # phone, name, "model, defect", album, serial, ✅ (was 11)
NEW_CLIENT_BY_BUTTONS = 8  # phone, name, type, model, defect, album, serial, ✅
RETURNING_CLIENT_ACTIONS = 6  # 4 digits, ➕ device, "model, defect", album, serial, ✅ (was 10)
REPEAT_VISIT_ACTIONS = 5  # last 4 digits, 📱 device, ➕ ticket, defect, ✅ (was 5)
CASH_WITH_CHANGE_ACTIONS = 3  # 💳 Оплатить, the sum received, ✅ Оплачено (was 4)


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


def plain(texts: list[str]) -> str:
    return "\n".join(texts).replace("\u00a0", " ").replace("\u202f", " ")


async def new_client_intake(desk: Desk) -> None:
    """New client + new device + ticket, with a name, type, model, defect, 2 photos, serial."""
    await desk.send(OWNER_ID, "/start")
    desk.actions = 0
    texts = await desk.send(OWNER_ID, "+38 (067) 123-45-67")
    assert "не найден" in texts[-1] and "Имя и фамилия" in texts[-1]  # no "➕ Создать" first
    texts = await desk.send(OWNER_ID, "Иван Петренко")
    assert "Какое устройство" in texts[-1] and "бренд и модель" in texts[-1]
    texts = await desk.send(OWNER_ID, "Apple iPhone 12, не заряжается")
    assert "Приём: Телефон Apple iPhone 12" in texts[-1]  # the type guessed from the model
    assert "Неисправность: не заряжается" in texts[-1]
    texts = await desk.album(OWNER_ID, "ph1", "ph2")
    assert "Фото: 2" in texts[-1]
    texts = await desk.send(OWNER_ID, "35 209900 176148 1")  # an IMEI, no 🔢 button first
    assert "Серийный/IMEI: 35 209900 176148 1" in texts[-1]
    texts = await desk.tap(OWNER_ID, "Принять")
    assert any("[1] Apple iPhone 12 — Иван Петренко" in t for t in texts), texts


async def test_new_client_device_and_ticket(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await new_client_intake(desk)
    assert desk.actions == NEW_CLIENT_ACTIONS
    async with session_factory() as s:
        ticket = await s.scalar(select(Ticket))
        assert ticket is not None and ticket.defect == "не заряжается"
        device = await s.get(Device, ticket.device_id)
        client = await s.get(Client, ticket.client_id)
        assert device is not None and client is not None
        assert (device.kind, device.brand, device.model, device.serial) == (
            "Телефон", "Apple", "iPhone 12", "35 209900 176148 1")
        assert (client.name, client.surname) == ("Иван", "Петренко")
        assert await s.scalar(select(func.count()).select_from(Attachment)) == 2


async def test_new_client_by_the_buttons(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    """The type tapped, model and defect each a message of their own: still ≤ 8."""
    desk.actions = 0
    await desk.send(OWNER_ID, "067 555 44 33")
    await desk.send(OWNER_ID, "Олена")
    texts = await desk.tap(OWNER_ID, "Ноутбук")
    assert "бренд и модель" in texts[-1]
    texts = await desk.send(OWNER_ID, "HP 250 G8")
    assert "Опишите неисправность" in texts[-1] and "другой — кнопкой" not in texts[-1]
    await desk.send(OWNER_ID, "Не включается")
    await desk.album(OWNER_ID, "a1", "a2")
    await desk.send(OWNER_ID, "5CD1234XYZ")
    texts = await desk.tap(OWNER_ID, "Принять")
    assert any("[1] HP 250 G8" in t for t in texts), texts
    assert desk.actions == NEW_CLIENT_BY_BUTTONS
    async with session_factory() as s:
        device = await s.scalar(select(Device))
        assert device is not None and (device.kind, device.serial) == ("Ноутбук", "5CD1234XYZ")


async def test_returning_client_new_device(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await new_client_intake(desk)
    desk.actions = 0
    texts = await desk.send(OWNER_ID, "4567")
    assert "Иван Петренко" in texts[-1]
    texts = await desk.tap(OWNER_ID, "Новое устройство")
    assert "бренд и модель" in texts[-1]
    texts = await desk.send(OWNER_ID, "Lenovo IdeaPad 5, залит чаем")
    assert "Приём: Ноутбук Lenovo IdeaPad 5" in texts[-1]
    await desk.album(OWNER_ID, "l1", "l2")
    texts = await desk.send(OWNER_ID, "PF2ABCD1")
    assert "Серийный/IMEI: PF2ABCD1" in texts[-1]
    texts = await desk.tap(OWNER_ID, "Принять")
    assert any("[2] Lenovo IdeaPad 5 — Иван Петренко" in t for t in texts), texts
    assert desk.actions == RETURNING_CLIENT_ACTIONS
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Client)) == 1
        assert await s.scalar(select(func.count()).select_from(Attachment)) == 4


async def test_repeat_visit_on_a_known_device(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await new_client_intake(desk)
    async with session_factory() as s, s.begin():
        issued = await s.scalar(select(Status).where(Status.kind == StatusKind.DONE))
        ticket = await s.scalar(select(Ticket))
        assert issued is not None and ticket is not None
        ticket.status_id, ticket.closed_at = issued.id, utcnow()
    desk.actions = 0
    await desk.send(OWNER_ID, "4567")
    await desk.tap(OWNER_ID, "📱 Apple iPhone 12")
    texts = await desk.tap(OWNER_ID, "Новое обращение")
    assert "Опишите" in texts[-1]
    texts = await desk.send(OWNER_ID, "Снова не заряжается")
    assert "Приём: Apple iPhone 12" in texts[-1] and "Тип:" not in " ".join(desk.buttons(OWNER_ID))
    texts = await desk.tap(OWNER_ID, "Принять")
    assert any("[2] Apple iPhone 12" in t for t in texts), texts
    assert desk.actions == REPEAT_VISIT_ACTIONS


async def test_a_guessed_type_changes_with_one_tap(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "067 555 44 33")
    await desk.send(OWNER_ID, "Олена")
    texts = await desk.send(OWNER_ID, "Xiaomi Redmi Note 8")
    assert "тип «Телефон», другой — кнопкой" in texts[-1] and "Опишите неисправность" in texts[-1]
    assert "✓ Телефон" in desk.buttons(OWNER_ID)
    desk.actions = 0
    texts = await desk.tap(OWNER_ID, "Планшет")  # the one tap
    assert "Планшет Xiaomi Redmi Note 8" in texts[-1] and desk.actions == 1
    assert "✓ Планшет" in desk.buttons(OWNER_ID)
    texts = await desk.send(OWNER_ID, "Разбит экран")
    assert "Приём: Планшет Xiaomi Redmi Note 8" in texts[-1]
    await desk.tap(OWNER_ID, "🔁 Тип: Планшет")  # on the review: the types, or a typed one
    texts = await desk.send(OWNER_ID, "Электросамокат")
    assert "Приём: Электросамокат Xiaomi Redmi Note 8" in texts[-1]
    await desk.tap(OWNER_ID, "Принять")
    async with session_factory() as s:
        device = await s.scalar(select(Device))
        assert device is not None and device.kind == "Электросамокат"


async def test_review_text_that_is_no_serial_gets_the_hint(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "067 555 44 33")
    await desk.send(OWNER_ID, "Олена")
    await desk.send(OWNER_ID, "iPhone 11, не включается")
    for text in ("привет", "1234", "#1"):
        texts = await desk.send(OWNER_ID, text)
        assert "Серийный/IMEI: —" not in plain(texts), text
        assert "серийный номер" in texts[-1], (text, texts)
    async with session_factory() as s:
        assert await s.scalar(select(Ticket)) is None


async def test_hash_number_opens_the_ticket_outside_forms(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await new_client_intake(desk)
    # After "👥 Клиенты" (whose prompt names #номер): the ticket, not its client.
    await desk.send(OWNER_ID, "👥 Клиенты")
    texts = await desk.send(OWNER_ID, "#1")
    assert texts[-1].startswith("🛠") or "[1]" in texts[-1].splitlines()[0], texts
    assert "Статус" in " ".join(desk.buttons(OWNER_ID))
    # After a phone nobody has ("not found, name?"): "#1" is no name.
    await desk.send(OWNER_ID, "050 000 00 01")
    texts = await desk.send(OWNER_ID, "#1")
    assert "[1]" in texts[-1].splitlines()[0]
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Client)) == 1
    # Inside the intake "#2" is not a model: the form stays and says what it waits for.
    await desk.send(OWNER_ID, "4567")
    await desk.tap(OWNER_ID, "Новое устройство")
    await desk.tap(OWNER_ID, "Ноутбук")
    texts = await desk.send(OWNER_ID, "#2")
    assert "жду бренд и модель" in texts[-1] and "/ticket 2" in texts[-1]
    texts = await desk.send(OWNER_ID, "/ticket 1")  # opens the card, the intake goes on
    assert "[1]" in texts[-1].splitlines()[0]
    texts = await desk.send(OWNER_ID, "Lenovo T14")
    assert "Опишите неисправность" in texts[-1]
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Device)) == 1


async def test_client_card_lists_open_tickets_as_buttons(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await new_client_intake(desk)
    await desk.send(OWNER_ID, "4567")
    assert any(b.endswith(" [1] Apple iPhone 12") for b in desk.buttons(OWNER_ID)), \
        desk.buttons(OWNER_ID)
    texts = await desk.tap(OWNER_ID, "[1] Apple iPhone 12")
    assert "[1] Apple iPhone 12 — Иван Петренко" in texts[-1]
    async with session_factory() as s, s.begin():  # a closed ticket leaves the list
        issued = await s.scalar(select(Status).where(Status.kind == StatusKind.DONE))
        ticket = await s.scalar(select(Ticket))
        assert issued is not None and ticket is not None
        ticket.status_id, ticket.closed_at = issued.id, utcnow()
    await desk.send(OWNER_ID, "4567")
    assert not [b for b in desk.buttons(OWNER_ID) if "[1]" in b]


async def test_cash_payment_with_change(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "/start")
    await desk.send(OWNER_ID, "/services")
    await desk.tap(OWNER_ID, "Добавить услугу")
    await desk.send(OWNER_ID, "scr1")
    await desk.send(OWNER_ID, "Замена экрана")
    await desk.send(OWNER_ID, "1 500")
    await desk.send(OWNER_ID, "067 123 45 67")
    await desk.send(OWNER_ID, "Иван")
    await desk.send(OWNER_ID, "iPhone 12, разбит экран")
    await desk.tap(OWNER_ID, "🧾 Услуги")
    await desk.send(OWNER_ID, "SCR1")
    texts = await desk.tap(OWNER_ID, "Принять")
    assert "к оплате: 1 500,00" in plain(texts)
    desk.actions = 0
    texts = await desk.tap(OWNER_ID, "Оплатить 1")
    assert "Наличные: сколько получено" in plain(texts)
    texts = await desk.send(OWNER_ID, "2000")
    said = plain(texts)
    assert "Проверьте оплату" in said and "Сдача: 500,00" in said  # the confirmation, kept
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Payment)) == 0
    texts = await desk.tap(OWNER_ID, "Оплачено")
    assert "оплачен" in plain(texts) and "Сдача: 500,00" in plain(texts)
    assert desk.actions == CASH_WITH_CHANGE_ACTIONS
    async with session_factory() as s:
        payment = await s.scalar(select(Payment))
        assert payment is not None
        assert (payment.amount, payment.received, payment.change) == (150000, 200000, 50000)


async def test_a_model_no_rule_knows_is_other_until_changed(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "067 555 44 33")
    await desk.send(OWNER_ID, "Олена")
    texts = await desk.send(OWNER_ID, "Bosch GSR 12V, не крутит")
    assert "Приём: Другое Bosch GSR 12V" in texts[-1] and "Неисправность: не крутит" in texts[-1]
    await desk.tap(OWNER_ID, "🔁 Тип: Другое")
    texts = await desk.tap(OWNER_ID, "Компьютер")
    assert "Приём: Компьютер Bosch GSR 12V" in texts[-1]
    texts = await desk.send(OWNER_ID, "Наушники")  # not a serial: the hint, nothing changed
    assert "серийный номер" in texts[-1]


async def test_an_album_before_the_defect_is_kept_and_answered_once(desk: Desk,
                                                                    session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "067 555 44 33")
    await desk.send(OWNER_ID, "Олена")
    await desk.send(OWNER_ID, "iPhone 11")
    texts = await desk.album(OWNER_ID, "d1", "d2", "d3")
    assert len(texts) == 1 and "Фото добавлены" in texts[0], texts  # one action, one answer
    texts = await desk.photo(OWNER_ID, "d4")  # a single photo after it: answered too
    assert len(texts) == 1 and "Фото добавлены" in texts[0], texts
    texts = await desk.send(OWNER_ID, "Не включается")
    assert "Фото: 4" in texts[-1]
    await desk.tap(OWNER_ID, "Принять")
    async with session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Attachment)) == 4
