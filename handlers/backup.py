"""/backup (owner): a consistent snapshot of the database sent as a document.

The update's transaction is committed first (it wrote nothing), so on SQLite the desk is not
kept waiting for the write lock while the copy is made. The Bot API takes uploads up to 50 MB
(2000 MB through a local Bot API server, TELEGRAM_API_URL); a larger copy is kept in BACKUP_DIR
when set, and the owner is told where it is."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from aiogram import Bot, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command
from aiogram.types import FSInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.ops.backup import BackupInfo, backup, file_name
from bot.ops.errors import BackupError
from bot.unit_of_work import UnitOfWork
from bot.views.formatting import h
from bot.views.ops_texts import size_text
from db.base import utcnow
from db.desk.models import Role, Staff
from handlers.filters import IsStaff

BOT_API_UPLOAD = 50 * 2**20
LOCAL_API_UPLOAD = 2000 * 2**20


def upload_limit(settings: Settings) -> int:
    return LOCAL_API_UPLOAD if settings.telegram_api_url else BOT_API_UPLOAD


async def _too_large(message: Message, info: BackupInfo, settings: Settings) -> None:
    limit = size_text(upload_limit(settings))
    if settings.backup_dir.strip():
        kept = Path(settings.backup_dir) / info.path.name
        await asyncio.to_thread(kept.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.move, info.path, kept)
        await message.answer(_(
            "Копия весит {size} — больше {limit}, которые бот может отправить в Telegram. "
            "Она сохранена на сервере: <code>{path}</code>").format(
            size=size_text(info.size), limit=limit, path=h(kept)))
        return
    await message.answer(_(
        "Копия весит {size} — больше {limit}, которые бот может отправить в Telegram. "
        "Сделайте её на сервере: <code>python -m bot backup FILE</code>, или задайте "
        "BACKUP_DIR для ежедневных копий.").format(size=size_text(info.size), limit=limit))


async def backup_command(message: Message, bot: Bot, staff: Staff, settings: Settings,
                         uow: UnitOfWork) -> None:
    if staff.role != Role.OWNER:
        await message.answer(_("Нет доступа: резервную копию может сделать только владелец."))
        return
    await uow.commit()
    await bot.send_chat_action(message.chat.id, ChatAction.UPLOAD_DOCUMENT)
    name = file_name(settings.database_url, utcnow().astimezone(settings.tz))
    with tempfile.TemporaryDirectory(prefix="backup-") as folder:
        try:
            info = await backup(settings.database_url, Path(folder) / name)
        except BackupError as exc:
            await message.answer(_("Не удалось сделать копию: {error}").format(
                error=h(exc.detail)))
            return
        if info.size > upload_limit(settings):
            await _too_large(message, info, settings)
            return
        await message.answer_document(FSInputFile(info.path, filename=name), caption=_(
            "🗄 Резервная копия базы, {size}. Храните её вне сервера. Восстановление — в "
            "пустую базу: <code>python -m bot restore FILE</code>").format(
            size=size_text(info.size)))


def setup() -> Router:
    router = Router(name="backup")
    router.message.filter(IsStaff())
    router.message.register(backup_command, Command("backup"))
    return router
