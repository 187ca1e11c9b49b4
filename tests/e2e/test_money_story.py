"""Issue 4's story end to end: the real app polls the Bot API emulator over HTTP.

Intake with a service at 1 500,00 → pay cash, 2 000 received → change 500,00 → a cash expense
of 300,00 → /cash shows 1 200,00 → one more receipt at closing (2 glasses by card) → close →
the master's 30 % is right → a partial refund (one glass, in cash) → the Z-report reconciles
to the kopeck."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from db.desk.models import Staff, Ticket
from db.engine import create_engine, create_session_factory
from db.money.models import Payment, Receipt, ReceiptKind
from db.money.shifts import close_shift
from tests.e2e_kit import live_bot
from tests.emulators.telegram import BotMessage, SimUser
from tests.handler_kit import OWNER_ID

MASTER = 2002
STRANGER = 3003


def has(text: str) -> Callable[[BotMessage], bool]:
    """A message containing `text`, reading Babel's no-break spaces as plain spaces."""
    return lambda m: text in (m.text or "").replace("\u00a0", " ").replace("\u202f", " ")


async def say(user: SimUser, text: str, expect: str) -> BotMessage:
    await user.send(text)
    return await user.wait_for(has(expect))


async def tap(user: SimUser, label: str, expect: str) -> BotMessage:
    await user.tap(label)
    return await user.wait_for(has(expect))


async def invite_master(owner: SimUser, master: SimUser) -> None:
    await say(owner, "/staff", "Сотрудники")
    await tap(owner, "Пригласить сотрудника", "Кого приглашаем")
    await owner.tap("мастер")
    invite = await owner.wait_for("start=inv_")
    await say(master, "/start " + invite.text.split("start=")[1].split()[0], "Добро пожаловать")
    # The master's percent, set by the owner in /staff.
    await say(owner, "/staff", "Сотрудники")
    await tap(owner, "Петя", "Процент с работ")
    await tap(owner, "Процент", "Процент с выполненных работ")
    await say(owner, "30", "Процент с работ: 30%")


