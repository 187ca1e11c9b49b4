"""Small UI helpers shared by the routers: edit in place (never an edit that changes nothing:
Telegram rejects it), answer a button or a message that belongs to a form no longer open."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.unit_of_work import ready_to_speak
from bot.views.formatting import clip

log = logging.getLogger(__name__)
_TAG = re.compile(r"<[^>]*>")


def _plain(text: str | None) -> str:
    """What a person reads of an HTML text (Telegram compares that, plus the formatting)."""
    return html.unescape(_TAG.sub("", text or "")).strip()


def _buttons(markup: InlineKeyboardMarkup | None) -> object:
    rows = [] if markup is None else markup.model_dump(exclude_none=True)["inline_keyboard"]
    return [row for row in rows if row]  # no markup and an empty one look the same


def unchanged(message: Message, text: str | None, markup: InlineKeyboardMarkup | None) -> bool:
    """Would editing `message` to `text` (None: keep it) and `markup` change nothing?"""
    same_text = text is None or _plain(text) == _plain(message.text)
    return same_text and _buttons(markup) == _buttons(message.reply_markup)


async def edit_or_send(
    event: CallbackQuery | Message,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Edit the message a button belongs to (keeps the chat clean); send a new one otherwise."""
    text = clip(text)
    if isinstance(event, CallbackQuery):
        message = event.message
        if message is not None and not isinstance(message, InaccessibleMessage):
            if message.text is not None:
                if unchanged(message, text, markup):
                    return message  # re-opened the same view: nothing to edit
                try:
                    result = await message.edit_text(text, reply_markup=markup)
                    return result if isinstance(result, Message) else message
                except TelegramBadRequest as exc:
                    if "not modified" in exc.message:
                        return message
            return await message.answer(text, reply_markup=markup)
        return None
    return await event.answer(text, reply_markup=markup)


async def edit_and_answer(
    query: CallbackQuery,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    note: str | None = None,
) -> Message | None:
    """`edit_or_send` and the tap's answer (`note`: a toast, or none) sent at the same
    time: the button's spinner stops with the new screen, not a round trip after it. Both
    are made after the update's changes are committed, as every reply is."""
    await ready_to_speak("editMessageText", claims=True)
    screen, answered = await asyncio.gather(
        edit_or_send(query, text, markup), _answer(query, note), return_exceptions=True)
    if isinstance(screen, BaseException):
        raise screen  # the error handler tells the person (in the chat: the tap is answered)
    if isinstance(answered, Exception):
        # The new screen is shown; an unanswered tap only spins until Telegram gives up.
        log.warning("tap %s not answered: %r", query.id, answered)
    elif isinstance(answered, BaseException):
        raise answered
    return screen


async def _answer(query: CallbackQuery, note: str | None) -> bool:
    return await query.answer(note)  # a method object, not a coroutine: gather needs one


async def edit_markup(event: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    message = event.message
    if message is None or isinstance(message, InaccessibleMessage):
        return
    if unchanged(message, None, markup):
        return
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=markup)


def callback_message(event: CallbackQuery) -> Message | None:
    message = event.message
    return None if message is None or isinstance(message, InaccessibleMessage) else message


async def stale_button(query: CallbackQuery) -> None:
    """A form's button pressed when that form (or that step of it) is not the current one."""
    await query.answer(_("Кнопка устарела."), show_alert=True)


async def form_gone(message: Message, state: FSMContext) -> None:
    """A form's state whose data is missing or unreadable (another release's, expired): end it
    rather than guess."""
    await state.clear()
    await message.answer(_("Отменено."))
