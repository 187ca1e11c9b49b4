"""Texts for refused client-side and message operations (db.notify.errors): chat links, the
outbox, templates. Composed into the shared catalog by handlers/error_texts.py."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.utils.i18n import gettext as _

from bot.views.formatting import h
from db.errors import DomainError
from db.notify.templates import PLACEHOLDERS


def share_button_text() -> str:
    return _("📱 Поделиться номером")


def template_error(exc: DomainError) -> str:
    """Why a template text was refused, naming the placeholder or the brace."""
    reason = exc.params.get("reason")
    found = h(exc.params.get("placeholder") or "")
    position = exc.params.get("position")
    where = " " + _("(символ {position})").format(position=position + 1) \
        if isinstance(position, int) else ""
    if reason == "empty":
        return _("Пустой текст: напишите, что получит клиент.")
    if reason == "too_long":
        return _("Слишком длинный текст: не больше {limit} символов.").format(
            limit=exc.params.get("limit", 1000))
    if reason == "unknown_placeholder":
        return _("Неизвестная подстановка {placeholder}{where}. Можно только: {allowed}.").format(
            placeholder=found, where=where,
            allowed=" ".join("{" + p + "}" for p in PLACEHOLDERS))
    if reason == "bad_placeholder":
        return _("Неверная подстановка {placeholder}{where}: пишите имя в фигурных скобках, "
                 "например {example}.").format(placeholder=found, where=where,
                                                  example="{name}")
    if reason == "broken_brace":
        return _("Незакрытая фигурная скобка «{brace}»{where}. Подстановка пишется так: "
                 "{example}; сама скобка — двойной: {braces}.").format(
            brace=found, where=where, example="{name}", braces="{{ }}")
    return _("Шаблон не сохранён: {reason}.").format(reason=h(str(reason)))


NOTIFY_ERRORS: dict[str, Callable[[DomainError], str]] = {
    "foreign_contact": lambda exc: _(
        "Это не ваш контакт. Нажмите кнопку «{button}» внизу — Telegram отправит ваш "
        "собственный номер.").format(button=share_button_text()),
    "token_invalid": lambda exc: _("Ссылка на обращение не найдена или устарела."),
    "phone_mismatch": lambda exc: _(
        "Этот номер не совпадает с номером в обращении №{number}. Поделитесь номером, который "
        "вы оставили при приёме, или позвоните в сервис.").format(
        number=exc.params.get("ticket_number", "?")),
    "no_recipient": lambda exc: _("У клиента нет ни Telegram, ни телефона для SMS."),
    "invalid_message": lambda exc: _("Сообщение не поставлено в очередь: {reason}.").format(
        reason=exc.params.get("reason", "?")),
    "template_invalid": template_error,
    "template_name_taken": lambda exc: _(
        "Шаблон «{name}» уже есть — выберите другое название.").format(
        name=h(exc.params.get("name", ""))),
}
