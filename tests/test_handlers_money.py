"""Money UI through the real Dispatcher (fast, no network): receipts, payments with change and
split parts, expenses, the drawer, closing with the commission, refunds, the price list,
payment types, intake services; forged callbacks and outsiders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.desk.models import Role, Staff, Ticket
from db.money.drawer import drawer_balance
from db.money.expenses import add_expense
from db.money.models import (
    Expense,
    Payment,
    PaymentKind,
    Receipt,
    ReceiptLine,
    ReceiptStatus,
    Service,
)
from db.money.payment_types import default_payment_type, list_payment_types
from db.money.payments import pay_receipt
from db.money.price_list import add_service
from db.money.receipts import add_free_line, create_receipt
from db.money.shifts import shift_for_money
from tests.factories import make_staff
from tests.handler_kit import OWNER_ID, Desk
from tests.mocked_bot import make_callback_update
from tests.test_money_support import ticket_at

MASTER_ID = 2
MANAGER_ID = 3
STRANGER_ID = 666


@dataclass
class Shop:
    ticket_id: int
    number: int
    service_id: int


def plain(texts: list[str]) -> str:
    """Everything the bot said, with Babel's no-break spaces as plain ones."""
    return "\n".join(texts).replace("\u00a0", " ").replace("\u202f", " ")


def denied(text: str) -> bool:
    """Outsiders read the client language (uk by default)."""
    return "Нет доступа" in text or "Немає доступу" in text


def alerts(desk: Desk) -> str:
    return " ".join(a.text or "" for a in desk.bot.calls(AnswerCallbackQuery))


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


@pytest.fixture
async def shop(session_factory: async_sessionmaker[AsyncSession]) -> Shop:
    """Owner, a master with 30 %, a manager, a price-list service and a ticket at "ready"."""
    async with session_factory() as s, s.begin():
        owner = await make_staff(s, Role.OWNER, name="Олег", tg_user_id=OWNER_ID)
        master = await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER_ID,
                                  commission_bp=3000)
        await make_staff(s, Role.MANAGER, name="Марина", tg_user_id=MANAGER_ID)
        service = await add_service(s, owner, "SCR1", "Замена экрана", 150000)
        ticket = await ticket_at(s, owner, "ready", master_id=master.id)
        return Shop(ticket.id, ticket.number, service.id)


async def open_payments(desk: Desk, user: int, shop: Shop) -> None:
    await desk.send(user, f"/ticket {shop.number}")
    await desk.tap(user, "💳 Оплата")


async def scalar(session_factory: async_sessionmaker[AsyncSession], query):  # type: ignore[no-untyped-def]
    async with session_factory() as s:
        return await s.scalar(query)


