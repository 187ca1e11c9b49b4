"""Last line: a domain error becomes its message; anything else is logged with the update id,
the user and a short incident code, and the person gets a polite message with that code (so
the owner can find the log line). The update's open transaction has already been rolled back;
what it committed before the failure (a reply fails after the commit it reports) stays, and
the message says so."""

from __future__ import annotations

import logging
import secrets

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, ErrorEvent, InaccessibleMessage
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import logs
from bot.unit_of_work import UnitOfWork
from db.errors import DomainError
from handlers.error_texts import error_text

log = logging.getLogger("bot.errors")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a phone


def incident_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


async def on_error(event: ErrorEvent, i18n: I18n | None = None, lang: str = "ru",
                   uow: UnitOfWork | None = None) -> bool:
    """`uow`: the update's unit of work (DbSessionMiddleware's), None if it never began."""
    exc = event.exception
    update = event.update
    sender = update.message or update.callback_query or update.edited_message
    user_id = sender.from_user.id if sender is not None and sender.from_user else None
    code = _log(exc, update.update_id, user_id)
    if i18n is None:
        return True
    with i18n.context(), i18n.use_locale(lang):
        text = _error_text(exc, code, saved=uow is not None and uow.saved)
        try:
            if update.callback_query is not None:
                await _alert(update.callback_query, text)
            elif update.message is not None:
                await update.message.answer(text)
        except Exception:
            log.warning("could not tell user %s about the error", user_id, exc_info=True)
    return True


def _log(exc: Exception, update_id: int, user_id: int | None) -> str:
    """Log the failure; the incident code of an unexpected one ("" for a refusal)."""
    if isinstance(exc, DomainError):
        log.info("update %s from %s refused: %s %s", update_id, user_id, exc.code, exc.params)
        return ""
    code = incident_code()
    # The update's own log context has ended by now.
    with logs.scope(update_id=update_id, user_id=user_id, incident=code):
        log.error("update %s from %s failed, incident %s", update_id, user_id, code,
                  exc_info=exc)
    return code


def _error_text(exc: Exception, code: str, *, saved: bool) -> str:
    """What the person is told: the refusal, or the incident with whether anything of it was
    saved (a reply fails after the commit it reports: the change stays)."""
    if isinstance(exc, DomainError):
        return error_text(exc)
    if saved:
        return _("Изменения сохранены, но показать результат не получилось. Откройте экран "
                 "заново; если повторится — сообщите владельцу код {code}.").format(code=code)
    return _("Что-то пошло не так, ничего не сохранено. Попробуйте ещё раз; если повторится — "
             "сообщите владельцу код {code}.").format(code=code)


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
