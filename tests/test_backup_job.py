"""The daily backup job (scheduler.backup): wiring, files and rotation, owners told of a failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiogram.methods import SendMessage
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import make_i18n
from db.desk.models import Role
from scheduler.backup import JOB_BACKUP, add_jobs, daily_backup
from tests.factories import make_staff
from tests.handler_kit import test_settings as make_settings
from tests.mocked_bot import MockedBot


async def test_no_job_without_backup_dir(session_factory: async_sessionmaker[AsyncSession]
                                         ) -> None:
    scheduler = AsyncIOScheduler(timezone=UTC)
    add_jobs(scheduler, make_settings(), session_factory, MockedBot(), make_i18n())
    assert scheduler.get_jobs() == []


async def test_the_job_runs_at_backup_at_shop_time(
        session_factory: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    settings = make_settings(backup_dir=str(tmp_path), backup_at="04:15")
    scheduler = AsyncIOScheduler(timezone=UTC)
    add_jobs(scheduler, settings, session_factory, MockedBot(), make_i18n())
    job = scheduler.get_job(JOB_BACKUP)
    assert isinstance(job.trigger, CronTrigger)
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("4", "15")
    assert str(job.trigger.timezone) == "Europe/Kyiv"


async def test_daily_files_are_named_in_shop_time_and_rotated(
        session_factory: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url=db_url, backup_dir=str(tmp_path / "b"),
                             backup_keep=3)
    bot = MockedBot()
    first = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)  # 03:30 in Kyiv
    for day in range(5):
        info = await daily_backup(settings, session_factory, bot, make_i18n(),
                                  now=first + timedelta(days=day))
        assert info is not None and info.size > 0
    names = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert [n[:25] for n in names] == [f"servicedesk-2026030{d}-0330" for d in (3, 4, 5)]
    assert bot.session.requests == []


async def test_a_failed_backup_is_told_to_the_owners(
        session_factory: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path) -> None:
    async with session_factory() as session, session.begin():
        owner = await make_staff(session, Role.OWNER)
        await make_staff(session, Role.MASTER)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    settings = make_settings(database_url=db_url, backup_dir=str(blocker))
    bot = MockedBot()
    assert await daily_backup(settings, session_factory, bot, make_i18n()) is None
    sent = bot.session.calls(SendMessage)
    assert [m.chat_id for m in sent] == [owner.tg_user_id]
    assert "Ежедневная резервная копия не сделана" in sent[0].text
