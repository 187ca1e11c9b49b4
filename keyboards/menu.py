"""The staff reply keyboard: one row of sections, big enough for a thumb."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from db.desk.models import Role, Staff

# Lazy so that routers can match the button text in the user's language.
CLIENTS = __("👥 Клиенты")
SERVICE = __("🛠 Сервис")
SETTINGS = __("⚙️ Настройки")

# Sections later issues add register themselves here (text, roles that see it).
EXTRA_SECTIONS: list[tuple[object, tuple[Role, ...]]] = []


def menu_texts() -> set[str]:
    """The section buttons in the current language."""
    return {str(CLIENTS), str(SERVICE), str(SETTINGS), *(str(t) for t, _roles in EXTRA_SECTIONS)}


def staff_menu(staff: Staff) -> ReplyKeyboardMarkup:
    first = [KeyboardButton(text=str(CLIENTS)), KeyboardButton(text=str(SERVICE))]
    second = [
        KeyboardButton(text=str(text)) for text, roles in EXTRA_SECTIONS if staff.role in roles
    ]
    if staff.role == Role.OWNER:
        second.append(KeyboardButton(text=str(SETTINGS)))
    rows = [first] + ([second] if second else [])
    return ReplyKeyboardMarkup(
        keyboard=rows,
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Телефон, имя или номер обращения"),
    )


def no_menu() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()
