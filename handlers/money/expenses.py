"""The "🧾 Расходы" tab of a ticket (and the shop's expenses from the drawer): what, amount,
payment type; list with a total; deleting is for owners and managers."""

from __future__ import annotations

import math

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.formatting import h, local_dt, money
from db.desk.models import Staff
from db.desk.tickets import get_ticket
from db.errors import DomainError, NotFound
from db.money.amounts import parse_amount
from db.money.expenses import DESCRIPTION_MAX, add_expense, delete_expense, ticket_expenses
from db.money.models import Expense
from db.money.payment_types import list_payment_types
from handlers.filters import IsStaff, NotCommand
from handlers.money.cash import render_cash
from handlers.money.common import (
    PAGE,
    alert,
    flow_reply,
    is_manager,
    leave_form,
    money_error,
    remember_ui,
    short,
    stale,
)
from handlers.money.views import kind_icon, payment_types_by_id, staff_names, type_buttons
from handlers.ticket_view import ticket_title
from handlers.ui import edit_or_send
from keyboards.callbacks import TicketAction, TicketCb
from keyboards.common import button, chunked, markup, pager
from keyboards.money import CashCb, ExpenseCb


class ExpenseForm(StatesGroup):
    what = State()  # data: exp_ticket (0 = the shop)
    amount = State()  # data: exp_ticket, exp_what


