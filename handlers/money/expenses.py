"""The "🧾 Расходы" tab of a ticket (and the shop's expenses from the drawer): what, amount,
payment type; a list with a total; deleting is for owners and managers."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.services import Services
from bot.views.formatting import h, local_dt, money
from bot.views.receipts import kind_icon, type_title
from db.desk.models import Staff
from db.desk.tickets import get_ticket, staff_names
from db.engine import DbSession
from db.errors import DomainError
from db.money.expenses import (
    DESCRIPTION_MAX,
    add_expense,
    delete_expense,
    get_expense,
    ticket_expenses,
)
from db.money.models import Expense
from db.money.payment_types import list_payment_types, payment_types_by_id
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, save, update
from handlers.money.cash import render_cash
from handlers.money.common import (
    PAGE,
    alert,
    flow_reply,
    leave_form,
    money_error,
    remember_ui,
    short,
    stale,
    typed_amount_of,
)
from handlers.money.forms import ExpenseData, ExpenseForm
from handlers.money.views import type_buttons
from handlers.ticket_view import ticket_title
from handlers.ui import edit_and_answer
from keyboards.callbacks import TicketAction, TicketCb
from keyboards.common import button, chunked, markup, pager
from keyboards.money import CashAction, CashCb, ExpenseAction, ExpenseCb

DELETE_LABEL = 20  # of an expense's description on its 🗑 button
LAST_PAGE = 10**6  # a page past the end shows the last one (where a new expense is)
SHOP = 0  # the ticket id of the shop's own expenses


async def expense_lines(session: DbSession, shown: list[tuple[int, Expense]], lang: str,
                        tz: ZoneInfo) -> list[str]:
    types = await payment_types_by_id(session)
    names = await staff_names(session, {e.staff_id for _i, e in shown if e.staff_id})
    return [f"{i}. {local_dt(e.created_at, tz, lang)} · {h(short(e.description))} — "
            f"{money(e.amount, lang)} · {kind_icon(e.kind)} "
            f"{type_title(types, e.payment_type_id, lang)} · {h(names.get(e.staff_id or 0, '—'))}"
            for i, e in shown]


async def render_tab(session: DbSession, ticket_id: int, page: int, staff: Staff, lang: str,
                     tz: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    ticket = await get_ticket(session, ticket_id)
    expenses = await ticket_expenses(session, ticket.id)
    pages = max(1, math.ceil(len(expenses) / PAGE))
    page = min(max(page, 0), pages - 1)
    shown = list(enumerate(expenses, 1))[page * PAGE:(page + 1) * PAGE]
    lines = [_("🧾 <b>Расходы</b> · {title}").format(title=h(ticket_title(ticket))),
             *(await expense_lines(session, shown, lang, tz) or [_("Расходов пока нет.")])]
    if expenses:
        lines.append(_("<b>Итого: {total}</b>").format(
            total=money(sum(e.amount for e in expenses), lang)))
    rows: list[list[InlineKeyboardButton]] = []
    if not ticket.status.kind.is_closed:
        rows.append([button(_("➕ Добавить расход"),
                            ExpenseCb(action=ExpenseAction.ADD, id=ticket.id))])
        if staff.is_manager_or_owner:
            rows.extend(chunked([button(f"🗑 {i}. {e.description[:DELETE_LABEL]}",
                                        ExpenseCb(action=ExpenseAction.DELETE, id=ticket.id,
                                                  arg=e.id)) for i, e in shown], 2))
    rows.append(pager(page, pages, lambda p: ExpenseCb(action=ExpenseAction.TAB, id=ticket.id,
                                                       arg=p)))
    rows.append([button(_("← К обращению"), TicketCb(action=TicketAction.CARD, id=ticket.id))])
    return "\n".join(lines), markup(rows)


async def after_change(session: DbSession, ticket_id: int, page: int, staff: Staff, lang: str,
                       tz: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    """Back where the expense belongs: the ticket's tab, or the drawer for the shop's."""
    if ticket_id == SHOP:
        return await render_cash(session, staff, lang, tz)
    return await render_tab(session, ticket_id, page, staff, lang, tz)


def back(ticket_id: int) -> InlineKeyboardMarkup:
    target = (CashCb(action=CashAction.VIEW) if ticket_id == SHOP
              else ExpenseCb(action=ExpenseAction.TAB, id=ticket_id))
    return markup([[button(_("← Назад"), target)]])


async def tab(query: CallbackQuery, callback_data: ExpenseCb, session: DbSession,
              state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    await leave_form(state)
    text, kb = await render_tab(session, callback_data.id, callback_data.arg, staff, lang,
                                settings.tz)
    await edit_and_answer(query, text, kb)


# ---- adding ------------------------------------------------------------------------------

async def add(query: CallbackQuery, callback_data: ExpenseCb | CashCb, session: DbSession,
              state: FSMContext) -> None:
    """"➕ Добавить расход" on a ticket's tab, or "🧾 Расход" in the drawer (the shop's)."""
    ticket_id = callback_data.id if isinstance(callback_data, ExpenseCb) else SHOP
    if ticket_id == SHOP:
        prompt = _("🧾 Расход из кассы (без обращения): на что потрачено? "
                   "Например: канцтовары")
    else:
        ticket = await get_ticket(session, ticket_id)
        if ticket.status.kind.is_closed:
            await alert(query, _("Обращение закрыто — его расходы не меняются. Сначала "
                                 "откройте обращение снова."))
            return
        prompt = _("🧾 Расход по [{number}]: что купили или на что потрачено? "
                   "Например: дисплей").format(number=ticket.number)
    await state.set_state(ExpenseForm.what)
    form = ExpenseData(ticket_id=ticket_id)
    await save(state, form)
    await edit_and_answer(query, prompt, back(ticket_id))
    await remember_ui(query, state, form)


async def typed_what(message: Message, state: FSMContext) -> None:
    form = await load(state, ExpenseData)
    if form is None:
        await state.set_state(None)
        await message.answer(stale())
        return
    what = " ".join((message.text or "").split())
    if not what or len(what) > DESCRIPTION_MAX:
        await message.answer(_("Опишите расход текстом, до {limit} символов.").format(
            limit=DESCRIPTION_MAX))
        return
    form = await update(state, form, what=what)
    await state.set_state(ExpenseForm.amount)
    await flow_reply(message, state, form, _("Сколько потрачено на «{what}»? Например 300 или "
                                             "1 200,50").format(what=h(what)),
                     back(form.ticket_id))


async def typed_amount(message: Message, session: DbSession, state: FSMContext,
                       lang: str) -> None:
    form = await load(state, ExpenseData)
    if form is None or form.what is None:
        await state.set_state(None)
        await message.answer(stale())
        return
    amount = await typed_amount_of(message)
    if amount is None:
        return
    form = await update(state, form, amount=amount)
    await state.set_state(None)
    ticket_id = form.ticket_id
    await flow_reply(message, state, form, _(
        "«{what}» — {amount}. Чем платили? Наличные выйдут из кассы.").format(
        what=h(form.what), amount=money(amount, lang)),
        markup([*type_buttons(await list_payment_types(session), lang,
                              lambda t: ExpenseCb(action=ExpenseAction.TYPE, id=ticket_id,
                                                  arg=t.id)),
                *back(ticket_id).inline_keyboard]))


async def wrong_what(message: Message) -> None:
    await message.answer(_("Опишите расход текстом. Отмена — /cancel."))


async def wrong_amount(message: Message) -> None:
    await message.answer(_("Напишите сумму числом, например 300 или 1 200,50. "
                           "Отмена — /cancel."))


async def pick_type(query: CallbackQuery, callback_data: ExpenseCb, session: DbSession,
                    state: FSMContext, staff: Staff, lang: str, settings: Settings,
                    services: Services) -> None:
    form = await load(state, ExpenseData)
    if (form is None or form.amount is None or form.what is None
            or form.ticket_id != callback_data.id):
        await alert(query, stale())
        return
    try:
        await add_expense(session, staff, form.ticket_id or None, form.what, form.amount,
                          callback_data.arg, fiscal=services.fiscal_enabled)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    await update(state, form, what=None, amount=None)
    text, kb = await after_change(session, form.ticket_id, LAST_PAGE, staff, lang, settings.tz)
    await edit_and_answer(query, text, kb, note=_("Расход записан"))


# ---- deleting ----------------------------------------------------------------------------

async def ask_delete(query: CallbackQuery, callback_data: ExpenseCb, session: DbSession,
                     staff: Staff, lang: str) -> None:
    if not staff.is_manager_or_owner:  # the domain refuses them too
        await alert(query, _("Удалить расход может только владелец или менеджер."))
        return
    try:
        expense = await get_expense(session, callback_data.arg,
                                    ticket_id=callback_data.id or None)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    await edit_and_answer(query, _("Удалить расход «{what}» на {amount}?").format(
        what=h(expense.description), amount=money(expense.amount, lang)), markup([[
            button(_("🗑 Да, удалить"), ExpenseCb(action=ExpenseAction.DELETE_OK,
                                                     id=callback_data.id, arg=expense.id)),
            button(_("Нет"), ExpenseCb(action=ExpenseAction.TAB, id=callback_data.id))]]))


async def do_delete(query: CallbackQuery, callback_data: ExpenseCb, session: DbSession,
                    staff: Staff, lang: str, settings: Settings) -> None:
    try:
        expense = await get_expense(session, callback_data.arg,
                                    ticket_id=callback_data.id or None)
        await delete_expense(session, staff, expense.id)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    text, kb = await after_change(session, callback_data.id, 0, staff, lang, settings.tz)
    await edit_and_answer(query, text, kb, note=_("Расход удалён"))


def setup() -> Router:
    router = Router(name="money.expenses")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(tab, ExpenseCb.filter(F.action == ExpenseAction.TAB))
    router.callback_query.register(add, ExpenseCb.filter(F.action == ExpenseAction.ADD))
    router.callback_query.register(add, CashCb.filter(F.action == CashAction.EXPENSE))
    router.message.register(typed_what, ExpenseForm.what, F.text, NotCommand())
    router.message.register(typed_amount, ExpenseForm.amount, F.text, NotCommand())
    router.message.register(wrong_what, ExpenseForm.what, NotCommand())
    router.message.register(wrong_amount, ExpenseForm.amount, NotCommand())
    router.callback_query.register(pick_type, ExpenseCb.filter(F.action == ExpenseAction.TYPE))
    router.callback_query.register(ask_delete, ExpenseCb.filter(F.action == ExpenseAction.DELETE))
    router.callback_query.register(do_delete,
                                   ExpenseCb.filter(F.action == ExpenseAction.DELETE_OK))
    return router
