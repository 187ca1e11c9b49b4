"""Buttons of the owner's operations: the client base import preview."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup

from keyboards.common import button, markup


class ImportAction(StrEnum):
    CONFIRM = "ok"
    CANCEL = "no"


class ImportCb(CallbackData, prefix="imp"):
    """`key` is the previewed file's file_unique_id: a button under an older preview cannot
    import a file sent after it."""

    action: ImportAction
    key: str


def import_markup(key: str, confirm: str, cancel: str) -> InlineKeyboardMarkup:
    return markup([[button(confirm, ImportCb(action=ImportAction.CONFIRM, key=key)),
                    button(cancel, ImportCb(action=ImportAction.CANCEL, key=key))]])
