"""Helpers shared by the money routers: error texts, quantities, flow messages, fiscal wake-up."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.numbers import format_decimal

from bot.services import Services
from bot.views.formatting import BABEL_LOCALES, clip, money
from db.desk.models import Role, Staff
from db.errors import DomainError, InvalidValue, PermissionDenied
from db.money.amounts import parse_quantity
from handlers.error_texts import error_text
from handlers.ui import callback_message

PAGE = 10  # rows of a paginated list
# "стекло *2", "SCR1 ×1,5", "плёнка x3 шт": a quantity at the end, after * × x or Cyrillic х.
_QTY_SUFFIX = re.compile(
    r"^(?P<rest>.*?)\s*(?:[*×]|\s[xх])\s*(?P<qty>\d+(?:[.,]\d+)?\s*(?:шт\.?)?)$", re.IGNORECASE)

CASH_SECTION = __("💰 Касса")


def lang_now() -> str:
    from aiogram.utils.i18n import get_i18n

    try:
        return str(get_i18n().current_locale)
    except LookupError:
        return "ru"


def qty(thousandths: int, lang: str = "ru") -> str:
    """1000 → "1", 1500 → "1,5" in the person's locale."""
    return format_decimal(thousandths / 1000, format="#,##0.###",
                          locale=BABEL_LOCALES.get(lang, "ru_RU"))


def split_quantity(text: str) -> tuple[str, int | None]:
    """("стекло", 2000) from "стекло *2"; (text, None) when there is no quantity suffix.
    Raises InvalidQuantity for a suffix that is not a valid quantity ("*0")."""
    match = _QTY_SUFFIX.match(text.strip())
    if match is None or not match.group("rest").strip():
        return text.strip(), None
    return match.group("rest").strip(), parse_quantity(match.group("qty"))


def short(text: str, limit: int = 80) -> str:
    """User text inside lists: long names must not push a list over Telegram's 4096 chars."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def is_manager(staff: Staff) -> bool:
    return staff.role in (Role.OWNER, Role.MANAGER)


def day_bounds(tz: ZoneInfo, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The shop's local calendar day around `now`, as UTC bounds (DST-safe)."""
    local = (now or datetime.now(UTC)).astimezone(tz).date()
    start = datetime.combine(local, time.min, tz)
    end = datetime.combine(local + timedelta(days=1), time.min, tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def wake_fiscal(services: Services, after_commit: list[Callable[[], Awaitable[Any]]]) -> None:
    """Wake the fiscalization worker once the money row is committed (it picks pending rows)."""

    async def wake() -> None:
        services.fiscal_wakeup.set()

    after_commit.append(wake)


async def flow_reply(message: Message, state: FSMContext, text: str,
                     kb: InlineKeyboardMarkup | None = None) -> None:
    """Answer a typed value with the next step and strip the buttons of the previous step,
    so only the current step can be tapped."""
    data = await state.get_data()
    old = data.get("ui_id")
    sent = await message.answer(clip(text), reply_markup=kb)
    await state.update_data(ui_id=sent.message_id if kb is not None else None)
    if old and old != sent.message_id and message.bot is not None:
        with contextlib.suppress(TelegramBadRequest):
            await message.bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=old,
                                                        reply_markup=None)


MONEY_FORMS = ("ReceiptForm:", "PayForm:", "ExpenseForm:", "CashForm:", "PriceForm:",
               "PayTypeForm:")


async def leave_form(state: FSMContext) -> None:
    """A "back"/list button abandons a money form, so later typing is not read as its input."""
    if (await state.get_state() or "").startswith(MONEY_FORMS):
        await state.set_state(None)


async def remember_ui(query: CallbackQuery, state: FSMContext) -> None:
    """The message a form was started from is the one whose buttons `flow_reply` strips."""
    message = callback_message(query)
    if message is not None:
        await state.update_data(ui_id=message.message_id)


async def alert(query: CallbackQuery, text: str) -> None:
    """A refusal as a pop-up; Telegram caps those at 200 characters, so longer ones (a long
    translation) go to the chat instead of being cut."""
    message = callback_message(query)
    if len(text) <= 200 or message is None:
        await query.answer(text[:200], show_alert=True)
        return
    await query.answer()
    await message.answer(text)


def paid_error(receipt_id: int) -> str:
    from db.money.errors import ReceiptPaid

    return money_error(ReceiptPaid(receipt_id))


def stale() -> str:
    return _("Кнопка устарела — откройте карточку заново.")


# ---- error texts -------------------------------------------------------------------------

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
            limit=qty(int(limit), lang_now()) if isinstance(limit, int) else "—")
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
        available=qty(int(exc.params.get("available", 0)), lang_now()),
        requested=qty(int(exc.params.get("requested", 0)), lang_now())),
    "expense_locked": _expense_locked,
    "unpaid_receipts": lambda exc: _(
        "Есть неоплаченные чеки: {count} на {total}. Оплатите их или подтвердите закрытие "
        "с долгом.").format(count=_p(exc, "count"), total=_m(exc, "total")),
}


def _invalid_value(exc: InvalidValue) -> str | None:
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


def money_error(exc: DomainError) -> str:
    """What a person reads for a refused money operation: what was wrong and how to fix it."""
    if isinstance(exc, InvalidValue):
        text = _invalid_value(exc)
        if text:
            return text
    if isinstance(exc, PermissionDenied):
        needs = exc.params.get("needs")
        if needs == "owner":
            return _("Это может сделать только владелец.")
        if needs == "manager":
            return _("Это может сделать только владелец или менеджер.")
    return error_text(exc)


def register_error_texts() -> None:
    """Money error codes in the shared catalog, so the global error handler speaks them too."""
    from handlers.error_texts import EXTRA

    for code, render in MONEY_ERRORS.items():
        EXTRA.setdefault(code, render)
