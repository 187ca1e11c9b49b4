"""`/cash` and the "💰 Касса" section: the drawer balance, today's movements in the shop's time
zone, service cash in/out with a reason (owner/manager), quick sales and shop expenses."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.services import Services
from bot.views.formatting import clip, h, local_date, local_dt, money
from db.base import utcnow
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.cash import REASON_MAX, service_cash
from db.money.drawer import DrawerMovement, drawer_balance, drawer_movements
from db.money.receipts import unpaid_quick_sales
from db.money.shifts import current_shift, shift_is_stale
from db.money.visibility import can_see_cash
from handlers.filters import IsStaff, NotCommand, TextIs
from handlers.forms import load, save, update
from handlers.money.common import (
    alert,
    flow_reply,
    leave_form,
    money_error,
    remember_ui,
    short,
    stale,
    typed_amount_of,
)
from handlers.money.forms import CashData, CashDirection, CashForm
from handlers.ui import edit_and_answer
from keyboards.common import button, markup
from keyboards.menu import CASH
from keyboards.money import CashAction, CashCb, ReceiptAction, ReceiptCb

MOVES_PAGE = 15
UNPAID_SALES_SHOWN = 5
NOTE_SHOWN = 60


def day_bounds(tz: ZoneInfo, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The shop's local calendar day around `now`, as UTC bounds (DST-safe)."""
    local = (now or datetime.now(UTC)).astimezone(tz).date()
    start = datetime.combine(local, time.min, tz)
    end = datetime.combine(local + timedelta(days=1), time.min, tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def movement_text(move: DrawerMovement, tz: ZoneInfo, lang: str) -> str:
    at = move.at.astimezone(tz).strftime("%H:%M")
    amount = money(move.amount, lang, sign=True)
    ticket = f" [{move.ticket_number}]" if move.ticket_number else ""
    note = h(short(move.note, NOTE_SHOWN))
    what = {
        "sale": _("чек №{id}").format(id=move.receipt_id),
        "refund": _("возврат №{id}").format(id=move.receipt_id),
        "expense": _("расход «{note}»").format(note=note),
        "cash_in": _("внесение «{note}»").format(note=note),
        "cash_out": _("изъятие «{note}»").format(note=note),
    }[move.kind]
    text = f"{at} {amount} · {what}{ticket} · {h(move.staff_name or '—')}"
    if move.kind == "sale" and move.change and move.received is not None:
        text += " " + _("(получено {received}, сдача {change})").format(
            received=money(move.received, lang), change=money(move.change, lang))
    return text


async def shift_line(session: DbSession, now: datetime, lang: str, tz: ZoneInfo) -> str:
    shift = await current_shift(session)
    if shift is None:
        return _("⚪ Смена не открыта — откроется с первой оплатой.")
    if shift_is_stale(shift, now):
        return _("⚠️ Смена №{number} открыта больше 24 часов — оплаты не принимаются, "
                 "пока её не закроют (/shift).").format(number=shift.number)
    return _("🟢 Смена №{number} с {at}").format(number=shift.number,
                                                 at=local_dt(shift.opened_at, tz, lang))


def moves_block(moves: list[DrawerMovement], page: int, lang: str, tz: ZoneInfo) -> list[str]:
    """Today's movements, latest page first."""
    if not moves:
        return [_("Сегодня движений наличных не было.")]
    stop = len(moves) - page * MOVES_PAGE
    came = sum(m.amount for m in moves if m.amount > 0)
    went = sum(m.amount for m in moves if m.amount < 0)
    return [_("<b>Сегодня</b> (движений: {count}):").format(count=len(moves)),
            *(movement_text(m, tz, lang) for m in moves[max(0, stop - MOVES_PAGE):stop]),
            _("Пришло: {came} · ушло: {went}").format(came=money(came, lang, sign=True),
                                                     went=money(went, lang))]


def older_newer(page: int, pages: int) -> list[InlineKeyboardButton]:
    nav = []
    if page < pages - 1:
        nav.append(button(_("◀️ Раньше"), CashCb(action=CashAction.VIEW, page=page + 1)))
    if page > 0:
        nav.append(button(_("Позже ▶️"), CashCb(action=CashAction.VIEW, page=page - 1)))
    return nav


async def drawer_lines(session: DbSession, lang: str, tz: ZoneInfo, now: datetime,
                       page: int) -> tuple[list[str], int, int]:
    """The balance, the shift, the day's movements: (lines, page, pages)."""
    start, end = day_bounds(tz, now)
    moves = await drawer_movements(session, start, end)
    pages = max(1, math.ceil(len(moves) / MOVES_PAGE))
    page = min(max(page, 0), pages - 1)
    opening = await drawer_balance(session, at=start - timedelta(microseconds=1))
    return [_("В кассе сейчас: <b>{balance}</b>").format(
                balance=money(await drawer_balance(session), lang)),
            await shift_line(session, now, lang, tz),
            _("На начало дня: {amount}").format(amount=money(opening, lang)), "",
            *moves_block(moves, page, lang, tz)], page, pages


async def render_cash(session: DbSession, staff: Staff, lang: str, tz: ZoneInfo,
                      page: int = 0) -> tuple[str, InlineKeyboardMarkup]:
    now = utcnow()
    lines = [_("💰 <b>Касса</b> · {day}").format(day=local_date(now, tz, lang))]
    pages = 1
    if await can_see_cash(session, staff):
        body, page, pages = await drawer_lines(session, lang, tz, now, page)
        lines.extend(body)
    else:  # the owner hid the cash from masters (db.money.visibility)
        lines.extend([await shift_line(session, now, lang, tz),
                      _("Остаток и движения кассы видят владелец и менеджеры.")])
    rows: list[list[InlineKeyboardButton]] = [
        [button(_("🛒 Продажа без обращения"), CashCb(action=CashAction.SALE)),
         button(_("🧾 Расход"), CashCb(action=CashAction.EXPENSE))]]
    if staff.is_manager_or_owner:
        rows.append([button(_("➕ Внесение"), CashCb(action=CashAction.CASH_IN)),
                     button(_("➖ Изъятие"), CashCb(action=CashAction.CASH_OUT))])
    rows.extend([button(_("🟡 Продажа №{id} · {amount}").format(
        id=receipt.id, amount=money(receipt.total, lang)),
        ReceiptCb(action=ReceiptAction.VIEW, id=receipt.id))]
        for receipt in await unpaid_quick_sales(session, UNPAID_SALES_SHOWN))
    rows.append(older_newer(page, pages))
    rows.append([button(_("🔄 Обновить"), CashCb(action=CashAction.VIEW))])
    return "\n".join(lines), markup(rows)


async def cash_command(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                       lang: str, settings: Settings) -> None:
    await state.set_state(None)
    text, kb = await render_cash(session, staff, lang, settings.tz)
    await message.answer(clip(text), reply_markup=kb)


async def cash_view(query: CallbackQuery, callback_data: CashCb, session: DbSession,
                    state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    await leave_form(state)
    text, kb = await render_cash(session, staff, lang, settings.tz, callback_data.page)
    await edit_and_answer(query, text, kb)


# ---- service cash in / out --------------------------------------------------------------

def to_drawer() -> InlineKeyboardMarkup:
    return markup([[button(_("← Касса"), CashCb(action=CashAction.VIEW))]])


async def move_start(query: CallbackQuery, callback_data: CashCb, state: FSMContext,
                     staff: Staff) -> None:
    if not staff.is_manager_or_owner:  # the domain refuses them too
        await alert(query, _("Внесение и изъятие делает владелец или менеджер."))
        return
    cash_in = callback_data.action == CashAction.CASH_IN
    await state.set_state(CashForm.amount)
    form = CashData(direction=CashDirection.IN if cash_in else CashDirection.OUT)
    await save(state, form)
    prompt = (_("➕ Внесение в кассу: какая сумма? Например 500") if cash_in
              else _("➖ Изъятие из кассы: какая сумма? Например 1 000"))
    await edit_and_answer(query, prompt, to_drawer())
    await remember_ui(query, state, form)


async def typed_amount(message: Message, state: FSMContext, lang: str) -> None:
    form = await load(state, CashData)
    if form is None:
        await state.set_state(None)
        await message.answer(stale())
        return
    amount = await typed_amount_of(message)
    if amount is None:
        return
    form = await update(state, form, amount=amount)
    await state.set_state(CashForm.reason)
    await flow_reply(message, state, form, _("{amount}. Причина? Например: размен, инкассация, "
                                             "зарплата").format(amount=money(amount, lang)),
                     to_drawer())


async def typed_reason(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                       lang: str, settings: Settings, services: Services) -> None:
    form = await load(state, CashData)
    if form is None or not form.amount:
        await state.set_state(None)
        await message.answer(stale())
        return
    reason = " ".join((message.text or "").split())
    try:
        move = await service_cash(session, staff, form.signed, reason,
                                  fiscal=services.fiscal_enabled)
    except DomainError as exc:
        await message.answer(money_error(exc))
        if exc.code == "drawer_short":  # a smaller sum is typed next
            await state.set_state(CashForm.amount)
        return
    await state.set_state(None)
    form = await update(state, form, amount=None)
    done = (_("✅ Внесено {amount}: {reason}") if move.amount > 0
            else _("✅ Изъято {amount}: {reason}")).format(
        amount=money(abs(move.amount), lang), reason=h(move.reason))
    text, kb = await render_cash(session, staff, lang, settings.tz)
    await flow_reply(message, state, form, done + "\n\n" + text, kb)


async def wrong_amount(message: Message) -> None:
    await message.answer(_("Напишите сумму числом, например 500 или 1 200,50. "
                           "Отмена — /cancel."))


async def wrong_reason(message: Message) -> None:
    await message.answer(_("Напишите причину текстом, до {limit} символов. Отмена — /cancel."
                           ).format(limit=REASON_MAX))


def setup() -> Router:
    router = Router(name="money.cash")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.message.register(cash_command, Command("cash"))
    router.message.register(cash_command, TextIs(CASH))
    router.callback_query.register(cash_view, CashCb.filter(F.action == CashAction.VIEW))
    router.callback_query.register(
        move_start, CashCb.filter(F.action.in_({CashAction.CASH_IN, CashAction.CASH_OUT})))
    router.message.register(typed_amount, CashForm.amount, F.text, NotCommand())
    router.message.register(typed_reason, CashForm.reason, F.text, NotCommand())
    router.message.register(wrong_amount, CashForm.amount, NotCommand())
    router.message.register(wrong_reason, CashForm.reason, NotCommand())
    return router
