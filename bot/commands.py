"""The command menu per scope: staff see the desk's commands, everyone else the client's."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.i18n import N_
from db.desk.models import Role, Staff

log = logging.getLogger(__name__)

STAFF_COMMANDS = [
    ("start", N_("Главное меню")),
    ("help", N_("Справка")),
    ("cancel", N_("Отменить действие")),
    ("client", N_("Клиент по телефону или имени")),
    ("ticket", N_("Обращение по номеру")),
    ("find", N_("Поиск")),
    ("cash", N_("Касса")),
    ("shift", N_("Кассовая смена")),
    ("today", N_("Итоги дня")),
    ("report", N_("Отчёт за период")),
    ("services", N_("Прайс-лист")),
    ("staff", N_("Сотрудники")),
    ("templates", N_("Шаблоны сообщений")),
    ("settings", N_("Настройки")),
    ("backup", N_("Резервная копия базы")),
    ("audit", N_("Журнал действий")),
]
# What each role is offered in its menu; the handlers check roles again on every call.
OWNER_ONLY = {"staff", "settings", "backup", "audit"}
MANAGER_UP = {"today", "report", "templates"}
CLIENT_COMMANDS = [("start", N_("Начать")), ("status", N_("Мои ремонты")), ("help", N_("Справка"))]


def _commands(pairs: list[tuple[str, str]], i18n: I18n, lang: str) -> list[BotCommand]:
    return [BotCommand(command=c, description=i18n.gettext(d, locale=lang)) for c, d in pairs]


async def set_default_commands(bot: Bot, i18n: I18n, client_lang: str) -> None:
    await bot.set_my_commands(_commands(CLIENT_COMMANDS, i18n, client_lang),
                              scope=BotCommandScopeDefault())


async def set_staff_commands(bot: Bot, i18n: I18n, staff: Staff, lang: str) -> None:
    """Per-chat scope: a private chat's id equals the user's id."""
    scope = BotCommandScopeChat(chat_id=staff.tg_user_id)
    hidden = set() if staff.role == Role.OWNER else (
        OWNER_ONLY if staff.role == Role.MANAGER else OWNER_ONLY | MANAGER_UP)
    pairs = [(c, d) for c, d in STAFF_COMMANDS if c not in hidden]
    try:
        if staff.active:
            await bot.set_my_commands(_commands(pairs, i18n, lang), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramAPIError as exc:  # the person may never have opened the chat
        log.info("commands for staff %s not set: %s", staff.id, exc)

