"""The daily digest job: when it is due (after a shift closes, at a set time, never), at most
once, to active owners only, with the day's totals and a PNG chart."""

from __future__ import annotations

from datetime import date

from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import BufferedInputFile
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.desk.models import Role
from db.money.shifts import close_shift
from db.reports.settings import get_report_settings, set_digest
from scheduler.digest import send_daily_digest
from tests import handler_kit
from tests.factories import make_staff
from tests.handler_kit import OWNER_ID
from tests.mocked_bot import MockedBot
from tests.test_reports_support import Shop, kyiv

SETTINGS = handler_kit.test_settings()


async def _shop(factory: async_sessionmaker[AsyncSession], digest: str | None = None) -> Shop:
    async with factory() as s, s.begin():
        shop = await Shop.create(s, owner_tg=OWNER_ID)
        ticket = await shop.ticket(kyiv(2026, 3, 2, 9))
        await shop.sale(kyiv(2026, 3, 2, 10), 150000, ticket=ticket)
        await shop.sale(kyiv(2026, 3, 2, 11), 2550, parts=[(shop.card, 2550, None)])
        await shop.ready(ticket, kyiv(2026, 3, 2, 12))
        await shop.close(ticket, kyiv(2026, 3, 2, 13))
        await make_staff(s, Role.MANAGER, tg_user_id=77)  # managers get no digest
        former = await make_staff(s, Role.OWNER, tg_user_id=78)
        former.active = False
        if digest is not None:
            await set_digest(s, shop.owner, digest)
    return shop


async def _close_shift(factory: async_sessionmaker[AsyncSession], shop: Shop, at) -> None:  # type: ignore[no-untyped-def]
    async with factory() as s, s.begin():
        owner = await s.get(type(shop.owner), shop.owner.id)
        await close_shift(s, owner, at)


async def test_digest_after_the_shift_closes(session_factory: async_sessionmaker[AsyncSession]
                                             ) -> None:
    shop = await _shop(session_factory)
    bot = MockedBot()
    # no shift closed yet: nothing due
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 2, 19)) == 0
    await _close_shift(session_factory, shop, kyiv(2026, 3, 2, 20))
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 2, 20, 4)) == 1
    message = bot.last(SendMessage)
    assert message.chat_id == OWNER_ID and message.parse_mode == "HTML"
    assert "Сводка за пн, 02.03.2026" in message.text
    assert "1\u00a0525,50\u00a0₴" in message.text  # revenue 1 500,00 + 25,50
    assert "Наличные 1\u00a0500,00\u00a0₴, Карта 25,50\u00a0₴" in message.text
    assert "выдано 1" in message.text and "Петя 1 · 450,00\u00a0₴" in message.text
    photo = bot.last(SendPhoto)
    assert photo.chat_id == OWNER_ID and isinstance(photo.photo, BufferedInputFile)
    assert photo.photo.data.startswith(b"\x89PNG") and "14 дней" in (photo.caption or "")
    assert {m.chat_id for m in bot.calls(SendMessage)} == {OWNER_ID}  # not 77, not 78
    # at most once
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 2, 20, 9)) == 0
    async with session_factory() as s:
        conf = await get_report_settings(s)
    assert conf.last_day == date(2026, 3, 2) and conf.last_at == kyiv(2026, 3, 2, 20, 4)


async def test_a_late_closure_recaps_the_shift_day_and_stale_ones_are_skipped(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    shop = await _shop(session_factory)
    bot = MockedBot()
    # forgotten shift closed next morning: the digest is for the day it was opened
    await _close_shift(session_factory, shop, kyiv(2026, 3, 3, 8, 55))
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 3, 9)) == 1
    assert "02.03.2026" in bot.last(SendMessage).text
    # the bot was down for 4 hours after a closure: skipped, not sent stale
    async with session_factory() as s, s.begin():
        owner = await s.get(type(shop.owner), shop.owner.id)
        await Shop(s, owner, shop.master, shop.cash, shop.card).sale(kyiv(2026, 3, 3, 10), 100)
        await close_shift(s, owner, kyiv(2026, 3, 3, 12))
    bot.clear()
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 3, 16, 1)) == 0
    assert bot.calls(SendMessage) == []


async def test_digest_at_a_set_time(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _shop(session_factory, digest="21:00")
    bot = MockedBot()
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 2, 20, 59)) == 0
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 2, 21, 1)) == 1
    assert "02.03.2026" in bot.last(SendMessage).text
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 2, 21, 6)) == 0
    # the next evening, an empty day is still reported
    bot.clear()
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 3, 21, 0)) == 1
    text = bot.last(SendMessage).text
    assert "03.03.2026" in text and "Ни продаж" in text


async def test_morning_digest_recaps_yesterday_and_off_sends_nothing(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    shop = await _shop(session_factory, digest="09:00")
    bot = MockedBot()
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 3, 9, 2)) == 1
    assert "02.03.2026" in bot.last(SendMessage).text
    async with session_factory() as s, s.begin():
        owner = await s.get(type(shop.owner), shop.owner.id)
        await set_digest(s, owner, "off")
    await _close_shift(session_factory, shop, kyiv(2026, 3, 3, 20))
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 4, 9, 2)) == 0
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 3, 20, 3)) == 0


async def test_a_blocked_owner_does_not_stop_the_others(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    shop = await _shop(session_factory, digest="21:00")
    async with session_factory() as s, s.begin():
        second = await make_staff(s, Role.OWNER, tg_user_id=5)
        second.language = "uk"
    bot = MockedBot()
    bot.session.blocked.add(OWNER_ID)
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 2, 21, 1)) == 1
    assert bot.last(SendPhoto).chat_id == 5
    assert shop.owner.tg_user_id == OWNER_ID
    # a manual resend of a given day goes out whatever the schedule
    bot.session.blocked.clear()
    assert await send_daily_digest(session_factory, bot, SETTINGS, kyiv(2026, 3, 2, 21, 2),
                                   day=date(2026, 3, 1)) == 2
