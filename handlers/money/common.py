"""What the money handlers share: a step's reply that strips the previous step's buttons,
leaving a form, refusals as pop-ups and their texts."""

from __future__ import annotations

import contextlib
from typing import TypeVar

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import clip
from db.errors import DomainError, InvalidValue, PermissionDenied
from db.money.amounts import parse_amount
from db.money.errors import ReceiptPaid
from handlers.error_texts import error_text
from handlers.forms import update
from handlers.money.error_texts import money_field_text
from handlers.money.forms import MONEY_STATES, MoneyForm
from handlers.ui import callback_message, edit_and_answer

PAGE = 10  # rows of a paginated list
ALERT_MAX = 200  # Telegram's cap on a pop-up's text

M = TypeVar("M", bound=MoneyForm)


def short(text: str, limit: int = 80) -> str:
    """User text inside lists: long names must not push a list over Telegram's 4096 chars."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


async def flow_reply(message: Message, state: FSMContext, form: M, text: str,
                     kb: InlineKeyboardMarkup | None = None) -> M:
    """Answer a typed value with the next step and strip the buttons of the previous step,
    so only the current step can be tapped."""
    sent = await message.answer(clip(text), reply_markup=kb)
    old = form.ui_id
    form = await update(state, form, ui_id=sent.message_id if kb is not None else None)
    if old and old != sent.message_id and message.bot is not None:
        with contextlib.suppress(TelegramBadRequest):
            await message.bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=old,
                                                        reply_markup=None)
    return form


async def remember_ui(query: CallbackQuery, state: FSMContext, form: M) -> M:
    """The message a form's step was shown on is the one whose buttons `flow_reply` strips."""
    message = callback_message(query)
    return form if message is None else await update(state, form, ui_id=message.message_id)


async def show_step(target: CallbackQuery | Message, state: FSMContext, form: M, text: str,
                    kb: InlineKeyboardMarkup) -> M:
    """A step reached by a button edits its message; one reached by typing is sent anew."""
    if isinstance(target, Message):
        return await flow_reply(target, state, form, text, kb)
    await edit_and_answer(target, text, kb)
    return form


async def leave_form(state: FSMContext) -> None:
    """A "back"/list button abandons a money form, so later typing is not read as its input."""
    if await state.get_state() in MONEY_STATES:
        await state.set_state(None)


async def alert(query: CallbackQuery, text: str) -> None:
    """A refusal as a pop-up; Telegram caps those at 200 characters, so longer ones (a long
    translation) go to the chat instead of being cut."""
    message = callback_message(query)
    if len(text) <= ALERT_MAX or message is None:
        await query.answer(text[:ALERT_MAX], show_alert=True)
        return
    await query.answer()
    await message.answer(text)


async def refuse(target: CallbackQuery | Message, text: str) -> None:
    """A refusal where the person acted: a pop-up for a button, a message for typed text."""
    if isinstance(target, CallbackQuery):
        await alert(target, text)
    else:
        await target.answer(text)


def stale() -> str:
    return _("Кнопка устарела — откройте карточку заново.")


def paid_error(receipt_id: int) -> str:
    return money_error(ReceiptPaid(receipt_id))


async def typed_amount_of(message: Message) -> int | None:
    """The amount typed in kopecks, or None after telling the person what was wrong."""
    try:
        return parse_amount(message.text or "")
    except DomainError as exc:
        await message.answer(money_error(exc))
        return None


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
