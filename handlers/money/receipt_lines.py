"""Typing a receipt's lines one after another: a service code or a part of its name (a quantity
at the end: "стекло *2"), a pick among the matches, or a free line with a name and a price.
Any other button leaves the form."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import echo, h, money
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.amounts import ONE, parse_amount, split_quantity
from db.money.price_list import NAME_MAX, find_services, get_service_by_code
from db.money.receipts import add_free_line, add_service_line, get_receipt
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, save, update
from handlers.money.common import (
    alert,
    flow_reply,
    money_error,
    paid_error,
    remember_ui,
    stale,
)
from handlers.money.forms import MoneyForm, ReceiptData, ReceiptForm
from handlers.money.views import receipt_screen
from handlers.ui import edit_and_answer, edit_or_send
from keyboards.common import button, markup
from keyboards.money import ReceiptAction, ReceiptCb

SEARCH_SHOWN = 8
FREE_NAME_SHOWN = 30  # of the typed text on the "своя строка" button


def line_prompt() -> str:
    return _("➕ Напишите код услуги или часть названия (количество — в конце: «стекло *2»). "
             "Не из прайс-листа — «✍️ Своя строка».")


def back_to_receipt(receipt_id: int) -> InlineKeyboardMarkup:
    return markup([[button(_("← Чек"), ReceiptCb(action=ReceiptAction.VIEW, id=receipt_id))]])


async def adding_screen(session: DbSession, receipt_id: int, staff: Staff, lang: str,
                        settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    """The receipt while lines are being typed: the prompt, and "Своя строка" in place of
    "Добавить строку"."""
    text, kb = await receipt_screen(session, receipt_id, staff, lang, settings)
    add = ReceiptCb(action=ReceiptAction.ADD, id=receipt_id).pack()
    rows = [[b for b in row if b.callback_data != add] for row in kb.inline_keyboard]
    free = [button(_("✍️ Своя строка"), ReceiptCb(action=ReceiptAction.FREE, id=receipt_id))]
    return text + "\n\n" + line_prompt(), markup([free, *rows])


async def start_adding(target: CallbackQuery | Message, session: DbSession, state: FSMContext,
                       receipt_id: int, staff: Staff, lang: str, settings: Settings) -> None:
    """Lines are typed one after another until a button leaves the form."""
    previous = await load(state, MoneyForm)
    form = ReceiptData(receipt_id=receipt_id, ui_id=previous.ui_id if previous else None)
    await state.set_state(ReceiptForm.line)
    await save(state, form)
    text, kb = await adding_screen(session, receipt_id, staff, lang, settings)
    if isinstance(target, CallbackQuery):
        await edit_or_send(target, text, kb)
        await remember_ui(target, state, form)
    else:
        await flow_reply(target, state, form, text, kb)


async def current_form(message: Message, state: FSMContext) -> ReceiptData | None:
    form = await load(state, ReceiptData)
    if form is None:
        await state.set_state(None)
        await message.answer(stale())
    return form


async def show_matches(message: Message, session: DbSession, state: FSMContext,
                       form: ReceiptData, text: str, quantity: int, lang: str) -> None:
    found = await find_services(session, text, limit=SEARCH_SHOWN)
    rid = form.receipt_id
    form = await update(state, form, free_name=text[:NAME_MAX], quantity=quantity)
    rows = [[button(f"{s.code} · {s.name} · {money(s.price, lang)}",
                    ReceiptCb(action=ReceiptAction.SERVICE, id=rid, arg=s.id, q=quantity))]
            for s in found]
    rows.append([button(_("✍️ «{name}» — своя строка").format(name=text[:FREE_NAME_SHOWN]),
                        ReceiptCb(action=ReceiptAction.FREE_FOUND, id=rid))])
    rows.append(back_to_receipt(rid).inline_keyboard[0])
    head = (_("Найдено в прайс-листе: {count}. Выберите услугу или напишите иначе:").format(
                count=len(found)) if found else
            _("«{text}» в прайс-листе нет. Напишите иначе (код или часть названия) или "
              "добавьте своей строкой с ценой.").format(text=echo(text)))
    await flow_reply(message, state, form, head, markup(rows))


async def typed_line(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                     lang: str, settings: Settings) -> None:
    form = await current_form(message, state)
    if form is None:
        return
    try:
        text, typed_quantity = split_quantity(message.text or "")
        if not text:
            await message.answer(line_prompt())
            return
        exact = await get_service_by_code(session, text)
        if exact is not None and not exact.archived:
            await add_service_line(session, staff, form.receipt_id, exact.id,
                                   typed_quantity or ONE)
        else:
            await show_matches(message, session, state, form, text, typed_quantity or ONE, lang)
            return
    except DomainError as exc:
        await message.answer(money_error(exc))
        return
    await start_adding(message, session, state, form.receipt_id, staff, lang, settings)


async def pick_service(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
                       state: FSMContext, staff: Staff, lang: str, settings: Settings) -> None:
    form = await load(state, ReceiptData)
    if form is None or form.receipt_id != callback_data.id:
        await alert(query, stale())
        return
    try:
        await add_service_line(session, staff, callback_data.id, callback_data.arg,
                               callback_data.q or ONE)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    await start_adding(query, session, state, callback_data.id, staff, lang, settings)
    await query.answer(_("Добавлено"))


async def free_line(query: CallbackQuery, callback_data: ReceiptCb, session: DbSession,
                    state: FSMContext) -> None:
    receipt = await get_receipt(session, callback_data.id)
    if receipt.is_paid:
        await alert(query, paid_error(receipt.id))
        return
    previous = await load(state, MoneyForm)
    form = ReceiptData(receipt_id=receipt.id, ui_id=previous.ui_id if previous else None)
    await state.set_state(ReceiptForm.free_name)
    await save(state, form)
    await edit_and_answer(query, _("Название строки (например: Защитное стекло):"),
                          back_to_receipt(receipt.id))
    await remember_ui(query, state, form)


def price_prompt(name: str) -> str:
    return _("Цена для «{name}», грн (например 350; количество — в конце: 350 *2):").format(
        name=h(name))


async def free_line_as_found(query: CallbackQuery, callback_data: ReceiptCb,
                             session: DbSession, state: FSMContext) -> None:
    """The search text that found nothing becomes the free line's name: only its price is
    asked."""
    form = await load(state, ReceiptData)
    if form is None or form.receipt_id != callback_data.id or not form.free_name:
        await alert(query, stale())
        return
    receipt = await get_receipt(session, form.receipt_id)
    if receipt.is_paid:
        await alert(query, paid_error(receipt.id))
        return
    await state.set_state(ReceiptForm.free_price)
    await edit_and_answer(query, price_prompt(form.free_name), back_to_receipt(receipt.id))
    await remember_ui(query, state, form)


async def typed_free_name(message: Message, state: FSMContext) -> None:
    form = await current_form(message, state)
    if form is None:
        return
    name = " ".join((message.text or "").split())
    if not name or len(name) > NAME_MAX:
        await message.answer(_("Название — от 1 до {limit} символов.").format(limit=NAME_MAX))
        return
    form = await update(state, form, free_name=name)
    await state.set_state(ReceiptForm.free_price)
    await flow_reply(message, state, form, price_prompt(name), back_to_receipt(form.receipt_id))


async def typed_free_price(message: Message, session: DbSession, state: FSMContext,
                           staff: Staff, lang: str, settings: Settings) -> None:
    form = await current_form(message, state)
    if form is None:
        return
    try:
        text, typed_quantity = split_quantity(message.text or "")
        # "стекло *2" typed in the search keeps its quantity unless the price names one.
        await add_free_line(session, staff, form.receipt_id, form.free_name or "",
                            parse_amount(text), typed_quantity or form.quantity or ONE)
    except DomainError as exc:
        await message.answer(money_error(exc))
        return
    await start_adding(message, session, state, form.receipt_id, staff, lang, settings)


async def wrong_text(message: Message) -> None:
    await message.answer(_("Нужен текст: код или название услуги. Отмена — /cancel."))


async def wrong_price(message: Message) -> None:
    await message.answer(_("Напишите цену числом, например 1 200,50. Отмена — /cancel."))


def setup() -> Router:
    router = Router(name="money.receipt_lines")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.message.register(typed_line, ReceiptForm.line, F.text, NotCommand())
    router.message.register(typed_free_name, ReceiptForm.free_name, F.text, NotCommand())
    router.message.register(typed_free_price, ReceiptForm.free_price, F.text, NotCommand())
    router.message.register(wrong_text, ReceiptForm.line, NotCommand())
    router.message.register(wrong_text, ReceiptForm.free_name, NotCommand())
    router.message.register(wrong_price, ReceiptForm.free_price, NotCommand())
    router.callback_query.register(pick_service,
                                   ReceiptCb.filter(F.action == ReceiptAction.SERVICE))
    router.callback_query.register(free_line, ReceiptCb.filter(F.action == ReceiptAction.FREE))
    router.callback_query.register(free_line_as_found,
                                   ReceiptCb.filter(F.action == ReceiptAction.FREE_FOUND))
    return router
