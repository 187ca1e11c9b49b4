"""`/cash` and the "💰 Касса" section: the drawer balance, today's movements in the shop's time
zone, service cash in/out with a reason (owner/manager), quick sales and shop expenses."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services import Services
from bot.views.formatting import clip, h, local_date, local_dt, money
from db.base import utcnow
from db.desk.models import Staff
from db.errors import DomainError
from db.money.amounts import parse_amount
from db.money.cash import REASON_MAX, service_cash
from db.money.drawer import DrawerMovement, drawer_balance, drawer_movements
from db.money.receipts import unpaid_quick_sales
from db.money.shifts import current_shift, shift_is_stale
from handlers.filters import IsStaff, NotCommand, TextIs
from handlers.money.common import (
    alert,
    day_bounds,
    flow_reply,
    is_manager,
    leave_form,
    money_error,
    remember_ui,
    short,
    stale,
)
from handlers.ui import edit_or_send
from keyboards.common import button, markup
from keyboards.menu import CASH
from keyboards.money import CashCb, ReceiptCb

MOVES_PAGE = 15
UNPAID_SALES_SHOWN = 5


class CashForm(StatesGroup):
    amount = State()  # data: cash_sign (+1 in, -1 out)
    reason = State()  # data: cash_sign, cash_amount


def movement_text(move: DrawerMovement, tz: ZoneInfo, lang: str) -> str:
    at = move.at.astimezone(tz).strftime("%H:%M")
    amount = money(move.amount, lang, sign=True)
    ticket = f" [{move.ticket_number}]" if move.ticket_number else ""
    what = {
        "sale": _("чек №{id}").format(id=move.receipt_id),
        "refund": _("возврат №{id}").format(id=move.receipt_id),
        "expense": _("расход «{note}»").format(note=h(short(move.note, 60))),
        "cash_in": _("внесение «{note}»").format(note=h(short(move.note, 60))),
        "cash_out": _("изъятие «{note}»").format(note=h(short(move.note, 60))),
    }[move.kind]
    text = f"{at} {amount} · {what}{ticket} · {h(move.staff_name or '—')}"
    if move.kind == "sale" and move.change and move.received is not None:
        text += " " + _("(получено {received}, сдача {change})").format(
            received=money(move.received, lang), change=money(move.change, lang))
    return text


async def render_cash(session: AsyncSession, staff: Staff, lang: str, tz: ZoneInfo,
                      page: int = 0) -> tuple[str, InlineKeyboardMarkup]:
    now = utcnow()
    start, end = day_bounds(tz, now)
    balance = await drawer_balance(session)
    opening = await drawer_balance(session, at=start - timedelta(microseconds=1))
    moves = await drawer_movements(session, start, end)
    shift = await current_shift(session)
    lines = [_("💰 <b>Касса</b> · {day}").format(day=local_date(now, tz, lang)),
             _("В кассе сейчас: <b>{balance}</b>").format(balance=money(balance, lang))]
    if shift is None:
        lines.append(_("⚪ Смена не открыта — откроется с первой оплатой."))
    elif shift_is_stale(shift, now):
        lines.append(_("⚠️ Смена №{number} открыта больше 24 часов — оплаты не принимаются, "
                       "пока её не закроют (/shift).").format(number=shift.number))
    else:
        lines.append(_("🟢 Смена №{number} с {at}").format(
            number=shift.number, at=local_dt(shift.opened_at, tz, lang)))
    lines.append(_("На начало дня: {amount}").format(amount=money(opening, lang)))
    lines.append("")
    if not moves:
        lines.append(_("Сегодня движений наличных не было."))
    pages = max(1, math.ceil(len(moves) / MOVES_PAGE))
    page = min(max(page, 0), pages - 1)
    stop = len(moves) - page * MOVES_PAGE
    shown = moves[max(0, stop - MOVES_PAGE):stop]
    if moves:
        lines.append(_("<b>Сегодня</b> (движений: {count}):").format(count=len(moves)))
        lines.extend(movement_text(m, tz, lang) for m in shown)
        came = sum(m.amount for m in moves if m.amount > 0)
        went = sum(m.amount for m in moves if m.amount < 0)
        lines.append(_("Пришло: {came} · ушло: {went}").format(
            came=money(came, lang, sign=True), went=money(went, lang)))

    rows: list[list[InlineKeyboardButton]] = [
        [button(_("🛒 Продажа без обращения"), CashCb(action="sale")),
         button(_("🧾 Расход"), CashCb(action="exp"))]]
    if is_manager(staff):
        rows.append([button(_("➕ Внесение"), CashCb(action="in")),
                     button(_("➖ Изъятие"), CashCb(action="out"))])
    for receipt in await unpaid_quick_sales(session, UNPAID_SALES_SHOWN):
        rows.append([button(_("🟡 Продажа №{id} · {amount}").format(
            id=receipt.id, amount=money(receipt.total, lang)),
            ReceiptCb(action="view", id=receipt.id))])
    if pages > 1:
        nav = []
        if page < pages - 1:
            nav.append(button(_("◀️ Раньше"), CashCb(action="view", arg=page + 1)))
        if page > 0:
            nav.append(button(_("Позже ▶️"), CashCb(action="view", arg=page - 1)))
        rows.append(nav)
    rows.append([button(_("🔄 Обновить"), CashCb(action="view"))])
    return "\n".join(lines), markup(rows)


def setup(settings: Settings) -> Router:
    router = Router(name="money.cash")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    tz = settings.tz

    @router.message(Command("cash"))
    @router.message(TextIs(CASH))
    async def cash_command(message: Message, session: AsyncSession, state: FSMContext,
                           staff: Staff, lang: str) -> None:
        await state.set_state(None)
        text, kb = await render_cash(session, staff, lang, tz)
        await message.answer(clip(text), reply_markup=kb)

    @router.callback_query(CashCb.filter(F.action == "view"))
    async def cash_view(query: CallbackQuery, callback_data: CashCb, session: AsyncSession,
                        state: FSMContext, staff: Staff, lang: str) -> None:
        await leave_form(state)
        text, kb = await render_cash(session, staff, lang, tz, callback_data.arg)
        await edit_or_send(query, text, kb)
        await query.answer()

    # ---- service cash in / out --------------------------------------------------------------
    @router.callback_query(CashCb.filter(F.action.in_({"in", "out"})))
    async def move_start(query: CallbackQuery, callback_data: CashCb, state: FSMContext,
                         staff: Staff) -> None:
        if not is_manager(staff):
            await alert(query, _("Внесение и изъятие делает владелец или менеджер."))
            return
        sign = 1 if callback_data.action == "in" else -1
        await state.set_state(CashForm.amount)
        await state.update_data(cash_sign=sign)
        prompt = (_("➕ Внесение в кассу: какая сумма? Например 500") if sign > 0
                  else _("➖ Изъятие из кассы: какая сумма? Например 1 000"))
        await edit_or_send(query, prompt, markup([[button(_("← Касса"),
                                                          CashCb(action="view"))]]))
        await remember_ui(query, state)
        await query.answer()

    @router.message(CashForm.amount, F.text, NotCommand())
    async def typed_amount(message: Message, state: FSMContext, lang: str) -> None:
        try:
            amount = parse_amount(message.text or "")
        except DomainError as exc:
            await message.answer(money_error(exc))
            return
        await state.update_data(cash_amount=amount)
        await state.set_state(CashForm.reason)
        await flow_reply(message, state, _("{amount}. Причина? Например: размен, инкассация, "
                                           "зарплата").format(amount=money(amount, lang)),
                         markup([[button(_("← Касса"), CashCb(action="view"))]]))

    @router.message(CashForm.reason, F.text, NotCommand())
    async def typed_reason(message: Message, session: AsyncSession, state: FSMContext,
                           staff: Staff, lang: str, services: Services,
                           after_commit: list[Any]) -> None:
        data = await state.get_data()
        if not data.get("cash_amount") or data.get("cash_sign") not in (1, -1):
            await state.set_state(None)
            await message.answer(stale())
            return
        reason = " ".join((message.text or "").split())
        try:
            move = await service_cash(session, staff, data["cash_sign"] * data["cash_amount"],
                                      reason, fiscal=services.fiscal_enabled)
        except DomainError as exc:
            await message.answer(money_error(exc))
            if exc.code == "drawer_short":
                await state.set_state(CashForm.amount)
            return
        await state.set_state(None)
        await state.update_data(cash_amount=None, cash_sign=None)
        done = (_("✅ Внесено {amount}: {reason}") if move.amount > 0
                else _("✅ Изъято {amount}: {reason}")).format(
            amount=money(abs(move.amount), lang), reason=h(move.reason))
        text, kb = await render_cash(session, staff, lang, tz)
        await flow_reply(message, state, done + "\n\n" + text, kb)

    @router.message(CashForm.amount, NotCommand())
    async def wrong_amount(message: Message) -> None:
        await message.answer(_("Напишите сумму числом, например 500 или 1 200,50. "
                               "Отмена — /cancel."))

    @router.message(CashForm.reason, NotCommand())
    async def wrong_reason(message: Message) -> None:
        await message.answer(_("Напишите причину текстом, до {limit} символов. Отмена — /cancel."
                               ).format(limit=REASON_MAX))

    return router