async def test_money_story(db_url: str) -> None:
    async with live_bot(db_url) as (emu, _app):
        owner = emu.user(OWNER_ID, "Олег", "Власник")
        master = emu.user(MASTER, "Петя", "Майстер")
        await say(owner, "/start", "владелец")
        assert "💰 Касса" in owner.reply_keyboard()
        await invite_master(owner, master)

        # The price list: one service at 1 500,00 ("1 500" typed as people do).
        await say(owner, "/services", "Прайс-лист")
        await tap(owner, "Добавить услугу", "Код")
        await say(owner, "scr1", "название")
        await say(owner, "Замена экрана", "Цена")
        await say(owner, "1 500", "Услуга добавлена")

        # Intake with the service: the quote becomes the first unpaid receipt.
        await say(master, "067 123 45 67", "Имя и фамилия")
        await say(master, "Иван Петренко", "Какое устройство")
        await tap(master, "Телефон", "бренд и модель")
        await say(master, "Apple iPhone 12", "Опишите неисправность")
        await say(master, "Разбит экран", "Приём")
        await tap(master, "🧾 Услуги", "Напишите код")
        await say(master, "SCR1", "Замена экрана = 1 500,00")
        card = await tap(master, "Принять", "[1] Apple iPhone 12")
        assert has("к оплате: 1 500,00")(card)

        # Pay cash: 2 000 handed over, 500,00 change — 3 interactions from the card (cash is
        # preselected; the confirmation shows the change).
        master.interactions = 0
        await tap(master, "Оплатить 1", "Наличные: сколько получено")
        confirm = await say(master, "2000", "Сдача: 500,00")
        assert has("Проверьте оплату")(confirm)
        paid = await tap(master, "Оплачено", "оплачен")
        assert has("Сдача: 500,00")(paid) and "Петя" in (paid.text or "")
        assert master.interactions == 3, master.interactions
        assert "🧾 Чек" in paid.buttons

        # A cash expense of 300,00.
        await tap(master, "← К обращению", "[1] Apple iPhone 12")
        await tap(master, "🧾 Расходы", "Расходов пока нет")
        await tap(master, "Добавить расход", "что купили")
        await say(master, "Дисплей", "Сколько потрачено")
        await say(master, "300 грн", "Чем платили")
        await tap(master, "Наличные", "Итого: 300,00")

        # The drawer: 1 500 − 300.
        drawer = await say(master, "/cash", "В кассе сейчас")
        assert has("В кассе сейчас: 1 200,00")(drawer), drawer.text
        assert "➕ Внесение" not in drawer.buttons  # masters do no cash in/out

        # The ticket is ready; at closing one more receipt is added and paid by card.
        await say(master, "#1", "[1] Apple iPhone 12")
        for status in ("Диагностика", "В работе", "Можно забирать"):
            await tap(master, "Статус", "Выберите новый статус")
            await tap(master, status, f"Статус: {status}")
        await tap(master, "Закрыть обращение", "Закрытие")
        await tap(master, "Ещё чек", "Напишите код услуги")
        await tap(master, "Своя строка", "Название строки")
        await say(master, "Защитное стекло", "Цена для")
        await say(master, "150 *2", "300,00")
        await tap(master, "Оплатить 300", "Оплата чека")
        await tap(master, "Карта", "Проверьте оплату")
        await tap(master, "Оплачено", "оплачен")

        # Close: the summary shows the commission; 3 interactions from the button.
        master.interactions = 0
        await tap(master, "Закрыть обращение", "Закрытие")
        summary = await tap(master, "Далее", "Проверьте перед закрытием")
        # 30 % × (1 500 + 300 paid − 300 expenses) = 450,00
        assert has("30% от 1 500,00 ₴ = 450,00")(summary), summary.text
        await tap(master, "✅ Закрыть обращение", "закрыто")
        assert master.interactions == 3, master.interactions

        # A partial refund by the owner: one glass of two, in cash.
        await say(owner, "/ticket 1", "[1] Apple iPhone 12")
        await tap(owner, "💳 Оплата", "Оплачено: 1 800,00")
        await tap(owner, "🟢 Чек №2", "Защитное стекло")
        await tap(owner, "↩️ Возврат", "Возврат по чеку №2")
        await tap(owner, "1. Защитное стекло: 0 из 2", "К возврату: 150,00")
        await tap(owner, "Далее", "Чем отдаём")
        await tap(owner, "Наличные", "Вернуть клиенту 150,00")
        await tap(owner, "Вернуть 150", "Возврат №3")
        drawer = await say(owner, "/cash", "В кассе сейчас")
        assert has("В кассе сейчас: 1 050,00")(drawer), drawer.text
        assert "➕ Внесение" in drawer.buttons

        # Forged callbacks: a paid receipt is not paid twice; unknown ids are "not found".
        await master.press_forged("py:ok:1:0")
        assert "уже оплачен" in (await master.wait_answer()).get("text", "")
        await owner.press_forged("rf:start:999:0")
        assert "Не найдено" in (await owner.wait_answer()).get("text", "")
        await master.press_forged("rf:start:2:0")
        assert "владелец или менеджер" in (await master.wait_answer()).get("text", "")

        # A stranger is refused every money command and button.
        stranger = emu.user(STRANGER, "Чужой")
        for command in ("/cash", "/services", "/shift"):
            await stranger.send(command)
            reply = await stranger.wait_for(lambda m: True)
            assert "Нет доступа" in reply.text or "Немає доступу" in reply.text, reply.text
        for forged in ("rc:tab:1:0:0", "py:ok:1:0", "rf:start:2:0", "cl:ok:1:0", "cs:in:0",
                       "pl:add:0:0", "ex:add:1:0"):
            await stranger.press_forged(forged)
            answer = (await stranger.wait_answer()).get("text", "")
            assert "Нет доступа" in answer or "Немає доступу" in answer, (forged, answer)

    # The Z-report (the /shift UI is another feature's): everything reconciles to the kopeck.
    engine = create_engine(db_url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            ticket = await session.scalar(select(Ticket).where(Ticket.number == 1))
            assert (ticket.commission, ticket.commission_bp, ticket.commission_base) == (
                45000, 3000, 150000)
            assert len(list(await session.scalars(select(Payment)))) == 3
            refund = await session.scalar(select(Receipt).where(
                Receipt.kind == ReceiptKind.REFUND))
            assert refund.total == 15000 and refund.related_receipt_id == 2
            owner_staff = await session.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
            report = await close_shift(session, owner_staff)
        assert (report.receipts_count, report.refunds_count) == (2, 1)
        assert (report.sales_total, report.refunds_total) == (180000, 15000)
        assert (report.cash_sales, report.cash_refunds, report.change_given) == (
            150000, 15000, 50000)
        assert (report.expenses_cash, report.service_in, report.service_out) == (30000, 0, 0)
        by_type = {t.name_ru: (t.sales, t.refunds) for t in report.payment_types}
        assert by_type == {"Наличные": (150000, 15000), "Карта": (30000, 0)}
        assert report.drawer == report.expected_drawer == 105000
    finally:
        await engine.dispose()
