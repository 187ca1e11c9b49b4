"""The staff reply keyboard: every section button, who sees it, in one list."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from db.desk.models import Role, Staff

# Lazy so that routers can match the button text in the user's language.
CLIENTS = __("👥 Клиенты")
SERVICE = __("🛠 Сервис")
CASH = __("💰 Касса")
REPORTS = __("📊 Отчеты")
SETTINGS = __("⚙️ Настройки")

EVERYONE = (Role.OWNER, Role.MANAGER, Role.MASTER)
# (text, roles that see it) by rows; a row with nothing visible is dropped.
SECTIONS: tuple[tuple[tuple[object, tuple[Role, ...]], ...], ...] = (
    ((CLIENTS, EVERYONE), (SERVICE, EVERYONE)),
    ((CASH, EVERYONE), (REPORTS, (Role.OWNER, Role.MANAGER)), (SETTINGS, (Role.OWNER,))),
)


def menu_texts() -> set[str]:
    """The section buttons in the current language."""
    return {str(text) for row in SECTIONS for text, _roles in row}


def staff_menu(staff: Staff) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(text=str(text)) for text, roles in row if staff.role in roles]
            for row in SECTIONS]
    return ReplyKeyboardMarkup(
        keyboard=[row for row in rows if row],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Телефон, имя или номер обращения"),
    )


def no_menu() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()
