"""Who may use a handler. Applied to every staff router, so each message and callback is checked."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from db.desk.models import Role, Staff
from keyboards.menu import menu_texts


class IsStaff(Filter):
    """Active staff, optionally of the given roles."""

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    async def __call__(self, event: TelegramObject, staff: Staff | None = None, **_: Any) -> bool:
        if staff is None or not staff.active:
            return False
        return not self.roles or staff.role in self.roles


class IsNotStaff(Filter):
    async def __call__(self, event: TelegramObject, staff: Staff | None = None, **_: Any) -> bool:
        return staff is None


class TextIs(Filter):
    """Matches a reply-keyboard button in the user's language (lazy i18n text)."""

    def __init__(self, text: object) -> None:
        self.text = text

    async def __call__(self, event: TelegramObject, **_: Any) -> bool:
        return getattr(event, "text", None) == str(self.text)


class NotCommand(Filter):
    """Lets slash commands and the menu buttons pass a form's text handlers, so /ticket,
    /client or "👥 Клиенты" work in the middle of any form."""

    async def __call__(self, event: TelegramObject, **_: Any) -> bool:
        text = getattr(event, "text", None)
        return not (text and (text.startswith("/") or text in menu_texts()))
