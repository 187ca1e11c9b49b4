"""Building blocks for inline keyboards."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import Field


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text[:64], callback_data=data.pack())


def chunked(buttons: Sequence[InlineKeyboardButton], size: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + size]) for i in range(0, len(buttons), size)]


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def pager(page: int, pages: int, to: Callable[[int], CallbackData]
          ) -> list[InlineKeyboardButton]:
    """◀️ 2/5 ▶️ under a paginated list (empty when it fits on one page)."""
    if pages <= 1:
        return []
    row = [button("◀️", to(page - 1))] if page > 0 else []
    row.append(button(f"{page + 1}/{pages}", to(page)))
    if page < pages - 1:
        row.append(button("▶️", to(page + 1)))
    return row


# A row id in callback data: the database's integer range (PostgreSQL BIGINT). Forged data out
# of it does not match the button's filter, so it never reaches a query (where it would fail).
DB_ID_MAX = 2**63 - 1
DbId = Annotated[int, Field(ge=0, le=DB_ID_MAX)]
_INTEGER = re.compile(r"-?[0-9]{1,64}")


def id_out_of_range(data: str, separator: str = ":") -> bool:
    """Does callback data carry an integer beyond the database's BIGINT (so it matched no
    button, and no row can have it)?"""
    return any(_INTEGER.fullmatch(part) and not -DB_ID_MAX - 1 <= int(part) <= DB_ID_MAX
               for part in data.split(separator))