def setup(settings: Settings) -> Router:
    router = Router(name="money.expenses")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    tz = settings.tz

    async def render_tab(session: AsyncSession, ticket_id: int, page: int, staff: Staff,
                         lang: str) -> tuple[str, InlineKeyboardMarkup]:
        ticket = await get_ticket(session, ticket_id)
        expenses = await ticket_expenses(session, ticket.id)
        types = await payment_types_by_id(session)
        names = await staff_names(session, [e.staff_id for e in expenses])
        pages = max(1, math.ceil(len(expenses) / PAGE))
        page = min(max(page, 0), pages - 1)
        shown = list(enumerate(expenses, 1))[page * PAGE:(page + 1) * PAGE]
        lines = [_("🧾 <b>Расходы</b> · {title}").format(title=h(ticket_title(ticket)))]
        if not expenses:
            lines.append(_("Расходов пока нет."))
        for i, e in shown:
            kind = types[e.payment_type_id].title(lang) if e.payment_type_id in types else "?"
            lines.append(f"{i}. {local_dt(e.created_at, tz, lang)} · {h(short(e.description))} — "
                         f"{money(e.amount, lang)} · {kind_icon(e.kind)} {h(kind)} · "
                         f"{h(names.get(e.staff_id or 0, '—'))}")
        if expenses:
            lines.append(_("<b>Итого: {total}</b>").format(
                total=money(sum(e.amount for e in expenses), lang)))
        is_open = not ticket.status.kind.is_closed
        rows: list[list[InlineKeyboardButton]] = []
        if is_open:
            rows.append([button(_("➕ Добавить расход"), ExpenseCb(action="add", id=ticket.id))])
            if is_manager(staff):
                rows.extend(chunked([button(f"🗑 {i}. {e.description[:20]}",
                                            ExpenseCb(action="del", id=ticket.id, arg=e.id))
                                     for i, e in shown], 2))
        rows.append(pager(page, pages, lambda p: ExpenseCb(action="tab", id=ticket.id, arg=p)))
        rows.append([button(_("← К обращению"), TicketCb(action=TicketAction.CARD, id=ticket.id))])
        return "\n".join(lines), markup(rows)

    @router.callback_query(ExpenseCb.filter(F.action == "tab"))
    async def tab(query: CallbackQuery, callback_data: ExpenseCb, session: AsyncSession,
                  state: FSMContext, staff: Staff, lang: str) -> None:
        await leave_form(state)
        text, kb = await render_tab(session, callback_data.id, callback_data.arg, staff, lang)
        await edit_or_send(query, text, kb)
        await query.answer()

    # ---- adding --------------------------------------------------------------------------
    def back(ticket_id: int) -> InlineKeyboardMarkup:
        target = (ExpenseCb(action="tab", id=ticket_id) if ticket_id
                  else CashCb(action="view"))
        return markup([[button(_("← Назад"), target)]])

    @router.callback_query(ExpenseCb.filter(F.action == "add"))
    @router.callback_query(CashCb.filter(F.action == "exp"))
    async def add(query: CallbackQuery, callback_data: ExpenseCb | CashCb,
                  session: AsyncSession, state: FSMContext) -> None:
        ticket_id = callback_data.id if isinstance(callback_data, ExpenseCb) else 0
        if ticket_id:
            ticket = await get_ticket(session, ticket_id)
            if ticket.status.kind.is_closed:
                await alert(query, _("Обращение закрыто — его расходы не меняются. Сначала "
                                     "откройте обращение снова."))
                return
            prompt = _("🧾 Расход по [{number}]: что купили или на что потрачено? "
                       "Например: дисплей").format(number=ticket.number)
        else:
            prompt = _("🧾 Расход из кассы (без обращения): на что потрачено? "
                       "Например: канцтовары")
        await state.set_state(ExpenseForm.what)
        await state.update_data(exp_ticket=ticket_id)
        await edit_or_send(query, prompt, back(ticket_id))
        await remember_ui(query, state)
        await query.answer()

    @router.message(ExpenseForm.what, F.text, NotCommand())
    async def typed_what(message: Message, state: FSMContext) -> None:
        what = " ".join((message.text or "").split())
        if not what or len(what) > DESCRIPTION_MAX:
            await message.answer(_("Опишите расход текстом, до {limit} символов.").format(
                limit=DESCRIPTION_MAX))
            return
        await state.update_data(exp_what=what)
        await state.set_state(ExpenseForm.amount)
        ticket_id = (await state.get_data()).get("exp_ticket", 0)
        await flow_reply(message, state, _("Сколько потрачено на «{what}»? Например 300 или "
                                           "1 200,50").format(what=h(what)), back(ticket_id))

    @router.message(ExpenseForm.amount, F.text, NotCommand())
    async def typed_amount(message: Message, session: AsyncSession, state: FSMContext,
                           lang: str) -> None:
        try:
            amount = parse_amount(message.text or "")
        except DomainError as exc:
            await message.answer(money_error(exc))
            return
        data = await state.get_data()
        await state.update_data(exp_amount=amount)
        await state.set_state(None)
        ticket_id = data.get("exp_ticket", 0)
        await flow_reply(message, state, _(
            "«{what}» — {amount}. Чем платили? Наличные выйдут из кассы.").format(
            what=h(data.get("exp_what", "")), amount=money(amount, lang)),
            markup([*type_buttons(await list_payment_types(session), lang,
                                  lambda t: ExpenseCb(action="type", id=ticket_id, arg=t.id)),
                    *back(ticket_id).inline_keyboard]))

    @router.message(ExpenseForm.what, NotCommand())
    async def wrong_what(message: Message) -> None:
        await message.answer(_("Опишите расход текстом. Отмена — /cancel."))

    @router.message(ExpenseForm.amount, NotCommand())
    async def wrong_amount(message: Message) -> None:
        await message.answer(_("Напишите сумму числом, например 300 или 1 200,50. "
                               "Отмена — /cancel."))

    @router.callback_query(ExpenseCb.filter(F.action == "type"))
    async def pick_type(query: CallbackQuery, callback_data: ExpenseCb, session: AsyncSession,
                        state: FSMContext, staff: Staff, lang: str) -> None:
        data = await state.get_data()
        if not data.get("exp_amount") or data.get("exp_ticket", 0) != callback_data.id:
            await alert(query, stale())
            return
        ticket_id = callback_data.id or None
        try:
            await add_expense(session, staff, ticket_id, data["exp_what"], data["exp_amount"],
                              callback_data.arg)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        await state.update_data(exp_amount=None, exp_what=None)
        if ticket_id:
            text, kb = await render_tab(session, ticket_id, 10**6, staff, lang)
        else:
            text, kb = await render_cash(session, staff, lang, tz)
        await edit_or_send(query, text, kb)
        await query.answer(_("Расход записан"))

    # ---- deleting ------------------------------------------------------------------------
    async def expense_of(session: AsyncSession, ticket_id: int, expense_id: int) -> Expense:
        expense = await session.get(Expense, expense_id)
        if expense is None or (expense.ticket_id or 0) != ticket_id:
            raise NotFound("expense", expense_id=expense_id)
        return expense

    @router.callback_query(ExpenseCb.filter(F.action == "del"))
    async def ask_delete(query: CallbackQuery, callback_data: ExpenseCb, session: AsyncSession,
                         staff: Staff, lang: str) -> None:
        if not is_manager(staff):
            await alert(query, _("Удалить расход может только владелец или менеджер."))
            return
        try:
            expense = await expense_of(session, callback_data.id, callback_data.arg)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        await edit_or_send(query, _("Удалить расход «{what}» на {amount}?").format(
            what=h(expense.description), amount=money(expense.amount, lang)), markup([[
                button(_("🗑 Да, удалить"), ExpenseCb(action="delok", id=callback_data.id,
                                                      arg=expense.id)),
                button(_("Нет"), ExpenseCb(action="tab", id=callback_data.id))]]))
        await query.answer()

    @router.callback_query(ExpenseCb.filter(F.action == "delok"))
    async def do_delete(query: CallbackQuery, callback_data: ExpenseCb, session: AsyncSession,
                        staff: Staff, lang: str) -> None:
        try:
            expense = await expense_of(session, callback_data.id, callback_data.arg)
            await delete_expense(session, staff, expense.id)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        if callback_data.id:
            text, kb = await render_tab(session, callback_data.id, 0, staff, lang)
        else:
            text, kb = await render_cash(session, staff, lang, tz)
        await edit_or_send(query, text, kb)
        await query.answer(_("Расход удалён"))

    return router
