"""What a person reads for a refused money operation (error codes of db.money.errors and the
money fields of InvalidValue). Composed into the shared catalog by handlers/error_texts.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import money, quantity
from db.errors import DomainError, InvalidValue


def lang_now() -> str:
    try:
        return str(get_i18n().current_locale)
    except LookupError:
        return "ru"


def _limit_money(exc: DomainError) -> str:
    limit = exc.params.get("limit")
    return money(int(limit), lang_now()) if isinstance(limit, int) else "—"


def _amount(exc: DomainError) -> str:
    reason = exc.params.get("reason")
    example = _("например 1 200,50")
    if reason == "empty":
        return _("Напишите сумму числом, {example}.").format(example=example)
    if reason == "decimals":
        return _("После запятой — не больше двух цифр (копейки), {example}. Тысячи пишите без "
                 "точки: 1200.").format(example=example)
    if reason == "zero":
        return _("Сумма должна быть больше нуля, {example}.").format(example=example)
    if reason == "negative":
        return _("Сумма не может быть отрицательной — напишите без минуса, {example}.").format(
            example=example)
    if reason == "too_large":
        return _("Слишком большая сумма: не больше {limit}. Проверьте, нет ли лишних "
                 "цифр.").format(limit=_limit_money(exc))
    return _("Не понял сумму. Сумма — число больше нуля: 1200, 1 200,50, 1200.5 или 1 200 грн.")


def _quantity(exc: DomainError) -> str:
    reason = exc.params.get("reason")
    if reason == "decimals":
        return _("Количество — не больше трёх знаков после запятой, например 0,25.")
    if reason == "zero":
        return _("Количество должно быть больше нуля, например 1 или 2.")
    if reason == "negative":
        return _("Количество не может быть отрицательным, например 2.")
    if reason == "too_large":
        limit = exc.params.get("limit")
        return _("Слишком большое количество: не больше {limit}.").format(
            limit=quantity(int(limit), lang_now()) if isinstance(limit, int) else "—")
    return _("Количество — число больше нуля, например 2 или 1,5.")


def _p(exc: DomainError, key: str) -> Any:
    return exc.params.get(key, "?")


def _m(exc: DomainError, key: str) -> str:
    value = exc.params.get(key)
    return money(int(value), lang_now()) if isinstance(value, int) else "?"


def _refundable(exc: DomainError) -> str:
    reason, rid = exc.params.get("reason"), _p(exc, "receipt_id")
    if reason == "not_paid":
        return _("Чек №{id} не оплачен — возвращать нечего (неоплаченный чек можно удалить)."
                 ).format(id=rid)
    if reason == "is_refund":
        return _("Это чек возврата — по нему возврат не оформляется.")
    return _("По чеку №{id} уже всё возвращено.").format(id=rid)


def _expense_locked(exc: DomainError) -> str:
    if exc.params.get("reason") == "ticket_closed":
        return _("Обращение закрыто — его расходы не меняются. Сначала откройте обращение снова.")
    return _("Этот расход уже вошёл в закрытую смену (Z-отчёт) — удалить его нельзя. Внесите "
             "исправление отдельной операцией.")


MONEY_ERRORS: dict[str, Callable[[DomainError], str]] = {
    "last_payment_type": lambda exc: _("Должен остаться хотя бы один способ оплаты."),
    "invalid_amount": _amount,
    "invalid_quantity": _quantity,
    "duplicate_service": lambda exc: _(
        "Код {code} уже занят другой услугой — выберите другой код.").format(
        code=_p(exc, "service_code")),
    "receipt_paid": lambda exc: _(
        "Чек №{id} уже оплачен: его нельзя изменить или оплатить ещё раз. Чтобы вернуть "
        "деньги, оформите возврат.").format(id=_p(exc, "receipt_id")),
    "receipt_empty": lambda exc: _(
        "В чеке №{id} нечего оплачивать — сначала добавьте услугу или строку с ценой.").format(
        id=_p(exc, "receipt_id")),
    "payment_mismatch": lambda exc: _(
        "Части оплаты ({paid}) не сходятся с суммой чека ({total}). Начните разбивку "
        "заново.").format(paid=_m(exc, "paid"), total=_m(exc, "total")),
    "received_too_little": lambda exc: _(
        "Получено {received} — меньше, чем к оплате наличными ({amount}). Напишите сумму "
        "не меньше {amount}.").format(received=_m(exc, "received"), amount=_m(exc, "amount")),
    "shift_too_old": lambda exc: _(
        "Смена №{number} открыта больше 24 часов — деньги не принимаются, пока её не закроют. "
        "Закройте смену (Z-отчёт) в /shift и повторите.").format(number=_p(exc, "number")),
    "shift_already_open": lambda exc: _("Смена №{number} уже открыта.").format(
        number=_p(exc, "number")),
    "no_open_shift": lambda exc: _("Открытой смены нет — она откроется сама с первой оплатой."),
    "drawer_short": lambda exc: _(
        "В кассе только {balance}, а нужно выдать {amount}. Проверьте сумму, выберите "
        "безналичную оплату или сначала сделайте внесение (/cash; владелец или менеджер).").format(
        balance=_m(exc, "balance"), amount=_m(exc, "amount")),
    "not_refundable": _refundable,
    "refund_too_large": lambda exc: _(
        "Столько вернуть нельзя: по строке осталось {available}, выбрано {requested}.").format(
        available=quantity(int(exc.params.get("available", 0)), lang_now()),
        requested=quantity(int(exc.params.get("requested", 0)), lang_now())),
    "refund_amount_too_large": lambda exc: _(
        "Столько вернуть нельзя: по строке осталось {available}, а нужно {requested}.").format(
        available=_m(exc, "available"), requested=_m(exc, "requested")),
    "expense_locked": _expense_locked,
    "part_too_large": lambda exc: _(
        "Это больше остатка ({left}). Напишите сумму не больше остатка.").format(
        left=_m(exc, "left")),
    "unpaid_changed": lambda exc: _("Суммы изменились — проверьте ещё раз."),
    "unpaid_receipts": lambda exc: _(
        "Есть неоплаченные чеки: {count} на {total}. Оплатите их или подтвердите закрытие "
        "с долгом.").format(count=_p(exc, "count"), total=_m(exc, "total")),
}


def money_field_text(exc: InvalidValue) -> str | None:
    """Money fields the shared value_error does not know (it would say "Неверное значение")."""
    reason = exc.params.get("reason")
    limit = exc.params.get("limit", "?")
    if reason == "too_long":
        return None  # the shared text names the limit
    return {
        "code": _("Напишите код услуги: буквы и цифры без пробелов, например SCR1."),
        "name": _("Напишите название."),
        "name_ru": _("Напишите название."),
        "name_uk": _("Напишите название."),
        "description": _("Напишите, на что потрачено, например: дисплей."),
        "reason": _("Напишите причину, например: размен или инкассация."),
        "lines": _("В чеке не больше {limit} строк — начните новый чек.").format(limit=limit),
        "parts": _("Оплата — от 1 до {limit} частей.").format(limit=limit),
        "received": _("Для безналичной оплаты «получено» не указывается."),
        "service": _("Эта услуга в архиве — выберите другую или верните её в прайс-лист."),
        "services": _("Выберите хотя бы одну услугу."),
        "kind": _("Неизвестный вид оплаты."),
    }.get(exc.field)
