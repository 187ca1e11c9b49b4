"""Texts for refused report inputs (db.reports.periods.BadPeriod). Composed into the shared
catalog by handlers/error_texts.py."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.utils.i18n import gettext as _

from bot.views.formatting import echo
from db.errors import DomainError
from db.reports.periods import MAX_DAYS


def bad_period_text(exc: DomainError) -> str:
    reason = exc.params.get("reason")
    text = echo(str(exc.params.get("text", "")))
    if reason == "no_such_day":
        return _("Такой даты нет: «{text}». Пример правильной: 28.02.2026.").format(text=text)
    if reason == "too_many":
        return _("Слишком много дат: нужна одна дата или две — начало и конец периода.")
    if reason == "too_long":
        return _("Период слишком длинный: не больше {days} дней.").format(
            days=exc.params.get("max_days", MAX_DAYS))
    return _("Не понял дату «{text}». Дату пишите как 20.11, 20.11.2026 или 2026-11-20; "
             "можно словами: сегодня, вчера, позавчера, неделя, месяц, прошлый месяц."
             ).format(text=text)


REPORT_ERRORS: dict[str, Callable[[DomainError], str]] = {"bad_period": bad_period_text}