async def test_pay_cash_with_change(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    await open_payments(desk, MASTER_ID, shop)
    texts = await desk.tap(MASTER_ID, "Новый чек")
    assert "Напишите код услуги" in plain(texts)
    texts = await desk.send(MASTER_ID, "scr1")  # a code in any case
    assert "Замена экрана" in plain(texts) and "1 500,00" in plain(texts)
    desk.actions = 0
    texts = await desk.tap(MASTER_ID, "Оплатить 1")  # cash preselected: asks what was handed
    assert "Наличные: сколько получено" in plain(texts) and "1 500,00" in plain(texts)
    assert "2 000,00" in " ".join(desk.buttons(MASTER_ID)).replace("\u00a0", " ")
    assert "💳 Карта" in desk.buttons(MASTER_ID) and "💵 Наличные" not in desk.buttons(MASTER_ID)
    texts = await desk.send(MASTER_ID, "1000")
    assert "меньше" in plain(texts)  # form stays
    texts = await desk.send(MASTER_ID, "2 000 грн")
    assert "Проверьте оплату" in plain(texts) and "Сдача: 500,00" in plain(texts)
    async with session_factory() as s:  # the confirmation is kept: nothing paid yet
        assert await s.scalar(select(func.count()).select_from(Payment)) == 0
    texts = await desk.tap(MASTER_ID, "Оплачено")
    said = plain(texts)
    assert "оплачен" in said and "Сдача: 500,00" in said and "Петя" in said
    assert desk.actions == 4  # 💳 Оплатить, "2 000", ✅ Оплачено, and the refused "1000"
    assert "🧾 Чек" in desk.buttons(MASTER_ID)
    async with session_factory() as s:
        payment = await s.scalar(select(Payment))
        assert (payment.amount, payment.received, payment.change) == (150000, 200000, 50000)
        assert await drawer_balance(s) == 150000
    # The paid receipt cannot be changed: no line buttons, and a forged edit is refused.
    receipt_id = await scalar(session_factory, select(Receipt.id))
    await desk.press(MASTER_ID, f"rc:add:{receipt_id}:0:0")
    assert "уже оплачен" in alerts(desk)


async def test_pay_by_card_in_three_taps(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    await open_payments(desk, MASTER_ID, shop)
    await desk.tap(MASTER_ID, "Новый чек")
    await desk.send(MASTER_ID, "SCR1")
    desk.actions = 0
    await desk.tap(MASTER_ID, "Оплатить 1")
    texts = await desk.tap(MASTER_ID, "💳 Карта")
    assert "Проверьте оплату" in plain(texts) and "Сдача" not in plain(texts)
    texts = await desk.tap(MASTER_ID, "Оплачено")
    assert "оплачен" in plain(texts) and desk.actions == 3
    async with session_factory() as s:
        payment = await s.scalar(select(Payment))
        assert payment is not None and (payment.amount, payment.change) == (150000, 0)
        assert await drawer_balance(s) == 0  # not cash


async def card_receipt(session_factory: async_sessionmaker[AsyncSession], shop: Shop
                       ) -> tuple[int, int]:
    """A 500,00 receipt on the shop's ticket, and the card payment type: their ids."""
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        receipt = await create_receipt(s, owner, shop.ticket_id)
        await add_free_line(s, owner, receipt.id, "Работа", 50000)
        card = await default_payment_type(s, PaymentKind.CASHLESS)
        return receipt.id, card.id


async def test_paying_twice_pays_once(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    rid, card_id = await card_receipt(session_factory, shop)
    await desk.press(MASTER_ID, f"py:start:{rid}:0")
    await desk.press(MASTER_ID, f"py:type:{rid}:{card_id}")
    await desk.press(MASTER_ID, f"py:ok:{rid}:0")
    await desk.press(MASTER_ID, f"py:ok:{rid}:0")  # the double tap
    assert "уже оплачен" in alerts(desk)
    await desk.press(MANAGER_ID, f"py:ok:{rid}:0")  # another phone, a stale screen
    assert await scalar(session_factory, select(func.count()).select_from(Payment)) == 1


async def test_two_phones_with_a_plan_each_pay_once(
        desk: Desk, shop: Shop, session_factory: async_sessionmaker[AsyncSession]) -> None:
    rid, card_id = await card_receipt(session_factory, shop)
    for who in (MASTER_ID, MANAGER_ID):  # both screens say "Проверьте оплату"
        await desk.press(who, f"py:start:{rid}:0")
        await desk.press(who, f"py:type:{rid}:{card_id}")
    await desk.press(MASTER_ID, f"py:ok:{rid}:0")
    texts = await desk.press(MANAGER_ID, f"py:ok:{rid}:0")
    assert "уже оплачен" in alerts(desk)
    assert any("Чек №" in t for t in texts), texts  # the receipt as it is now
    assert await scalar(session_factory, select(func.count()).select_from(Payment)) == 1


async def test_split_payment(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    await open_payments(desk, MASTER_ID, shop)
    await desk.tap(MASTER_ID, "Новый чек")
    await desk.send(MASTER_ID, "SCR1")
    await desk.tap(MASTER_ID, "Оплатить 1")
    await desk.tap(MASTER_ID, "Частями")
    await desk.tap(MASTER_ID, "Наличные")
    texts = await desk.send(MASTER_ID, "2000")
    assert "больше остатка" in plain(texts)
    texts = await desk.send(MASTER_ID, "1 000")
    assert "Осталось: <b>500,00" in plain(texts)
    await desk.tap(MASTER_ID, "Карта")
    texts = await desk.tap(MASTER_ID, "Весь остаток")
    assert "Проверьте оплату" in plain(texts)
    await desk.tap(MASTER_ID, "Дали больше")
    texts = await desk.send(MASTER_ID, "1200")
    assert "Сдача: 200,00" in plain(texts)
    await desk.tap(MASTER_ID, "Оплачено")
    async with session_factory() as s:
        parts = sorted((p.kind, p.amount, p.change) for p in await s.scalars(select(Payment)))
        assert parts == [(PaymentKind.CASH, 100000, 20000), (PaymentKind.CASHLESS, 50000, 0)]
        assert await drawer_balance(s) == 100000


async def test_lines_by_name_free_line_quantity_and_removal(desk: Desk, shop: Shop,
                                                            session_factory) -> None:  # type: ignore[no-untyped-def]
    await open_payments(desk, MASTER_ID, shop)
    await desk.tap(MASTER_ID, "Новый чек")
    texts = await desk.send(MASTER_ID, "ЭКРАН *2")  # name search, any case, with a quantity
    assert "Найдено в прайс-листе: 1" in plain(texts)
    texts = await desk.tap(MASTER_ID, "SCR1 · Замена экрана")
    assert "2 × 1 500,00 ₴ = 3 000,00" in plain(texts)
    texts = await desk.send(MASTER_ID, "Защитное стекло")
    assert "в прайс-листе нет" in plain(texts)
    await desk.tap(MASTER_ID, "своя строка")
    texts = await desk.send(MASTER_ID, "ноль")
    assert "Не понял сумму" in plain(texts)
    texts = await desk.send(MASTER_ID, "150 *3")
    assert "Защитное стекло" in plain(texts) and "3 450,00" in plain(texts)
    await desk.tap(MASTER_ID, "Убрать строку")
    texts = await desk.tap(MASTER_ID, "✖ 1.")
    assert "Замена экрана" not in plain(texts) and "450,00" in plain(texts)
    await desk.tap(MASTER_ID, "Удалить чек")
    texts = await desk.tap(MASTER_ID, "Да, удалить")
    assert "Чеков пока нет" in plain(texts)
    assert await scalar(session_factory, select(func.count()).select_from(Receipt)) == 0


@pytest.mark.parametrize(("text", "kopecks"), [
    ("1200", 120000), ("1 200,50", 120050), ("1200.5", 120050), ("1 200 грн", 120000)])
async def test_amount_inputs_accepted(desk: Desk, shop: Shop, session_factory, text: str,  # type: ignore[no-untyped-def]
                                      kopecks: int) -> None:
    await desk.send(MASTER_ID, f"/ticket {shop.number}")
    await desk.tap(MASTER_ID, "Расходы")
    await desk.tap(MASTER_ID, "Добавить расход")
    await desk.send(MASTER_ID, "Дисплей")
    texts = await desk.send(MASTER_ID, text)
    assert "Чем платили" in plain(texts)
    await desk.tap(MASTER_ID, "Карта")
    assert await scalar(session_factory, select(Expense.amount)) == kopecks


@pytest.mark.parametrize(("text", "says"), [
    ("0", "больше нуля"), ("-5", "без минуса"), ("100000000", "Слишком большая"),
    ("сто", "Не понял сумму"), ("1,234", "не больше двух цифр")])
async def test_amount_inputs_refused(desk: Desk, shop: Shop, session_factory, text: str,  # type: ignore[no-untyped-def]
                                     says: str) -> None:
    await desk.send(MASTER_ID, f"/ticket {shop.number}")
    await desk.tap(MASTER_ID, "Расходы")
    await desk.tap(MASTER_ID, "Добавить расход")
    await desk.send(MASTER_ID, "Дисплей")
    texts = await desk.send(MASTER_ID, text)
    assert says in plain(texts), texts
    texts = await desk.send(MASTER_ID, "300")  # the form stayed
    assert "Чем платили" in plain(texts)


async def test_expenses_tab_and_delete(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(MASTER_ID, f"/ticket {shop.number}")
    await desk.tap(MASTER_ID, "Расходы")
    await desk.tap(MASTER_ID, "Добавить расход")
    await desk.send(MASTER_ID, "Дисплей")
    await desk.send(MASTER_ID, "300")
    await desk.tap(MASTER_ID, "Наличные")  # the drawer is empty: cash cannot leave it
    assert "В кассе только 0,00" in alerts(desk).replace("\u00a0", " ")
    texts = await desk.tap(MASTER_ID, "Карта")
    assert "Дисплей" in plain(texts) and "Итого: 300,00" in plain(texts)
    assert not [b for b in desk.buttons(MASTER_ID) if b.startswith("🗑")]  # masters don't delete
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        card = await default_payment_type(s, PaymentKind.CASHLESS)
        expense = await add_expense(s, owner, shop.ticket_id, "Шлейф", 12000, card.id)
        expense_id = expense.id
    await desk.press(MASTER_ID, f"ex:del:{shop.ticket_id}:{expense_id}")
    assert "владелец или менеджер" in alerts(desk)
    await desk.send(MANAGER_ID, f"/ticket {shop.number}")
    await desk.tap(MANAGER_ID, "Расходы")
    await desk.tap(MANAGER_ID, "🗑 2. Шлейф")
    texts = await desk.tap(MANAGER_ID, "Да, удалить")
    assert "Шлейф" not in plain(texts)
    await desk.press(MANAGER_ID, f"ex:delok:{shop.ticket_id + 1}:{expense_id}")
    assert "Не найдено" in alerts(desk)


async def test_drawer_cash_in_out_and_quick_sale(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    texts = await desk.send(OWNER_ID, "/cash")
    assert "В кассе сейчас: <b>0,00" in plain(texts)
    await desk.tap(OWNER_ID, "Внесение")
    await desk.send(OWNER_ID, "500")
    texts = await desk.send(OWNER_ID, "размен")
    said = plain(texts)
    assert "Внесено 500,00" in said and "В кассе сейчас: <b>500,00" in said and "размен" in said
    await desk.tap(OWNER_ID, "Изъятие")
    await desk.send(OWNER_ID, "800")
    texts = await desk.send(OWNER_ID, "инкассация")
    assert "В кассе только 500,00" in plain(texts)
    # Quick sale without a ticket, paid in cash.
    await desk.tap(OWNER_ID, "← Касса")
    await desk.tap(OWNER_ID, "Продажа без обращения")
    await desk.tap(OWNER_ID, "Своя строка")
    await desk.send(OWNER_ID, "Кабель USB-C")
    await desk.send(OWNER_ID, "250 *2")
    await desk.tap(OWNER_ID, "Оплатить")
    await desk.tap(OWNER_ID, "Без сдачи")
    texts = await desk.tap(OWNER_ID, "Оплачено")
    assert "← Касса" in desk.buttons(OWNER_ID)
    texts = await desk.tap(OWNER_ID, "← Касса")
    said = plain(texts)
    assert "В кассе сейчас: <b>1 000,00" in said and "+500,00" in said and "внесение" in said


async def test_master_is_not_offered_refunds_or_cash_moves(desk: Desk, shop: Shop,
                                                           session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        receipt = await create_receipt(s, owner, shop.ticket_id)
        await add_free_line(s, owner, receipt.id, "Работа", 50000)
        cash = await default_payment_type(s, PaymentKind.CASH)
        await pay_receipt(s, owner, receipt.id, [(cash.id, 50000, None)])
        rid = receipt.id
    await desk.send(MASTER_ID, "/cash")
    assert "➕ Внесение" not in desk.buttons(MASTER_ID)
    await desk.press(MASTER_ID, "cs:in:0")
    assert "владелец или менеджер" in alerts(desk)
    await desk.press(MASTER_ID, f"rc:view:{rid}:0:0")
    assert "↩️ Возврат" not in desk.buttons(MASTER_ID)
    await desk.press(MASTER_ID, f"rf:start:{rid}:0")
    assert "владелец или менеджер" in alerts(desk)
    await desk.press(MANAGER_ID, f"rc:view:{rid}:0:0")
    assert "↩️ Возврат" in desk.buttons(MANAGER_ID)


async def test_partial_refund(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        receipt = await create_receipt(s, owner, shop.ticket_id)
        await add_free_line(s, owner, receipt.id, "Стекло", 15000, 2000)
        await add_free_line(s, owner, receipt.id, "Работа", 50000)
        cash = await default_payment_type(s, PaymentKind.CASH)
        await pay_receipt(s, owner, receipt.id, [(cash.id, 80000, None)])
        rid = receipt.id
    await desk.press(OWNER_ID, f"rc:view:{rid}:0:0")
    texts = await desk.tap(OWNER_ID, "↩️ Возврат")
    assert "Возврат по чеку" in plain(texts)
    texts = await desk.tap(OWNER_ID, "1. Стекло: 0 из 2")
    assert "К возврату: <b>150,00" in plain(texts)
    await desk.tap(OWNER_ID, "Далее")
    texts = await desk.tap(OWNER_ID, "Наличные")
    assert "Вернуть клиенту <b>150,00" in plain(texts)
    texts = await desk.tap(OWNER_ID, "Вернуть 150")
    assert "Возврат №" in plain(texts)
    async with session_factory() as s:
        assert await drawer_balance(s) == 65000
        original = await s.get(Receipt, rid)
        assert original.total == 80000 and original.status == ReceiptStatus.PAID
    # Everything left, then nothing more.
    await desk.press(OWNER_ID, f"rf:start:{rid}:0")
    await desk.tap(OWNER_ID, "Вернуть всё (650,00")
    await desk.tap(OWNER_ID, "Карта")
    await desk.tap(OWNER_ID, "✅ Вернуть")
    await desk.press(OWNER_ID, f"rf:start:{rid}:0")
    assert "уже всё возвращено" in alerts(desk)


async def test_close_ticket_with_commission(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        cash = await default_payment_type(s, PaymentKind.CASH)
        paid = await create_receipt(s, owner, shop.ticket_id)
        await add_free_line(s, owner, paid.id, "Работа", 150000)
        await pay_receipt(s, owner, paid.id, [(cash.id, 150000, None)])
        await add_expense(s, owner, shop.ticket_id, "Дисплей", 30000, cash.id)
        unpaid = await create_receipt(s, owner, shop.ticket_id)
        await add_free_line(s, owner, unpaid.id, "Плёнка", 20000)
    await desk.send(MASTER_ID, f"/ticket {shop.number}")
    texts = await desk.tap(MASTER_ID, "Закрыть обращение")
    assert "Не оплачен чек" in plain(texts)
    texts = await desk.tap(MASTER_ID, "Далее")
    said = plain(texts)
    assert "30% от 1 200,00 ₴ = <b>360,00" in said and "останется долгом" in said
    await desk.press(MASTER_ID, f"cl:ok:{shop.ticket_id}:0")  # forged: no debt confirmation
    assert "Суммы изменились" in alerts(desk)
    texts = await desk.tap(MASTER_ID, "Закрыть с долгом 200,00")
    assert "закрыто" in plain(texts) and "Выдан" in plain(texts)
    async with session_factory() as s:
        ticket = await s.get(Ticket, shop.ticket_id)
        assert (ticket.commission, ticket.commission_bp, ticket.commission_base) == (
            36000, 3000, 120000)
    await desk.press(MASTER_ID, f"cl:ok:{shop.ticket_id}:20000")
    assert "уже закрыто" in alerts(desk)


async def test_close_needs_ready_status(desk: Desk, session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s, s.begin():
        owner = await make_staff(s, Role.OWNER, tg_user_id=OWNER_ID)
        ticket = await ticket_at(s, owner, "in_work")
        tid = ticket.id
    await desk.press(OWNER_ID, f"cl:next:{tid}:0")
    texts = await desk.tap(OWNER_ID, "Можно забирать")
    assert "Можно забирать" in plain(texts)
    texts = await desk.tap(OWNER_ID, "Закрыть обращение")
    texts = await desk.tap(OWNER_ID, "Далее")
    assert "Мастер не назначен" in plain(texts)
    texts = await desk.tap(OWNER_ID, "✅ Закрыть обращение")
    assert "закрыто" in plain(texts)


async def test_price_list(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "/services")
    await desk.tap(OWNER_ID, "Добавить услугу")
    await desk.send(OWNER_ID, "scr1")
    await desk.send(OWNER_ID, "Дубль")
    texts = await desk.send(OWNER_ID, "100")
    assert "уже занят" in plain(texts)
    await desk.send(OWNER_ID, "diag")
    await desk.send(OWNER_ID, "Диагностика")
    texts = await desk.send(OWNER_ID, "0")
    assert "Услуга добавлена" in plain(texts) and "DIAG" in plain(texts)
    await desk.tap(OWNER_ID, "✏️ Цена")
    texts = await desk.send(OWNER_ID, "250,5")
    assert "250,50" in plain(texts)
    texts = await desk.tap(OWNER_ID, "В архив")
    assert "В архиве" in plain(texts)
    async with session_factory() as s:
        service = await s.scalar(select(Service).where(Service.code == "DIAG"))
        assert service.archived and service.price == 25050
    # Many services: paginated, each page well inside Telegram's limit.
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        for i in range(25):
            await add_service(s, owner, f"X{i:02d}", "Очень длинное название услуги " * 7, 1000)
    texts = await desk.send(MASTER_ID, "/services")
    assert "стр. 1/3" in texts[-1] and len(texts[-1]) < 4096
    assert "Добавить услугу" not in desk.buttons(MASTER_ID)
    await desk.press(MASTER_ID, f"pl:edit:{shop.service_id}:3")
    assert "владелец или менеджер" in alerts(desk)
    texts = await desk.send(MASTER_ID, "/services экран")
    assert "SCR1" in plain(texts)


async def test_payment_types_settings(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(OWNER_ID, "/settings")
    await desk.tap(OWNER_ID, "Способы оплаты")
    await desk.tap(OWNER_ID, "Добавить способ")
    await desk.send(OWNER_ID, "Перевод на карту / Переказ на картку")
    texts = await desk.tap(OWNER_ID, "Безналичные")
    assert "Переказ на картку" in plain(texts)
    await desk.tap(OWNER_ID, "⬆️ Выше")
    await desk.tap(OWNER_ID, "Отключить")
    await open_payments(desk, MASTER_ID, shop)
    await desk.tap(MASTER_ID, "Новый чек")
    await desk.send(MASTER_ID, "SCR1")
    await desk.tap(MASTER_ID, "Оплатить 1")
    assert not [b for b in desk.buttons(MASTER_ID) if "Перевод" in b]
    await desk.send(MASTER_ID, "/settings")
    assert "Эта команда" in desk.last_text()


async def test_the_last_payment_type_cannot_be_switched_off(desk: Desk, shop: Shop,
                                                             session_factory) -> None:  # type: ignore[no-untyped-def]
    for name in ("Карта", "Наличные"):
        await desk.send(OWNER_ID, "/settings")
        await desk.tap(OWNER_ID, "Способы оплаты")
        await desk.tap(OWNER_ID, name)
        await desk.tap(OWNER_ID, "Отключить")
    answer = desk.bot.session.requests[-1]
    assert "хотя бы один способ оплаты" in (getattr(answer, "text", "") or ""), answer
    async with session_factory() as s:
        active = await list_payment_types(s)
    assert [t.name_ru for t in active] == ["Наличные"]


async def test_intake_with_services_makes_the_quote(desk: Desk, shop: Shop,
                                                    session_factory) -> None:  # type: ignore[no-untyped-def]
    await desk.send(MASTER_ID, "+38 (067) 765-43-21")
    await desk.send(MASTER_ID, "Анна")
    await desk.tap(MASTER_ID, "Телефон")
    await desk.send(MASTER_ID, "Samsung A52")
    await desk.send(MASTER_ID, "Разбит экран")
    await desk.tap(MASTER_ID, "🧾 Услуги")
    texts = await desk.send(MASTER_ID, "замена")
    assert "Найдено: 1" in plain(texts)
    texts = await desk.tap(MASTER_ID, "SCR1")
    assert "Замена экрана = 1 500,00" in plain(texts)
    texts = await desk.tap(MASTER_ID, "Принять")
    assert "🟡 к оплате: 1 500,00" in plain(texts)
    async with session_factory() as s:
        receipt = await s.scalar(select(Receipt).order_by(Receipt.id.desc()))
        ticket = await s.get(Ticket, receipt.ticket_id)
        assert receipt.total == 150000 and receipt.status == ReceiptStatus.UNPAID
        assert ticket.number == shop.number + 1


async def test_stale_shift_refuses_money_with_a_way_out(desk: Desk, shop: Shop,
                                                        session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        await shift_for_money(s, owner, utcnow() - timedelta(hours=25))
        receipt = await create_receipt(s, owner, shop.ticket_id)
        await add_free_line(s, owner, receipt.id, "Работа", 50000)
        rid = receipt.id
    await desk.press(MASTER_ID, f"py:start:{rid}:0")
    await desk.tap(MASTER_ID, "Без сдачи")
    await desk.tap(MASTER_ID, "Оплачено")
    assert "больше 24 часов" in alerts(desk) and "/shift" in alerts(desk)
    texts = await desk.send(MASTER_ID, "/cash")
    assert "больше 24 часов" in plain(texts)


async def test_forged_callbacks_answer_not_found(desk: Desk, shop: Shop) -> None:
    for data in ("rc:view:999:0:0", "rc:tab:999:0:0", "py:start:999:0", "rf:start:999:0",
                 "cl:start:999:0", "ex:tab:999:0", "pl:card:999:0"):
        await desk.press(OWNER_ID, data)
        assert "Не найдено" in alerts(desk), data
    await desk.press(OWNER_ID, "rc:dl:999:1:0")
    assert "Не найдено" in alerts(desk)
    await desk.press(OWNER_ID, "rc:view:abc:0:0")  # not even an id
    assert "устарела" in alerts(desk)


async def test_stranger_gets_no_access(desk: Desk, shop: Shop, session_factory) -> None:  # type: ignore[no-untyped-def]
    for command in ("/cash", "/services", "/services экран", "/shift"):
        texts = await desk.send(STRANGER_ID, command)
        assert texts and denied(texts[-1]), command
    for data in (f"rc:tab:{shop.ticket_id}:0:0", "rc:new:1:0:0", "py:ok:1:0", "rf:start:1:0",
                 "cl:ok:1:0", "ex:add:1:0", "cs:in:0", "cs:sale:0", "pl:add:0:0", "pt:list:0:0"):
        await desk.press(STRANGER_ID, data)
        assert denied(alerts(desk)), data
    assert await scalar(session_factory, select(func.count()).select_from(Receipt)) == 0


async def test_cash_section_button_for_every_role(desk: Desk, shop: Shop) -> None:
    await desk.send(MASTER_ID, "/start")
    keyboard = desk.bot.last(SendMessage).reply_markup
    assert "💰 Касса" in [b.text for row in keyboard.keyboard for b in row]
    texts = await desk.send(MASTER_ID, "💰 Касса")
    assert "В кассе сейчас" in plain(texts)


async def test_two_phones_pay_the_same_receipt_at_once(desk: Desk, shop: Shop,
                                                       session_factory) -> None:  # type: ignore[no-untyped-def]
    rid, card_id = await card_receipt(session_factory, shop)
    for user in (MASTER_ID, MANAGER_ID):
        await desk.press(user, f"py:start:{rid}:0")
        await desk.press(user, f"py:type:{rid}:{card_id}")
    desk.bot.clear()
    await asyncio.gather(*(desk.dp.feed_update(desk.bot, make_callback_update(
        f"py:ok:{rid}:0", user_id=user)) for user in (MASTER_ID, MANAGER_ID)))
    assert "уже оплачен" in alerts(desk)
    assert await scalar(session_factory, select(func.count()).select_from(Payment)) == 1


async def test_a_line_of_another_receipt_is_not_found(desk: Desk, shop: Shop,
                                                      session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        mine = await create_receipt(s, owner, shop.ticket_id)
        other = await create_receipt(s, owner, None)
        line = await add_free_line(s, owner, other.id, "Чужое", 1000)
        mine_id, line_id = mine.id, line.id
    await desk.press(MASTER_ID, f"rc:dl:{mine_id}:{line_id}:0")
    assert "Не найдено" in alerts(desk)
    assert await scalar(session_factory, select(func.count()).select_from(ReceiptLine)) == 1


async def test_long_lists_stay_inside_telegram_limits(desk: Desk, shop: Shop,
                                                      session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        receipt = await create_receipt(s, owner, shop.ticket_id)
        for i in range(100):
            await add_free_line(s, owner, receipt.id, f"Деталь {i} " + "я" * 240, 1000, 1500)
        card = await default_payment_type(s, PaymentKind.CASHLESS)
        for i in range(30):
            await add_expense(s, owner, shop.ticket_id, f"{i} " + "ж" * 490, 100, card.id)
        rid = receipt.id
    texts = await desk.press(OWNER_ID, f"rc:view:{rid}:0:0")
    assert "ещё строк: 75" in texts[-1] and len(texts[-1]) <= 4096
    texts = await desk.tap(OWNER_ID, "Убрать строку")
    assert "1/10" in desk.buttons(OWNER_ID)
    texts = await desk.press(OWNER_ID, f"ex:tab:{shop.ticket_id}:0")
    assert "Итого: 30,00" in plain(texts) and len(texts[-1]) <= 4096
    assert "1/3" in desk.buttons(OWNER_ID)
    texts = await desk.tap(OWNER_ID, "▶️")
    assert "Итого: 30,00" in plain(texts) and "2/3" in desk.buttons(OWNER_ID)


async def test_buttons_of_a_form_that_is_not_current_are_stale(desk: Desk, shop: Shop,
                                                               session_factory) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        ids = []
        for _i in range(2):
            receipt = await create_receipt(s, owner, shop.ticket_id)
            await add_free_line(s, owner, receipt.id, "Работа", 50000)
            ids.append(receipt.id)
        card = await default_payment_type(s, PaymentKind.CASHLESS)
        a, b, card_id = ids[0], ids[1], card.id
    await desk.press(MASTER_ID, f"py:start:{a}:0")  # paying receipt a, not b
    for data in (f"py:exact:{b}:0", f"py:part:{b}:{card_id}", f"py:rest:{b}:{card_id}",
                 f"py:conf:{b}:0", f"py:more:{b}:0", f"py:back:{b}:0",
                 f"ex:type:{shop.ticket_id}:{card_id}", f"rc:svc:{b}:{shop.service_id}:1000"):
        await desk.press(MASTER_ID, data)
        assert "устарела" in alerts(desk), data
    await desk.press(MASTER_ID, f"py:ok:{b}:0")
    assert "Оплата не собрана" in alerts(desk)
    for data in (f"rf:type:{a}:{card_id}", f"rf:ok:{a}:{card_id}", f"rf:line:{a}:1"):
        await desk.press(OWNER_ID, data)
        assert "устарела" in alerts(desk), data
    await desk.press(OWNER_ID, "pt:kind:0:cash")  # a new type's kind, with no name typed
    assert "устарела" in alerts(desk)
    assert await scalar(session_factory, select(func.count()).select_from(Payment)) == 0
    assert await scalar(session_factory, select(func.count()).select_from(Expense)) == 0
    assert await scalar(session_factory, select(func.count()).select_from(ReceiptLine)) == 2
