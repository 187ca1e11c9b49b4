"""Abuse (issue 11, item 8) through the real Dispatcher: revoking invites from /staff, chatter of
non-staff throttled, lock codes only on the ticket card, the owner's audit log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.throttle import MemoryCounter, RedisCounter, ThrottleMiddleware
from bot.web import build_web_app
from db.audit import AuditTopic, audit_page
from db.base import utcnow
from db.desk.models import AuditEntry, Client, Invite, Role, Staff, Status, Ticket
from db.desk.tickets import update_ticket
from db.fiscal.queue import FiscalKind, request_retry
from db.money.cash import service_cash
from db.money.closing import close_ticket
from db.money.expenses import add_expense
from db.money.models import FiscalState, Receipt
from db.money.payments import pay_receipt
from db.money.refunds import refund
from db.money.shifts import close_shift
from db.notify.models import OutboxMessage
from keyboards.audit import AuditCb
from keyboards.callbacks import StaffAction, StaffCb
from tests.factories import make_client, make_staff, make_ticket
from tests.handler_kit import OWNER_ID, Desk
from tests.handler_kit import test_settings as kit_settings
from tests.mocked_bot import make_contact_update
from tests.test_money_support import cash_type, receipt_for, ticket_at

MASTER_ID = 2
MANAGER_ID = 3
STRANGER_ID = 666
CLIENT_ID = 5001


@pytest.fixture
def desk(session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return Desk(session_factory)


def alerts(desk: Desk) -> list[str]:
    return [a.text or "" for a in desk.bot.calls(AnswerCallbackQuery) if a.text]


async def invite_link(desk: Desk, role_label: str) -> str:
    await desk.send(OWNER_ID, "/staff")
    await desk.tap(OWNER_ID, "Пригласить")
    texts = await desk.tap(OWNER_ID, role_label)
    link = next(t for t in texts if "start=inv_" in t)
    return link.split("start=")[1].split()[0]


# -- invites ----------------------------------------------------------------------------------

async def test_owner_revokes_an_unused_invite_from_staff(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    payload = await invite_link(desk, "мастер")
    await invite_link(desk, "менеджер")
    texts = await desk.send(OWNER_ID, "/staff")
    assert "Неиспользованные приглашения: 2" in texts[-1], texts
    revokes = [b for b in desk.buttons(OWNER_ID) if b.startswith("✖️ Отозвать")]
    assert len(revokes) == 2 and "мастер" in revokes[0] and "менеджер" in revokes[1], revokes
    await desk.tap(OWNER_ID, "Отозвать: мастер")
    assert "Приглашение отозвано: ссылка больше не работает." in alerts(desk)
    assert "Неиспользованные приглашения: 1" in desk.last_text()
    assert not any("мастер" in b for b in desk.buttons(OWNER_ID) if "Отозвать" in b)
    # The link answers clearly and lets nobody in.
    texts = await desk.send(MASTER_ID, f"/start {payload}", first_name="Петя")
    assert "відкликане власником" in texts[-1], texts  # not staff: the client language
    async with session_factory() as s:
        assert await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID)) is None
        revoked = await s.scalar(select(Invite).where(Invite.token == payload[4:]))
        assert revoked is not None and revoked.revoked and revoked.used_at is None


async def test_revoke_right_on_the_new_link_and_twice(desk: Desk) -> None:
    payload = await invite_link(desk, "мастер")
    data, message = desk.find_button(OWNER_ID, "Отозвать")
    await desk.press(OWNER_ID, data, message)
    assert "Приглашение отозвано: ссылка больше не работает." in alerts(desk)
    texts = await desk.press(OWNER_ID, data, message)  # the same button again
    assert "отозвано" in alerts(desk)[-1] and not texts
    texts = await desk.send(MASTER_ID, f"/start {payload}")
    assert "відкликане власником" in texts[-1]


async def test_a_used_invite_cannot_be_revoked(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    payload = await invite_link(desk, "мастер")
    data, message = desk.find_button(OWNER_ID, "Отозвать")
    texts = await desk.send(MASTER_ID, f"/start {payload}", first_name="Петя")
    assert any("Добро пожаловать" in t for t in texts)
    await desk.press(OWNER_ID, data, message)
    assert "уже воспользовались" in alerts(desk)[-1]
    async with session_factory() as s:
        master = await s.scalar(select(Staff).where(Staff.tg_user_id == MASTER_ID))
        assert master is not None and master.active
    texts = await desk.send(OWNER_ID, "/staff")
    assert "Неиспользованные" not in texts[-1]


async def test_only_the_owner_revokes(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    await invite_link(desk, "менеджер")
    data, _message = desk.find_button(OWNER_ID, "Отозвать")
    manager = await invite_link(desk, "менеджер")
    await desk.send(MANAGER_ID, f"/start {manager}")
    for user in (MANAGER_ID, STRANGER_ID):
        await desk.press(user, data)
        assert not desk.bot.texts()
        assert alerts(desk)[-1] in ("Нет доступа.", "Немає доступу.",
                                    "Кнопка устарела — откройте карточку заново."), alerts(desk)
    # A forged id (out of range too) changes nothing.
    await desk.press(OWNER_ID, StaffCb(action=StaffAction.REVOKE, id=2**63 - 1).pack())
    assert "Не найдено" in alerts(desk)[-1]
    await desk.press(OWNER_ID, f"s:revoke:{2**63}:")
    async with session_factory() as s:
        assert not list(await s.scalars(select(Invite).where(Invite.revoked.is_(True))))


# -- throttling -------------------------------------------------------------------------------

TOO_OFTEN = "Занадто багато повідомлень поспіль"  # strangers read the client language (uk)
LIMIT = 5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttled(session_factory: async_sessionmaker[AsyncSession], limit: int = LIMIT,
              window: int = 60) -> tuple[Desk, FakeClock, ThrottleMiddleware]:
    desk = Desk(session_factory, kit_settings(throttle_updates=limit, throttle_window=window))
    clock = FakeClock()
    middleware = next(m for m in desk.dp.update.outer_middleware
                      if isinstance(m, ThrottleMiddleware))
    middleware.clock = clock
    if isinstance(middleware.counter, MemoryCounter):
        middleware.counter.clock = clock
    return desk, clock, middleware


async def end_window(clock: FakeClock, middleware: ThrottleMiddleware) -> None:
    """Time passes: the in-memory window ends; a Redis window is expired by hand."""
    clock.now += 61
    if isinstance(middleware.counter, RedisCounter):
        await middleware.counter.redis.delete(
            *await middleware.counter.redis.keys(middleware.counter.prefix + ":*"))


async def test_a_stranger_flooding_gets_one_notice_then_silence(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    desk, clock, middleware = throttled(session_factory)
    for i in range(LIMIT):
        texts = await desk.send(STRANGER_ID, f"привет {i}")
        assert len(texts) == 1 and TOO_OFTEN not in texts[0], texts
    texts = await desk.send(STRANGER_ID, "ещё")
    assert len(texts) == 1 and TOO_OFTEN in texts[0], texts
    for i in range(10):
        assert await desk.send(STRANGER_ID, f"спам {i}") == []
    # Buttons in the window: answered (the spinner stops), silently.
    await desk.press(STRANGER_ID, "t:card:1:0")
    answer = desk.bot.last(AnswerCallbackQuery)
    assert answer.text is None and not answer.show_alert and not desk.bot.texts()
    # Others are not affected meanwhile.
    texts = await desk.send(STRANGER_ID + 1, "добрий день")
    assert texts and TOO_OFTEN not in texts[-1]
    await end_window(clock, middleware)
    texts = await desk.send(STRANGER_ID, "/start")
    assert texts and TOO_OFTEN not in texts[-1]


async def test_button_flood_every_callback_answered(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    desk, _clock, _mw = throttled(session_factory)
    seen = []
    for _i in range(LIMIT + 3):
        await desk.press(STRANGER_ID, "t:card:1:0")
        seen.append([a.text for a in desk.bot.calls(AnswerCallbackQuery)])
    assert all(len(s) == 1 for s in seen), seen
    assert [s[0] for s in seen[:LIMIT]] == ["Немає доступу."] * LIMIT, seen
    assert TOO_OFTEN in (seen[LIMIT][0] or "") and seen[LIMIT + 1:] == [[None], [None]], seen
    assert not desk.bot.calls(SendMessage)


async def test_staff_are_never_throttled(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    desk, _clock, _mw = throttled(session_factory)
    async with session_factory() as s, s.begin():
        await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER_ID)
    for user in (MASTER_ID, OWNER_ID):
        for i in range(3 * LIMIT):
            texts = await desk.send(user, f"#{i + 1}")
            assert texts and not any("Занадто" in t or "Слишком" in t for t in texts), (user, i)
        for _i in range(2 * LIMIT):
            await desk.press(user, "t:card:999:0")
            assert "Слишком" not in (desk.bot.last(AnswerCallbackQuery).text or "")


async def test_a_client_who_behaves_normally_is_not_throttled(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The default limit leaves a real client's visit alone: a status link, the contact,
    /status and a few taps and words."""
    limit = Settings.model_fields["throttle_updates"].default
    desk, _clock, _mw = throttled(session_factory, limit=limit)
    async with session_factory() as s, s.begin():
        master = await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER_ID)
        client = await make_client(s, "+380501112233", name="Олена")
        ticket = await make_ticket(s, master, client)
    seen = [await desk.send(CLIENT_ID, f"/start st_{ticket.public_token}")]
    desk.bot.clear()
    await desk.dp.feed_update(desk.bot, make_contact_update("380501112233", user_id=CLIENT_ID))
    seen.append(desk.bot.texts())
    for text in ("/status", "/help", "дякую", "коли буде готово?", "/status", "/start"):
        seen.append(await desk.send(CLIENT_ID, text))
    for _i in range(3):
        seen.append(await desk.tap(CLIENT_ID, "№1"))
        seen.append(await desk.tap(CLIENT_ID, "📋"))
    assert all(texts for texts in seen), seen
    assert not any(TOO_OFTEN in t for texts in seen for t in texts), seen
    async with session_factory() as s:
        linked = await s.scalar(select(Client).where(Client.tg_chat_id == CLIENT_ID))
        assert linked is not None and linked.id == client.id


