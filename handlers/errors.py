"""Last line: a domain error becomes its message; anything else is logged with context and the
person gets a polite message. The update's transaction has already been rolled back."""

from __future__ import annotations

import logging

from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from db.errors import DomainError
from handlers.error_texts import error_text

log = logging.getLogger("bot.errors")


async def on_error(event: ErrorEvent, i18n: I18n | None = None, lang: str = "ru") -> bool:
    exc = event.exception
    update = event.update
    user = (update.message or update.callback_query or update.edited_message)
    user_id = user.from_user.id if user is not None and user.from_user else None
    if isinstance(exc, DomainError):
        log.info("update %s from %s refused: %s %s", update.update_id, user_id, exc.code,
                 exc.params)
    else:
        log.exception("update %s from %s failed", update.update_id, user_id, exc_info=exc)
    if i18n is None:
        return True
    with i18n.context(), i18n.use_locale(lang):
        text = error_text(exc) if isinstance(exc, DomainError) else _(
            "Что-то пошло не так, ничего не сохранено. Попробуйте ещё раз; если повторится — "
            "сообщите владельцу.")
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text[:200], show_alert=True)
            elif update.message is not None:
                await update.message.answer(text)
        except Exception:
            log.warning("could not tell user %s about the error", user_id, exc_info=True)
    return True
