"""The daily backup: at BACKUP_AT (shop time) a snapshot into BACKUP_DIR, the newest
BACKUP_KEEP kept (bot.ops.backup). Off while BACKUP_DIR is empty. A failure is logged and told
to every active owner: a backup that silently stopped working is found out on the worst day."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.ops.backup import BackupInfo, backup_to_dir
from bot.views.formatting import h
from db.base import utcnow
from db.desk.models import Role
from db.desk.staff import list_staff

log = logging.getLogger("scheduler.backup")

JOB_BACKUP = "ops.daily_backup"


async def daily_backup(settings: Settings, session_factory: async_sessionmaker[AsyncSession],
                       bot: Bot, i18n: I18n, now: datetime | None = None) -> BackupInfo | None:
    """One backup now; None when BACKUP_DIR is empty or the backup failed (owners are told)."""
    if settings.backup_time is None:
        return None
    local = (now or utcnow()).astimezone(settings.tz)
    try:
        info = await backup_to_dir(settings.database_url, Path(settings.backup_dir),
                                   settings.backup_keep, local)
    except Exception as exc:
        log.exception("daily backup into %s failed", settings.backup_dir)
        await _tell_owners(settings, session_factory, bot, i18n, str(exc))
        return None
    log.info("daily backup %s: %d bytes in %.1f s", info.path, info.size, info.seconds)
    return info


async def _tell_owners(settings: Settings, session_factory: async_sessionmaker[AsyncSession],
                       bot: Bot, i18n: I18n, error: str) -> None:
    async with session_factory() as session:
        owners = [(s.tg_user_id, s.language or settings.default_language)
                  for s in await list_staff(session, active_only=True) if s.role == Role.OWNER]
    for chat_id, lang in owners:
        with i18n.context(), i18n.use_locale(lang):
            text = _("⚠️ Ежедневная резервная копия не сделана: {error}\nПроверьте место на "
                     "диске и BACKUP_DIR; копию можно сделать сейчас командой /backup.").format(
                error=h(error[:500]))
        try:
            await bot.send_message(chat_id, text)
        except TelegramAPIError as exc:
            log.warning("backup failure notice not delivered to %s: %s", chat_id, exc)


def add_jobs(scheduler: AsyncIOScheduler, settings: Settings,
             session_factory: async_sessionmaker[AsyncSession], bot: Bot, i18n: I18n) -> None:
    """The daily backup cron at BACKUP_AT in TIMEZONE; nothing when BACKUP_DIR is empty."""
    at = settings.backup_time
    if at is None:
        return
    scheduler.add_job(
        daily_backup, CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.tz),
        args=[settings, session_factory, bot, i18n], id=JOB_BACKUP, replace_existing=True,
        coalesce=True, max_instances=1, misfire_grace_time=3600,
    )