async def test_memory_counter_windows_and_bound() -> None:
    clock = FakeClock()
    counter = MemoryCounter(60, clock, max_users=3)
    assert [await counter.hit(1) for _i in range(3)] == [1, 2, 3]
    clock.now += 59.9
    assert await counter.hit(1) == 4
    clock.now += 0.1
    assert await counter.hit(1) == 1  # a new window
    for user in (2, 3, 4, 5):
        await counter.hit(user)
    assert len(counter._windows) == 3 and 1 not in counter._windows  # the oldest forgotten


# -- the audit log ----------------------------------------------------------------------------

AT = datetime(2026, 3, 2, 8, 5, tzinfo=UTC)  # Kyiv: 02.03.2026 10:05


async def money_day(session_factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """A master's and the owner's day of money and statuses; (sale receipt id, refund id)."""
    async with session_factory() as s, s.begin():
        boss = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        master = await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER_ID)
        assert boss is not None
        cash = await cash_type(s)
        await service_cash(s, boss, 500_000, "размен")
        ticket = await ticket_at(s, master, "ready", lock_code="7391-SECRET")
        sale = await receipt_for(s, master, 120_000, ticket)
        await pay_receipt(s, master, sale.id, [(cash.id, 120_000, 150_000)])
        await add_expense(s, master, ticket.id, "Стекло", 30_000, cash.id)
        back = await refund(s, boss, sale.id, None, cash.id)
        await service_cash(s, boss, -10_000, "инкассация " + "x" * 400)
        await close_ticket(s, master, ticket.id)
        await close_shift(s, boss)
        await s.execute(update(AuditEntry).values(created_at=AT))
        return sale.id, back.receipt.id


