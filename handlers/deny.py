"""The last router: whatever staff routers did not take. Outsiders learn nothing and get
"no access" for every staff command and button; staff get a hint for stale buttons."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.commands import STAFF_COMMANDS
from db.desk.models import Client, Staff
from keyboards.common import id_out_of_range

CLIENT_ONLY = {"start", "help", "status", "cancel"}


async def staff_command(message: Message, staff: Staff | None) -> None:
    if staff is None:
        await message.answer(_("Нет доступа: эта команда для сотрудников сервиса."))
    else:
        await message.answer(_("Эта команда доступна не всем ролям или ещё не включена."))


async def any_button(query: CallbackQuery, staff: Staff | None,
                     client: Client | None = None) -> None:
    if (staff is not None or client is not None) and id_out_of_range(query.data or ""):
        # An id beyond the database's range (forged): no such record, whatever the button.
        await query.answer(_("Не найдено: возможно, запись удалена или ссылка устарела."),
                           show_alert=True)
    elif staff is None:
        await query.answer(_("Нет доступа."), show_alert=True)
    else:
        await query.answer(_("Кнопка устарела — откройте карточку заново."), show_alert=True)


def setup() -> Router:
    router = Router(name="deny")
    staff_only = [c for c, _text in STAFF_COMMANDS if c not in CLIENT_ONLY]
    router.message.register(staff_command, Command(*staff_only))
    router.callback_query.register(any_button)
    return router
