"""Shift auto-close, catch-up and fiscal notices (scheduler.fiscal) with a controlled clock,
against the Checkbox emulator; owners' messages captured by the MockedBot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import SendMessage
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import make_i18n
from bot.services import Services, make_services
from bot.usecases.fiscalize import FiscalPolicy
from bot.usecases.shift_close import close_due_at
from bot.workers.fiscal_runtime import FiscalRuntime
from db.desk.models import Role
from db.desk.staff import get_staff_by_tg
from db.locks import try_lock
from db.money.cash import service_cash
from db.money.models import FiscalState, Receipt, Shift, ShiftStatus
from db.money.payments import PayPart, pay_receipt
from db.money.shifts import current_shift
from fiscal import NoneProvider
from scheduler import build_scheduler
from scheduler.fiscal import (
    JOB_AUTOCLOSE,
    JOB_CATCH_UP,
    SHIFT_CLOSE_LOCK,
    _safely,
    add_jobs,
    autoclose_shift,
    catch_up,
)
from scheduler.rollups import JOB_ROLLUPS
from tests.conftest import backend_name
from tests.e2e_kit import live_bot
from tests.emulators.checkbox import CheckboxEmulator
from tests.factories import make_staff
from tests.handler_kit import OWNER_ID
from tests.handler_kit import test_settings as make_settings
from tests.mocked_bot import MockedBot
from tests.test_fiscal_pipeline import LICENSE, PIN, make_provider
from tests.test_money_support import cash_type, receipt_for

KYIV = ZoneInfo("Europe/Kyiv")
# No test here provokes a client timeout: a request to the local emulator gets all the time a
# loaded machine needs (the pipeline tests' 0.3 s made a slow answer look like a PRRO failure).
PATIENT = 30.0
# Longer than any of these tests; a loop that fiscalizes a receipt within it was woken for it.
NEVER = 3600.0
DAY = datetime(2026, 3, 2, tzinfo=KYIV)  # a Monday, shop time
MASTER_TG = 77


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return (DAY + timedelta(days=days)).replace(hour=hour, minute=minute).astimezone(UTC)


@dataclass
class Kit:
    runtime: FiscalRuntime
    services: Services
    bot: MockedBot
    emu: CheckboxEmulator
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]

    def to(self, chat_id: int) -> list[str]:
        return [m.text for m in self.bot.calls(SendMessage) if m.chat_id == chat_id]


async def _kit(session_factory: async_sessionmaker[AsyncSession], emu: CheckboxEmulator,
               url: str, **overrides: Any) -> Kit:
    values: dict[str, Any] = {"fiscal_provider": "checkbox", "checkbox_api_url": url,
                              "checkbox_license_key": LICENSE, "checkbox_pin_code": PIN}
    values.update(overrides)
    settings = make_settings(**values)
    provider = (make_provider(url, timeout=PATIENT) if settings.fiscal_provider == "checkbox"
                else NoneProvider())
    services = make_services(settings, session_factory, fiscal=provider,
                             fiscal_policy=FiscalPolicy(backoff_base=1, poll_interval=NEVER))
    bot = MockedBot()
    runtime = services.fiscal_runtime
    runtime.attach_bot(bot, make_i18n("ru"))
    async with session_factory() as session, session.begin():
        await make_staff(session, Role.OWNER, tg_user_id=OWNER_ID, name="Власник")
        await make_staff(session, Role.MASTER, tg_user_id=MASTER_TG, name="Петя")
    return Kit(runtime, services, bot, emu, settings, session_factory)


@pytest.fixture
async def kit(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[Kit]:
    emu = CheckboxEmulator(license_key=LICENSE, pin_code=PIN, receipt_polls=1, shift_polls=1)
    async with emu.serve() as url:
        kit = await _kit(session_factory, emu, url)
        yield kit
        await kit.services.fiscal.aclose()


async def pay_at(kit: Kit, when: datetime, price: int = 25000) -> Receipt:
    """A fiscal payment made at `when` (the internal shift opens with the first one)."""
    async with kit.session_factory() as session, session.begin():
        actor = await get_staff_by_tg(session, MASTER_TG)
        receipt = await receipt_for(session, actor, price)
        result = await pay_receipt(session, actor, receipt.id,
                                   [PayPart((await cash_type(session)).id, price, price + 5000)],
                                   now=when, fiscal=True)
        return result.receipt


async def open_shift_row(kit: Kit) -> Shift | None:
    async with kit.session_factory() as session:
        return await current_shift(session)


# -- when a shift is due ------------------------------------------------------------------------

def test_close_due_at_the_end_of_the_shop_day_and_within_24_hours() -> None:
    autoclose = time(23, 50)
    assert close_due_at(at(10), autoclose, KYIV) == at(23, 50)
    # opened after the day's auto-close: belongs to the next shop-day (still < 24 h)
    assert close_due_at(at(23, 55), autoclose, KYIV) == at(23, 50, days=1)
    # an early auto-close time: the next one after opening
    assert close_due_at(at(10), time(3, 0), KYIV) == at(3, 0, days=1)
    # without auto-close only the 24 h limit remains
    assert close_due_at(at(10), None, KYIV) == at(10, days=1)
    # the autumn DST night is 25 h long: the 24 h limit wins
    autumn = datetime(2026, 10, 24, 23, 50, tzinfo=KYIV).astimezone(UTC)
    assert close_due_at(autumn + timedelta(minutes=1), autoclose, KYIV) == \
        autumn + timedelta(minutes=1, hours=24)


# -- auto-close ----------------------------------------------------------------------------------

async def test_autoclose_flushes_closes_both_reports_and_tells_owners(kit: Kit) -> None:
    first = await pay_at(kit, at(10))
    second = await pay_at(kit, at(12), 10000)
    assert kit.emu.fiscalized == {}  # nothing fiscalized yet: the worker never ran

    result = await autoclose_shift(kit.runtime, now=at(23, 50))

    assert result is not None and result.status == "closed" and result.reason == "auto"
    async with kit.session_factory() as session:
        receipts = list(await session.scalars(select(Receipt).order_by(Receipt.id)))
        shift = await session.get(Shift, receipts[0].shift_id)
    assert [r.fiscal_state for r in receipts] == [FiscalState.DONE, FiscalState.DONE]
    assert kit.emu.fiscalized[first.fiscal_id] == kit.emu.fiscalized[second.fiscal_id] == 1
    # flushed first, then the PRRO shift closed, and the internal Z-report made
    paths = [(r.method, r.path) for r in kit.emu.requests]
    last_sell = max(i for i, p in enumerate(paths) if p == ("POST", "/receipts/sell"))
    assert last_sell < paths.index(("POST", "/shifts/close"))
    assert kit.emu.current_shift is None
    assert shift is not None and shift.status == ShiftStatus.CLOSED
    assert shift.closed_at == at(23, 50) and shift.closed_by_id is None
    assert shift.z_report is not None and shift.z_report["sales_total"] == 35000
    fiscal_z = shift.z_report["fiscal"]
    assert fiscal_z["serial"] and fiscal_z["sell_sum"] == 35000
    assert fiscal_z["sell_receipts_count"] == 2 and fiscal_z["fiscal_code"]
    assert shift.fiscal_shift_id is not None
    [summary] = kit.to(OWNER_ID)
    assert "Смена №1 закрыта" in summary and "автоматически" in summary
    assert "350,00" in summary and "Z-отчёт ПРРО №" in summary
    assert "Продажи: 2" in summary and "В кассе на закрытии" in summary
    assert kit.to(MASTER_TG) == []  # masters do not get the owners' summary


async def test_autoclose_with_nothing_open_does_nothing(kit: Kit) -> None:
    result = await autoclose_shift(kit.runtime, now=at(23, 50))
    assert result is not None and result.status == "nothing_open"
    assert kit.bot.calls(SendMessage) == []


async def test_autoclose_with_service_cash_only(kit: Kit) -> None:
    async with kit.session_factory() as session, session.begin():
        owner = await get_staff_by_tg(session, OWNER_ID)
        await service_cash(session, owner, 100000, "Розмін", now=at(9), fiscal=True)
    result = await autoclose_shift(kit.runtime, now=at(23, 50))
    assert result is not None and result.closed
    assert result.fiscal_z is not None and result.fiscal_z.service_in == 100000
    assert "Служебное внесение: 1" in kit.to(OWNER_ID)[0]


# -- catch-up ------------------------------------------------------------------------------------

async def test_catch_up_at_start_closes_yesterdays_shift(kit: Kit) -> None:
    receipt = await pay_at(kit, at(18, days=-1))  # the bot was down at 23:50 yesterday
    assert await catch_up(kit.runtime, now=at(8, 30)) is not None
    shift = await open_shift_row(kit)
    assert shift is None
    async with kit.session_factory() as session:
        closed = await session.get(Shift, receipt.shift_id)
        stored = await session.get(Receipt, receipt.id)
    assert closed is not None and closed.closed_at == at(8, 30)
    assert stored is not None and stored.fiscal_state == FiscalState.DONE
    [summary] = kit.to(OWNER_ID)
    assert "после простоя" in summary and "Z-отчёт ПРРО" in summary
    # the next payment opens a new shift (and a new PRRO shift)
    later = await pay_at(kit, at(9))
    assert later.shift_id != receipt.shift_id
    assert (await kit.runtime.fiscalizer.run_once(at(9, 1))).done == 1


async def test_catch_up_leaves_todays_shift_alone(kit: Kit) -> None:
    await pay_at(kit, at(10))
    assert await catch_up(kit.runtime, now=at(15)) is None
    assert await catch_up(kit.runtime, now=at(23, 49)) is None
    assert (await open_shift_row(kit)) is not None
    result = await catch_up(kit.runtime, now=at(23, 51))  # the cron missed it
    assert result is not None and result.closed


async def test_failure_leaves_the_shift_open_tells_owners_and_the_next_run_closes_it(
    kit: Kit,
) -> None:
    receipt = await pay_at(kit, at(18, days=-1))
    kit.emu.fail_next("/shifts/close", status=500)

    result = await catch_up(kit.runtime, now=at(8))
    assert result is not None and result.status == "failed"
    shift = await open_shift_row(kit)
    assert shift is not None and shift.id == receipt.shift_id  # still open
    assert kit.emu.current_shift is not None  # and the PRRO's too
    [notice] = kit.to(OWNER_ID)
    assert "Не удалось закрыть смену №1" in notice and "Internal error" in notice
    assert "через час" in notice and "/shift" in notice

    result = await catch_up(kit.runtime, now=at(9))
    assert result is not None and result.closed
    assert await open_shift_row(kit) is None and kit.emu.current_shift is None
    assert "Смена №1 закрыта" in kit.to(OWNER_ID)[-1]


async def test_stray_prro_shift_is_closed_by_catch_up(kit: Kit) -> None:
    before = datetime.now(UTC)
    kit.emu.open_shift_now()  # opened elsewhere, no internal shift
    # Just before it falls due (the shop-day's auto-close time, or 24 h): left alone. Not
    # "an hour later": within an hour of the auto-close time that is already the next day.
    due = close_due_at(before, kit.runtime.settings.autoclose_time, kit.runtime.settings.tz)
    assert await catch_up(kit.runtime, now=due - timedelta(seconds=1)) is None
    result = await catch_up(kit.runtime, now=datetime.now(UTC) + timedelta(hours=25))
    assert result is not None and result.closed and result.report is None
    assert result.fiscal_z is not None and kit.emu.current_shift is None
    assert "Смена ПРРО закрыта" in kit.to(OWNER_ID)[0]


async def test_autoclose_off_turns_every_automatic_close_off(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    emu = CheckboxEmulator(license_key=LICENSE, pin_code=PIN)
    async with emu.serve() as url:
        kit = await _kit(session_factory, emu, url, shift_autoclose_at="")
        await pay_at(kit, at(10, days=-3))
        assert await autoclose_shift(kit.runtime, now=at(23, 50)) is None
        assert await catch_up(kit.runtime, now=at(12)) is None
        assert await open_shift_row(kit) is not None
        scheduler = AsyncIOScheduler(timezone=KYIV)
        add_jobs(scheduler, kit.runtime)
        assert scheduler.get_jobs() == []
        await kit.services.fiscal.aclose()


async def test_non_fiscal_shop_closes_the_internal_shift(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    emu = CheckboxEmulator()
    async with emu.serve() as url:
        kit = await _kit(session_factory, emu, url, fiscal_provider="none")
        async with kit.session_factory() as session, session.begin():
            actor = await get_staff_by_tg(session, MASTER_TG)
            receipt = await receipt_for(session, actor, 5000)
            await pay_receipt(session, actor, receipt.id,
                              [PayPart((await cash_type(session)).id, 5000)], now=at(10))
        result = await autoclose_shift(kit.runtime, now=at(23, 50))
    assert result is not None and result.closed and result.fiscal_z is None
    assert emu.requests == []
    assert "Чеки внутренние" in kit.to(OWNER_ID)[0]


# -- wiring --------------------------------------------------------------------------------------

async def test_fiscal_jobs_add_the_cron_and_the_catch_up_and_the_loop_runs(kit: Kit) -> None:
    scheduler = AsyncIOScheduler(timezone=KYIV)
    add_jobs(scheduler, kit.runtime)
    cron = scheduler.get_job(JOB_AUTOCLOSE)
    assert isinstance(cron.trigger, CronTrigger)
    fields = {f.name: str(f) for f in cron.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("23", "50")
    assert str(cron.trigger.timezone) == "Europe/Kyiv"
    hourly = scheduler.get_job(JOB_CATCH_UP)
    assert isinstance(hourly.trigger, IntervalTrigger)
    assert hourly.trigger.interval == timedelta(hours=1)
    assert hourly.next_run_time is not None  # at start-up
    # the loop fiscalizes what a commit woke it for (it would otherwise sleep for NEVER)
    stop = asyncio.Event()
    worker = asyncio.create_task(kit.runtime.run_forever(stop))
    receipt = await pay_at(kit, datetime.now(UTC))
    assert await kit.emu.wait_fiscalized(receipt.fiscal_id) == 1
    stop.set()
    await asyncio.wait_for(worker, PATIENT)  # woken by `stop`; the bound only stops a hang
    assert kit.emu.fiscalized[receipt.fiscal_id] == 1


async def test_the_scheduler_has_every_job(kit: Kit) -> None:
    scheduler = build_scheduler(kit.settings, kit.session_factory, kit.bot, make_i18n("ru"),
                                kit.runtime)
    assert {j.id for j in scheduler.get_jobs()} == {
        "ready_reminders", "daily_digest", JOB_AUTOCLOSE, JOB_CATCH_UP, JOB_ROLLUPS}


# -- notices -------------------------------------------------------------------------------------

async def test_refused_receipt_is_told_to_the_cashier_and_owners_with_a_retry_button(
    kit: Kit,
) -> None:
    receipt = await pay_at(kit, at(10))
    kit.emu.force_error(receipt.fiscal_id, "Помилка ДПС: невірна ставка податку")
    stats = await kit.runtime.fiscalizer.run_once(at(10, 1))
    assert stats.errors == 1
    for chat_id in (MASTER_TG, OWNER_ID):
        [message] = [m for m in kit.bot.calls(SendMessage) if m.chat_id == chat_id]
        assert f"Не фискализировано: Чек №{receipt.id}" in message.text
        assert "невірна ставка податку" in message.text and "кабинет Checkbox" in message.text
        [[button]] = message.reply_markup.inline_keyboard
        assert "Повторить" in button.text and button.callback_data == f"fr:r:{receipt.id}"


async def test_wrong_pin_is_told_to_owners_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    emu = CheckboxEmulator(license_key=LICENSE, pin_code=PIN)
    async with emu.serve() as url:
        kit = await _kit(session_factory, emu, url)
        await kit.services.fiscal.aclose()
        kit.services.fiscal = make_provider(url, pin_code="0000", timeout=PATIENT)
        kit.runtime.fiscalizer.provider = kit.services.fiscal
        await pay_at(kit, at(10))
        await kit.runtime.fiscalizer.run_once(at(10, 1))
        await kit.runtime.fiscalizer.run_once(at(11))
        await kit.services.fiscal.aclose()
    [notice] = kit.to(OWNER_ID)
    assert "CHECKBOX_PIN_CODE" in notice


# -- the real application ------------------------------------------------------------------------

async def test_wired_into_the_real_app(db_url: str) -> None:
    """The running app fiscalizes a committed payment as soon as the commit wakes the retry
    loop, and stops cleanly."""
    emu = CheckboxEmulator(license_key=LICENSE, pin_code=PIN, receipt_polls=0, shift_polls=0)
    async with emu.serve() as url, live_bot(
        db_url, fiscal_provider="checkbox", checkbox_api_url=url,
        checkbox_license_key=LICENSE, checkbox_pin_code=PIN,
    ) as (_tg, app):
        assert app.scheduler.get_job(JOB_AUTOCLOSE) and app.scheduler.get_job(JOB_CATCH_UP)
        assert any(t.get_name() == "fiscal-retry-loop" for t in app.background)
        # SQLite's WAL has a checkpointer of its own; PostgreSQL has no such worker.
        checkpointers = [t for t in app.background if t.get_name() == "wal-checkpoints"]
        assert len(checkpointers) == (1 if db_url.startswith("sqlite") else 0)
        async with app.session_factory() as session, session.begin():
            actor = await make_staff(session, Role.MASTER)
            receipt = await receipt_for(session, actor, 12300)
            result = await pay_receipt(session, actor, receipt.id,
                                       [PayPart((await cash_type(session)).id, 12300)],
                                       fiscal=True)
        # Woken by the commit, not by the loop's 30 s poll (FiscalPolicy.poll_interval).
        assert await emu.wait_fiscalized(result.receipt.fiscal_id, within=20) == 1


async def test_shift_close_jobs_skip_their_turn_while_another_instance_closes(kit: Kit) -> None:
    """Auto-close and catch-up share one lock between instances (PostgreSQL advisory lock;
    SQLite has one instance and always gets it)."""
    engine = kit.session_factory.kw["bind"]
    runs: list[str] = []

    async def job() -> None:
        runs.append("ran")

    async with try_lock(engine, SHIFT_CLOSE_LOCK) as got:  # another instance is closing
        assert got
        await _safely(JOB_AUTOCLOSE, job, kit.runtime)
        await _safely(JOB_CATCH_UP, job, kit.runtime)
    expected = [] if backend_name() == "postgresql" else ["ran", "ran"]
    assert runs == expected
    await _safely(JOB_CATCH_UP, job, kit.runtime)
    assert runs == [*expected, "ran"]
