"""Small UI helpers shared by the routers: edit in place, tolerate 'not modified', answer a
button or a message that belongs to a form no longer open."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import clip


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
                try:
                    result = await message.edit_text(text, reply_markup=markup)
                    return result if isinstance(result, Message) else message
                except TelegramBadRequest as exc:
                    if "not modified" in exc.message:
                        return message
            return await message.answer(text, reply_markup=markup)
        return None
    return await event.answer(text, reply_markup=markup)


async def edit_markup(event: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    message = event.message
    if message is None or isinstance(message, InaccessibleMessage):
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
