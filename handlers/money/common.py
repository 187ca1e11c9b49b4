"""Helpers shared by the money routers: quantities, flow messages, refusals."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import clip
from db.desk.models import Role, Staff
from db.errors import DomainError, InvalidValue, PermissionDenied
from db.money.amounts import parse_quantity
from handlers.error_texts import error_text
from handlers.money.error_texts import money_field_text
from handlers.ui import callback_message

PAGE = 10  # rows of a paginated list
# "стекло *2", "SCR1 ×1,5", "плёнка x3 шт": a quantity at the end, after * × x or Cyrillic х.
_QTY_SUFFIX = re.compile(
    r"^(?P<rest>.*?)\s*(?:[*×]|\s[xх])\s*(?P<qty>\d+(?:[.,]\d+)?\s*(?:шт\.?)?)$", re.IGNORECASE)



def split_quantity(text: str) -> tuple[str, int | None]:
    """("стекло", 2000) from "стекло *2"; (text, None) when there is no quantity suffix.
    Raises InvalidQuantity for a suffix that is not a valid quantity ("*0")."""
    match = _QTY_SUFFIX.match(text.strip())
    if match is None or not match.group("rest").strip():
        return text.strip(), None
    return match.group("rest").strip(), parse_quantity(match.group("qty"))


def short(text: str, limit: int = 80) -> str:
    """User text inside lists: long names must not push a list over Telegram's 4096 chars."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def is_manager(staff: Staff) -> bool:
    return staff.role in (Role.OWNER, Role.MANAGER)


def day_bounds(tz: ZoneInfo, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The shop's local calendar day around `now`, as UTC bounds (DST-safe)."""
    local = (now or datetime.now(UTC)).astimezone(tz).date()
    start = datetime.combine(local, time.min, tz)
    end = datetime.combine(local + timedelta(days=1), time.min, tz)
    return start.astimezone(UTC), end.astimezone(UTC)


async def flow_reply(message: Message, state: FSMContext, text: str,
                     kb: InlineKeyboardMarkup | None = None) -> None:
    """Answer a typed value with the next step and strip the buttons of the previous step,
    so only the current step can be tapped."""
    data = await state.get_data()
    old = data.get("ui_id")
    sent = await message.answer(clip(text), reply_markup=kb)
    await state.update_data(ui_id=sent.message_id if kb is not None else None)
    if old and old != sent.message_id and message.bot is not None:
        with contextlib.suppress(TelegramBadRequest):
            await message.bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=old,
                                                        reply_markup=None)


MONEY_FORMS = ("ReceiptForm:", "PayForm:", "ExpenseForm:", "CashForm:", "PriceForm:",
               "PayTypeForm:")


async def leave_form(state: FSMContext) -> None:
    """A "back"/list button abandons a money form, so later typing is not read as its input."""
    if (await state.get_state() or "").startswith(MONEY_FORMS):
        await state.set_state(None)


async def remember_ui(query: CallbackQuery, state: FSMContext) -> None:
    """The message a form was started from is the one whose buttons `flow_reply` strips."""
    message = callback_message(query)
    if message is not None:
        await state.update_data(ui_id=message.message_id)


async def alert(query: CallbackQuery, text: str) -> None:
    """A refusal as a pop-up; Telegram caps those at 200 characters, so longer ones (a long
    translation) go to the chat instead of being cut."""
    message = callback_message(query)
    if len(text) <= 200 or message is None:
        await query.answer(text[:200], show_alert=True)
        return
    await query.answer()
    await message.answer(text)


def paid_error(receipt_id: int) -> str:
    from db.money.errors import ReceiptPaid

    return money_error(ReceiptPaid(receipt_id))


def stale() -> str:
    return _("Кнопка устарела — откройте карточку заново.")


# ---- error texts -------------------------------------------------------------------------

def money_error(exc: DomainError) -> str:
    """What a person reads for a refused money operation: what was wrong and how to fix it."""
    if isinstance(exc, InvalidValue):
        text = money_field_text(exc)
        if text:
            return text
    if isinstance(exc, PermissionDenied):
        needs = exc.params.get("needs")
        if needs == "owner":
            return _("Это может сделать только владелец.")
        if needs == "manager":
            return _("Это может сделать только владелец или менеджер.")
    return error_text(exc)