async def all_pages(desk: Desk, first: list[str]) -> str:
    pages = [first[-1]]
    while "▶️" in desk.buttons(OWNER_ID):
        pages.append((await desk.tap(OWNER_ID, "▶️"))[-1])
    return "\n".join(pages)


async def test_owner_reads_who_did_what_with_money_and_statuses(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    await desk.send(OWNER_ID, "/start")
    sale, back = await money_day(session_factory)
    log = await all_pages(desk, await desk.send(OWNER_ID, "/audit"))
    flat = log.replace("\xa0", " ")
    assert "📜 <b>Журнал действий</b> · ✓" not in flat and "Журнал действий" in flat
    for expected in (
        f"02.03.2026 10:05 · Петя · [1]\n  💳 оплата чека №{sale}: 1 200,00 ₴, сдача 300,00 ₴",
        f"02.03.2026 10:05 · Test · [1]\n  ↩️ возврат №{back} по чеку №{sale}: 1 200,00 ₴",
        "02.03.2026 10:05 · Петя · [1]\n  🧾 расход 300,00 ₴",
        "02.03.2026 10:05 · Test\n  💵 внесение 5 000,00 ₴: размен",
        "02.03.2026 10:05 · Test\n  💸 изъятие 100,00 ₴: инкассация xxx",
        "02.03.2026 10:05 · Test\n  🔓 смена №1 открыта, в кассе 0,00 ₴",
        "02.03.2026 10:05 · Test\n  🔒 смена №1 закрыта: продажи 1 200,00 ₴, возвраты 1 200,00 ₴",
        "02.03.2026 10:05 · Петя · [1]\n  🏁 обращение закрыто: оплачено 0,00 ₴",
        "02.03.2026 10:05 · Петя · [1]\n  🔄 статус: Можно забирать → Выдан",
        "02.03.2026 10:05 · Петя · [1]\n  🔄 статус: Принят → В работе",
        "02.03.2026 10:05 · Петя · [1]\n  📥 устройство принято",
    ):
        assert expected in flat, (expected, flat)
    assert "x" * 61 not in flat and "7391-SECRET" not in flat
    # Newest first: the shift closed last, the cash came in first.
    assert flat.index("смена №1 закрыта") < flat.index("внесение 5 000")
    # One topic at a time.
    texts = await desk.tap(OWNER_ID, "Статусы")
    assert "статус:" in texts[-1] and "оплата" not in texts[-1] and "✓ 🔄 Статусы" in \
        desk.buttons(OWNER_ID)
    texts = await desk.tap(OWNER_ID, "Деньги")
    assert "статус:" not in texts[-1] and "расход" in texts[-1]


async def test_audit_records_access_and_is_for_the_owner_only(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    payload = await invite_link(desk, "менеджер")
    await desk.send(MANAGER_ID, f"/start {payload}", first_name="Оля")
    await desk.send(OWNER_ID, "/staff")
    await desk.tap(OWNER_ID, "Оля")
    await desk.tap(OWNER_ID, "Процент")
    await desk.send(OWNER_ID, "12,5")
    await invite_link(desk, "мастер")
    await desk.tap(OWNER_ID, "Отозвать")
    texts = await desk.send(OWNER_ID, "/audit")
    await desk.tap(OWNER_ID, "Доступ")
    log = desk.last_text()
    for expected in ("🔗 приглашение: менеджер", "Оля\n  👋 принято приглашение: менеджер",
                     "👤 процент Оля: 0.0% → 12.5%", "✖️ приглашение отозвано",
                     "🔗 приглашение: мастер"):
        assert expected in log, (expected, log)
    assert texts
    # Not for the manager, a master or a stranger; a forged page shows the last one.
    texts = await desk.send(MANAGER_ID, "/audit")
    assert "доступна не всем ролям" in texts[-1] and "приглашение" not in texts[-1]
    texts = await desk.send(STRANGER_ID, "/audit")
    assert "Немає доступу" in texts[-1]
    for user in (MANAGER_ID, STRANGER_ID):
        assert not await desk.press(user, AuditCb(topic=AuditTopic.ALL).pack())
        assert desk.bot.last(AnswerCallbackQuery).show_alert
    texts = await desk.press(OWNER_ID, f"au:all:{2**63 - 1}")
    assert "приглашение" in texts[-1]
    texts = await desk.send(OWNER_ID, "/settings")
    assert "📜 Журнал действий" in desk.buttons(OWNER_ID)
    texts = await desk.send(OWNER_ID, "/help")
    assert "/audit" in texts[-1]


async def test_a_fiscal_retry_is_audited(session_factory: async_sessionmaker[AsyncSession]
                                         ) -> None:
    async with session_factory() as s, s.begin():
        boss = await make_staff(s, Role.OWNER, name="Шеф")
        sale = await receipt_for(s, boss, 10_000)
        await pay_receipt(s, boss, sale.id, [((await cash_type(s)).id, 10_000, None)])
        await s.execute(update(Receipt).where(Receipt.id == sale.id)
                        .values(fiscal_state=FiscalState.ERROR))
        assert await request_retry(s, FiscalKind.RECEIPT, sale.id, utcnow(), boss)
        assert not await request_retry(s, FiscalKind.RECEIPT, sale.id, utcnow(), boss)
        page = await audit_page(s, boss, AuditTopic.MONEY, 0)
        assert [(r.action, r.who, r.receipt_id) for r in page.records][:2] == [
            ("fiscal.retry", "Шеф", sale.id), ("receipt.pay", "Шеф", sale.id)]


# -- lock codes -------------------------------------------------------------------------------

CODE = "7391-SECRET"


async def intake_with_code(desk: Desk) -> list[str]:
    await desk.send(OWNER_ID, "+380671234567")
    await desk.send(OWNER_ID, "Олена Коваль")
    await desk.tap(OWNER_ID, "Телефон")
    await desk.send(OWNER_ID, "Apple iPhone 12")
    await desk.send(OWNER_ID, "Не заряжается")
    await desk.tap(OWNER_ID, "Код")
    texts = await desk.send(OWNER_ID, CODE)
    assert f"Код блокировки: {CODE}" in texts[-1]  # the review: the one who typed it checks it
    return await desk.tap(OWNER_ID, "Принять")


def seen(desk: Desk, texts: list[str]) -> str:
    return "\n".join(texts + desk.buttons(OWNER_ID) + desk.buttons(CLIENT_ID))


async def test_lock_code_only_on_the_staff_ticket_card(
        desk: Desk, session_factory: async_sessionmaker[AsyncSession]) -> None:
    texts = await intake_with_code(desk)
    assert f"🔑 Код блокировки: {CODE}" in texts[-1]  # the card
    assert f"🔑 Код блокировки: {CODE}" in (await desk.send(OWNER_ID, "#1"))[-1]
    shown: dict[str, str] = {}
    # Searching by the code finds nothing (its echo is what the person typed).
    assert "Никого не нашли" in (await desk.send(OWNER_ID, f"/find {CODE}"))[-1]
    for where, text in (("client card", "/client 0671234567"), ("search", "Олена"),
                        ("digits", "7391"), ("service list", "🛠 Сервис"), ("audit", "/audit")):
        shown[where] = seen(desk, await desk.send(OWNER_ID, text))
    await desk.send(OWNER_ID, "#1")
    for where, label in (("history", "История"), ("device", "Устройство"), ("client", "Клиент")):
        shown[where] = seen(desk, await desk.tap(OWNER_ID, label))
        await desk.send(OWNER_ID, "#1")
    # The ready prompt is the card with a question under it: the code stays for staff.
    await desk.tap(OWNER_ID, "Статус")
    await desk.tap(OWNER_ID, "В работе")
    await desk.tap(OWNER_ID, "Статус")
    texts = await desk.tap(OWNER_ID, "Можно забирать")
    assert CODE in texts[-1] and "Сообщить клиенту" in texts[-1]
    await desk.tap(OWNER_ID, "📨")
    # Editing the code keeps it out of the log.
    async with session_factory() as s, s.begin():
        boss = await s.scalar(select(Staff).where(Staff.tg_user_id == OWNER_ID))
        ticket = await s.scalar(select(Ticket))
        assert boss is not None and ticket is not None
        ticket.status_id = (await s.scalar(select(Status).where(Status.code == "in_work"))).id
        await update_ticket(s, boss, ticket.id, text_fields={"lock_code": "0000-NEWCODE"})
        ticket.status_id = (await s.scalar(select(Status).where(Status.code == "ready"))).id
        client = await s.scalar(select(Client))
        assert client is not None
        client.tg_chat_id = CLIENT_ID
        token = ticket.public_token
        logged = " ".join(str(e.data) for e in await s.scalars(select(AuditEntry)))
        messages = " ".join(m.text + (m.sms_text or "")
                            for m in await s.scalars(select(OutboxMessage)))
    assert messages and "0000-NEWCODE" not in logged and CODE not in logged
    shown["client messages"] = messages
    # What the client sees: the list, the ticket, the status page.
    shown["client /status"] = seen(desk, await desk.send(CLIENT_ID, "/status"))
    shown["client ticket"] = seen(desk, await desk.tap(CLIENT_ID, "№1"))
    shown["client status link"] = seen(desk, await desk.send(CLIENT_ID, f"/start st_{token}"))
    app = build_web_app(desk.settings, session_factory, desk.i18n, "testbot", {})
    async with TestClient(TestServer(app)) as http:
        response = await http.get(f"/s/{token}")
        assert response.status == 200
        shown["status page"] = await response.text()
    assert "Apple iPhone 12" in shown["status page"] and "Apple iPhone 12" in shown["client card"]
    leaks = {where for where, text in shown.items() if CODE in text or "NEWCODE" in text}
    assert not leaks, {where: shown[where] for where in leaks}
    assert "0000-NEWCODE" in (await desk.send(OWNER_ID, "#1"))[-1]


async def test_someone_invited_while_throttled_gets_through_soon(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    desk, clock, _mw = throttled(session_factory)
    for i in range(LIMIT + 2):
        await desk.send(MASTER_ID, f"привет {i}")
    async with session_factory() as s, s.begin():
        await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER_ID)
    assert await desk.send(MASTER_ID, "#1") == []  # "not staff" is still believed
    clock.now += 10  # well inside the window
    texts = await desk.send(MASTER_ID, "#1")
    assert texts and "не найдено" in texts[-1].lower(), texts
