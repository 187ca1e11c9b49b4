"""Last line: a domain error becomes its message; anything else is logged with the update id,
the user and a short incident code, and the person gets a polite message with that code (so
the owner can find the log line). The update's transaction has already been rolled back."""

from __future__ import annotations

import logging
import secrets

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, ErrorEvent, InaccessibleMessage
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import logs
from db.errors import DomainError
from handlers.error_texts import error_text

log = logging.getLogger("bot.errors")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a phone


def incident_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


async def on_error(event: ErrorEvent, i18n: I18n | None = None, lang: str = "ru") -> bool:
    exc = event.exception
    update = event.update
    sender = update.message or update.callback_query or update.edited_message
    user_id = sender.from_user.id if sender is not None and sender.from_user else None
    if isinstance(exc, DomainError):
        log.info("update %s from %s refused: %s %s", update.update_id, user_id, exc.code,
                 exc.params)
    else:
        code = incident_code()
        # The update's own log context has ended (its transaction is rolled back by now).
        with logs.scope(update_id=update.update_id, user_id=user_id, incident=code):
            log.error("update %s from %s failed, incident %s", update.update_id, user_id,
                      code, exc_info=exc)
    if i18n is None:
        return True
    with i18n.context(), i18n.use_locale(lang):
        text = error_text(exc) if isinstance(exc, DomainError) else _(
            "Что-то пошло не так, ничего не сохранено. Попробуйте ещё раз; если повторится — "
            "сообщите владельцу код {code}.").format(code=code)
        try:
            if update.callback_query is not None:
                await _alert(update.callback_query, text)
            elif update.message is not None:
                await update.message.answer(text)
        except Exception:
            log.warning("could not tell user %s about the error", user_id, exc_info=True)
    return True


async def _alert(query: CallbackQuery, text: str) -> None:
    """An alert on the tapped button; in the chat when the tap can no longer be answered: it
    was answered together with the screen (handlers.ui.edit_and_answer) before the screen's
    edit failed, or it is older than Telegram keeps taps open."""
    try:
        await query.answer(text[:200], show_alert=True)
    except TelegramBadRequest:
        message = query.message
        if message is None or isinstance(message, InaccessibleMessage):
            raise
        await message.answer(text)
