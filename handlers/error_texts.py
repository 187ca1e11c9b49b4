"""Domain errors → what a person reads, from the catalog. The desk's texts are here; each
feature's own codes come from its error_texts module, composed below in one table."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiogram.utils.i18n import gettext as _

from db.desk.tickets import TEXT_MAX
from db.errors import DomainError, InvalidPhone, InvalidValue, InviteInvalid
from handlers.money.error_texts import MONEY_ERRORS
from handlers.notify.error_texts import NOTIFY_ERRORS
from handlers.reports.error_texts import REPORT_ERRORS

# Each feature's error codes and their texts (codes are unique across features).
FEATURE_ERRORS: Mapping[str, Callable[[DomainError], str]] = {
    **MONEY_ERRORS, **NOTIFY_ERRORS, **REPORT_ERRORS,
}


def phone_error(exc: InvalidPhone) -> str:
    return {
        "empty": _("Введите номер телефона, например 067 123 45 67."),
        "not_a_number": _(
            "Это не похоже на номер телефона: нужны цифры (можно с пробелами, скобками, "
            "«+» и «-»), например 067 123 45 67."
        ),
        "too_short": _("В номере не хватает цифр. Пример: 067 123 45 67."),
        "too_long": _("В номере лишние цифры. Пример: 067 123 45 67."),
    }.get(
        exc.reason, _("Такого номера не бывает — проверьте код оператора. Пример: 067 123 45 67.")
    )


def value_error(exc: InvalidValue) -> str:
    field = exc.field
    reason = exc.params.get("reason")
    if reason == "too_long" or "limit" in exc.params:
        return _("Слишком длинный текст: не больше {limit} символов.").format(
            limit=exc.params.get("limit", TEXT_MAX)
        )
    if field == "defect":
        return _("Опишите неисправность — это обязательное поле.")
    if field == "comment":
        return _("Пустой комментарий: напишите текст или пришлите фото/файл.")
    if field == "percent":
        return _("Процент — число от 0 до 100, например 30 или 12,5.")
    if field == "estimate":
        return _("Сумма должна быть от 0 до 100 000 000 ₴.")
    if field == "device":
        return _("Укажите тип, бренд или модель устройства.")
    return _("Неверное значение. Попробуйте ещё раз.")


def invite_error(exc: InviteInvalid) -> str:
    return {
        "expired": _("Срок действия приглашения истёк. Попросите владельца прислать новое."),
        "used": _("Это приглашение уже использовано. Попросите владельца прислать новое."),
        "revoked": _("Приглашение отозвано владельцем и больше не действует. Если оно вам "
                     "нужно, попросите владельца прислать новое."),
    }.get(exc.reason, _("Приглашение не найдено."))


def error_text(exc: DomainError) -> str:
    """The message for any domain error."""
    if isinstance(exc, InvalidPhone):
        return phone_error(exc)
    if isinstance(exc, InvalidValue):
        return value_error(exc)
    if isinstance(exc, InviteInvalid):
        return invite_error(exc)
    if exc.code in FEATURE_ERRORS:
        return FEATURE_ERRORS[exc.code](exc)
    return {
        "not_found": _("Не найдено: возможно, запись удалена или ссылка устарела."),
        "permission_denied": _("Нет доступа."),
        "duplicate_client": _("Клиент с этим номером уже есть."),
        "transition_not_allowed": _("Такой переход статуса не разрешён."),
        "ticket_closed": _("Обращение закрыто: сначала откройте его снова."),
        "device_has_open_ticket": _(
            "У этого устройства уже есть открытое обращение [{number}]."
        ).format(number=exc.params.get("ticket_number", "?")),
        "already_staff": _("Вы уже сотрудник."),
        "last_owner": _("В сервисе должен остаться хотя бы один владелец."),
    }.get(exc.code, _("Не получилось: {reason}.").format(reason=exc.code))
