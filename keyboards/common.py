"""Building blocks for inline keyboards."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text[:64], callback_data=data.pack())


def chunked(buttons: Sequence[InlineKeyboardButton], size: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + size]) for i in range(0, len(buttons), size)]


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])
