"""Who may use a handler. Applied to every staff router, so each message and callback is checked."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, TelegramObject

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


class CallbackPrefixes(Filter):
    """Callbacks whose data is of one of the given CallbackData classes (by prefix): a router's
    gate, so a button of another feature is turned away once per router instead of being
    unpacked (and refused with an exception) once per handler."""

    def __init__(self, classes: Iterable[type[CallbackData]]) -> None:
        classes = list(classes)
        self.prefixes = sorted({c.__prefix__ for c in classes})
        self.starts = tuple(sorted({c.__prefix__ + c.__separator__ for c in classes}))
        self.bare = frozenset(c.__prefix__ for c in classes if not c.model_fields)

    async def __call__(self, query: CallbackQuery) -> bool:
        data = query.data or ""
        return data.startswith(self.starts) or data in self.bare

    def __str__(self) -> str:
        return f"CallbackPrefixes({', '.join(self.prefixes)})"


class InStates(Filter):
    """Messages in one of the given form states (None: no form): a router's gate, so text
    typed outside a router's forms is turned away once per router instead of once per step."""

    def __init__(self, states: Iterable[str | None]) -> None:
        self.states = frozenset(states)

    async def __call__(self, event: TelegramObject, raw_state: str | None = None,
                       **_: Any) -> bool:
        return raw_state in self.states

    def __str__(self) -> str:
        return f"InStates({', '.join(sorted(str(s) for s in self.states))})"


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
