"""Who may use a handler. Applied to every staff router, so each message and callback is checked."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message, TelegramObject

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
        self.classes = frozenset(classes)
        self.prefixes = sorted({c.__prefix__ for c in self.classes})
        self.starts = tuple(sorted({c.__prefix__ + c.__separator__ for c in self.classes}))
        self.bare = frozenset(c.__prefix__ for c in self.classes if not c.model_fields)

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


class MessageKeys(Filter):
    """Messages in one of the given states, or with one of the given commands, or with one of
    the given button texts (lazy: compared in the user's language, as TextIs does): the gate of
    a run of routers (handlers/gates.py `grouped`). Commands are compared case-folded and
    without the bot's @mention, so the gate passes whatever a Command filter of them could."""

    def __init__(self, *, states: Iterable[str | None] = (), commands: Iterable[str] = (),
                 prefixes: str = "", texts: Iterable[object] = ()) -> None:
        self.states = frozenset(states)
        self.commands = frozenset(c.casefold() for c in commands)
        self.prefixes = "".join(sorted(set(prefixes)))
        self.texts = tuple(texts)

    @classmethod
    def union(cls, keys: Iterable[MessageKeys]) -> MessageKeys:
        keys = list(keys)
        return cls(states=frozenset().union(*(k.states for k in keys)),
                   commands=frozenset().union(*(k.commands for k in keys)),
                   prefixes="".join(k.prefixes for k in keys),
                   texts=[t for k in keys for t in k.texts])

    async def __call__(self, message: Message, raw_state: str | None = None, **_: Any) -> bool:
        if raw_state in self.states:
            return True
        text = message.text or message.caption  # what Command reads
        if not text:
            return False
        if self.texts and text in {str(t) for t in self.texts}:
            return True
        return text[0] in self.prefixes and _command_name(text) in self.commands

    def __str__(self) -> str:
        return (f"MessageKeys(states: {len(self.states)}, commands: "
                f"{' '.join(sorted(self.commands))}, buttons: {len(self.texts)})")


def _command_name(text: str) -> str:
    """"/Ticket@shop_bot 12" → "ticket", as aiogram's Command splits it."""
    first = text.split(maxsplit=1)[:1]
    return first[0][1:].partition("@")[0].casefold() if first else ""


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
