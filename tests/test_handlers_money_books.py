"""Money that matches the books, through the real Dispatcher: a refund by amount (💵 on a
line), the commission following it on the ticket card, and the owner's switch whether masters
see the drawer and the shift totals."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import Staff
from db.money.closing import close_ticket
from db.money.drawer import drawer_balance
from db.money.models import PaymentKind, ReceiptLine
from db.money.payment_types import default_payment_type
from db.money.payments import pay_receipt
from db.money.receipts import add_free_line, create_receipt
from db.money.visibility import masters_see_cash
from tests.handler_kit import OWNER_ID, Desk
from tests.test_handlers_money import (
    MANAGER_ID,
    MASTER_ID,
    Shop,
    alerts,
    desk,
    plain,
    shop,
)

__all__ = ["desk", "shop"]  # fixtures, imported for pytest


async def paid_on_ticket(session_factory: async_sessionmaker[AsyncSession], shop: Shop,
                         price: int = 150000, *, close: bool = False) -> int:
    async with session_factory() as s, s.begin():
        owner = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        master = await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID))
        assert owner is not None and master is not None
        receipt = await create_receipt(s, owner, shop.ticket_id)
        await add_free_line(s, owner, receipt.id, "Замена экрана", price)
        cash = await default_payment_type(s, PaymentKind.CASH)
        await pay_receipt(s, owner, receipt.id, [(cash.id, price, None)])
        if close:
            await close_ticket(s, master, shop.ticket_id)
        return receipt.id


async def test_refund_by_amount_and_the_commission_after_closing(
        desk: Desk, shop: Shop, session_factory: async_sessionmaker[AsyncSession]) -> None:
    rid = await paid_on_ticket(session_factory, shop, close=True)
    await desk.send(OWNER_ID, f"/ticket {shop.number}")
    assert "Мастеру: 450,00 ₴ (30% от 1 500,00 ₴)" in plain([desk.last_text()])

    await desk.press(OWNER_ID, f"rc:view:{rid}:0:0")
    await desk.tap(OWNER_ID, "↩️ Возврат")
    texts = await desk.tap(OWNER_ID, "💵 Сумма")
    assert "Сколько вернуть за «Замена экрана»? Можно до 1 500,00" in plain(texts)
    texts = await desk.send(OWNER_ID, "1600")
    assert ("Столько вернуть нельзя: по строке осталось 1 500,00 ₴, а нужно 1 600,00 ₴"
            in plain(texts))
    texts = await desk.send(OWNER_ID, "сто")
    assert texts and "500" not in plain(texts)  # an answer, nothing taken
    texts = await desk.send(OWNER_ID, "500")
    said = plain(texts)
    assert "К возврату: <b>500,00" in said and "💵 500,00" in plain(desk.buttons(OWNER_ID))
    await desk.tap(OWNER_ID, "Далее")
    texts = await desk.tap(OWNER_ID, "Наличные")
    said = plain(texts)
    assert "Вернуть клиенту <b>500,00" in said and "Замена экрана — часть суммы: 500,00" in said
    texts = await desk.tap(OWNER_ID, "✅ Вернуть 500")
    assert "Возврат №" in plain(texts)

    async with session_factory() as s:
        assert await drawer_balance(s) == 100000
        [back] = list(await s.scalars(select(ReceiptLine).where(ReceiptLine.by_amount)))
        assert (back.price, back.quantity, back.amount) == (50000, 1000, 50000)
    # the commission follows the money kept: 30 % of 1 000,00
    await desk.send(OWNER_ID, f"/ticket {shop.number}")
    said = plain([desk.last_text()])
    assert "Мастеру: 300,00 ₴ (30% от 1 000,00 ₴)" in said
    assert "поправка после выдачи (возвраты, доплаты): −150,00" in said
    # the rest of the line, then nothing more
    await desk.press(OWNER_ID, f"rf:start:{rid}:0")
    texts = plain([desk.last_text()])
    assert "уже возвращено 500,00 ₴, осталось 1 000,00" in texts
    await desk.tap(OWNER_ID, "Вернуть всё (1\xa0000,00")
    await desk.tap(OWNER_ID, "Карта")
    await desk.tap(OWNER_ID, "✅ Вернуть")
    await desk.press(OWNER_ID, f"rf:start:{rid}:0")
    assert "уже всё возвращено" in alerts(desk)


async def test_amount_buttons_are_checked(
        desk: Desk, shop: Shop, session_factory: async_sessionmaker[AsyncSession]) -> None:
    rid = await paid_on_ticket(session_factory, shop)
    async with session_factory() as s:
        line_id = await s.scalar(select(ReceiptLine.id).where(ReceiptLine.receipt_id == rid))
    await desk.press(MASTER_ID, f"rf:amt:{rid}:{line_id}")
    assert "владелец или менеджер" in alerts(desk)
    await desk.press(OWNER_ID, f"rf:amt:{rid}:{line_id}")  # no refund screen opened: stale
    assert "устарела" in alerts(desk)
    await desk.press(OWNER_ID, f"rf:start:{rid}:0")
    await desk.press(OWNER_ID, f"rf:amt:{rid}:{line_id + 999}")  # another receipt's line
    assert "устарела" in alerts(desk)
    await desk.tap(OWNER_ID, "💵 Сумма")
    await desk.send(OWNER_ID, "/cancel")
    texts = await desk.send(OWNER_ID, "500")  # outside the form: a search, not a refund
    assert "К возврату" not in plain(texts)


@pytest.mark.parametrize("who", [MASTER_ID, MANAGER_ID])
async def test_owner_hides_the_cash_from_masters(
        desk: Desk, shop: Shop, session_factory: async_sessionmaker[AsyncSession],
        who: int) -> None:
    await paid_on_ticket(session_factory, shop, 50000)
    texts = await desk.send(who, "/cash")
    assert "В кассе сейчас: <b>500,00" in plain(texts)  # default: everyone sees it
    texts = await desk.send(who, "/shift")
    assert "Продажи: 1" in plain(texts)

    await desk.send(OWNER_ID, "/settings")
    texts = await desk.tap(OWNER_ID, "💰 Касса для мастеров")
    assert "Мастера видят остаток кассы и итоги смены (/cash, /shift): да" in plain(texts)
    texts = await desk.tap(OWNER_ID, "🙈 Скрыть от мастеров")
    assert "итоги смены (/cash, /shift): нет" in plain(texts)
    async with session_factory() as s:
        assert await masters_see_cash(s) is False

    cash_text = plain(await desk.send(who, "/cash"))
    cash_buttons = desk.buttons(who)
    shift_text = plain(await desk.send(who, "/shift"))
    if who == MASTER_ID:
        assert "500,00" not in cash_text and "видят владелец и менеджеры" in cash_text
        assert "🧾 Расход" in cash_buttons  # the work itself stays
        assert "Продажи" not in shift_text and "Итоги смены видят владелец" in shift_text
    else:  # managers always see the cash
        assert "В кассе сейчас: <b>500,00" in cash_text and "Продажи: 1" in shift_text

    await desk.press(who, "cs:msee:0")  # only the owner switches it
    assert "Нет доступа" in alerts(desk)
    async with session_factory() as s:
        assert await masters_see_cash(s) is False
    await desk.tap(OWNER_ID, "👁 Показывать мастерам")
    assert "В кассе сейчас: <b>500,00" in plain(await desk.send(who, "/cash"))
