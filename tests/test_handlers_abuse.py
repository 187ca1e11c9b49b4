"""Abuse (issue 11, item 8) through the real Dispatcher: revoking invites from /staff, chatter of
non-staff throttled, lock codes only on the ticket card, the owner's audit log."""

from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.throttle import MemoryCounter, RedisCounter, ThrottleMiddleware
from db.desk.models import Client, Invite, Role, Staff
from keyboards.callbacks import StaffAction, StaffCb
from tests.factories import make_client, make_staff, make_ticket
from tests.handler_kit import OWNER_ID, Desk
from tests.handler_kit import test_settings as kit_settings
from tests.mocked_bot import make_contact_update

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
        seen.append(await desk.tap(CLIENT_ID, "Все мои ремонты"))
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
