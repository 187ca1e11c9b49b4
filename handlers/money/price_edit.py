"""Changing the price list (owners and managers): a new service by code, name and price, or a
new code, name or price of one. A price may be 0 (free diagnostics)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import h
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.amounts import parse_amount
from db.money.errors import InvalidAmount
from db.money.price_list import (
    CODE_MAX,
    NAME_MAX,
    add_service,
    edit_service,
    get_service,
    normalize_code,
)
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, save, update
from handlers.money.common import alert, flow_reply, money_error, remember_ui, stale
from handlers.money.forms import NewServiceData, PriceForm, ServiceEditData
from handlers.money.price_list import manager_only, render_card
from handlers.ui import edit_and_answer
from keyboards.common import button, markup
from keyboards.money import PriceAction, PriceCb, PriceField


def parse_price(text: str) -> int:
    """A price may be 0 (free diagnostics); everything else as any amount."""
    try:
        return parse_amount(text)
    except InvalidAmount as exc:
        if exc.reason == "zero":
            return 0
        raise


def back_to_list() -> InlineKeyboardMarkup:
    return markup([[button(_("← Прайс-лист"), PriceCb(action=PriceAction.PAGE))]])


# ---- adding ------------------------------------------------------------------------------

async def add(query: CallbackQuery, state: FSMContext, staff: Staff) -> None:
    if not await manager_only(query, staff):
        return
    await state.set_state(PriceForm.code)
    form = NewServiceData()
    await save(state, form)
    await edit_and_answer(query, _("Новая услуга. Код (короткий, без пробелов, например SCR1):"),
                          back_to_list())
    await remember_ui(query, state, form)


async def typed_code(message: Message, state: FSMContext) -> None:
    form = await load(state, NewServiceData) or NewServiceData()
    code = normalize_code(message.text or "")
    if not code or len(code) > CODE_MAX:
        await message.answer(_("Код — от 1 до {limit} символов без пробелов, например SCR1."
                               ).format(limit=CODE_MAX))
        return
    form = await update(state, form, code=code)
    await state.set_state(PriceForm.name)
    await flow_reply(message, state, form, _("{code}: название услуги?").format(code=h(code)),
                     back_to_list())


async def typed_name(message: Message, state: FSMContext) -> None:
    form = await load(state, NewServiceData) or NewServiceData()
    name = " ".join((message.text or "").split())
    if not name or len(name) > NAME_MAX:
        await message.answer(_("Название — от 1 до {limit} символов.").format(limit=NAME_MAX))
        return
    form = await update(state, form, name=name)
    await state.set_state(PriceForm.price)
    await flow_reply(message, state, form, _("Цена «{name}», грн (например 1 500; 0 — "
                                             "бесплатно):").format(name=h(name)),
                     back_to_list())


async def typed_price(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                      lang: str) -> None:
    form = await load(state, NewServiceData) or NewServiceData()
    try:
        service = await add_service(session, staff, form.code, form.name,
                                    parse_price(message.text or ""))
    except DomainError as exc:
        await message.answer(money_error(exc))
        if exc.code == "duplicate_service":  # another code is typed next
            await state.set_state(PriceForm.code)
        return
    await state.clear()
    text, kb = await render_card(session, service.id, lang)
    await message.answer(_("✅ Услуга добавлена.") + "\n" + text, reply_markup=kb)


# ---- editing -----------------------------------------------------------------------------

async def edit(query: CallbackQuery, callback_data: PriceCb, session: DbSession,
               state: FSMContext, staff: Staff) -> None:
    if not await manager_only(query, staff):
        return
    service = await get_service(session, callback_data.id)
    if callback_data.arg not in set(PriceField):
        await alert(query, _("Кнопка устарела."))
        return
    field = PriceField(callback_data.arg)
    await state.set_state(PriceForm.edit)
    form = ServiceEditData(service_id=service.id, field=field)
    await save(state, form)
    prompt = {PriceField.CODE: _("Новый код для «{name}»:"),
              PriceField.NAME: _("Новое название для «{name}»:"),
              PriceField.PRICE: _("Новая цена для «{name}», грн:")}[field]
    await edit_and_answer(query, prompt.format(name=h(service.name)), markup([[
        button(_("← Отмена"), PriceCb(action=PriceAction.CARD, id=service.id))]]))
    await remember_ui(query, state, form)


async def typed_edit(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                     lang: str) -> None:
    form = await load(state, ServiceEditData)
    if form is None:
        await state.set_state(None)
        await message.answer(stale())
        return
    text = message.text or ""
    try:
        if form.field is PriceField.PRICE:
            await edit_service(session, staff, form.service_id, price=parse_price(text))
        elif form.field is PriceField.CODE:
            await edit_service(session, staff, form.service_id, code=text)
        else:
            await edit_service(session, staff, form.service_id, name=text)
    except DomainError as exc:
        await message.answer(money_error(exc))
        return
    await state.clear()
    card_text, kb = await render_card(session, form.service_id, lang)
    await message.answer(_("✅ Сохранено.") + "\n" + card_text, reply_markup=kb)


async def wrong_text(message: Message) -> None:
    await message.answer(_("Нужен текст. Отмена — /cancel."))


async def wrong_price(message: Message) -> None:
    await message.answer(_("Напишите цену числом, например 1 500 или 0. Отмена — /cancel."))


def setup() -> Router:
    router = Router(name="money.price_edit")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(add, PriceCb.filter(F.action == PriceAction.ADD))
    router.message.register(typed_code, PriceForm.code, F.text, NotCommand())
    router.message.register(typed_name, PriceForm.name, F.text, NotCommand())
    router.message.register(typed_price, PriceForm.price, F.text, NotCommand())
    router.callback_query.register(edit, PriceCb.filter(F.action == PriceAction.EDIT))
    router.message.register(typed_edit, PriceForm.edit, F.text, NotCommand())
    router.message.register(wrong_text, PriceForm.code, NotCommand())
    router.message.register(wrong_text, PriceForm.name, NotCommand())
    router.message.register(wrong_text, PriceForm.edit, NotCommand())
    router.message.register(wrong_price, PriceForm.price, NotCommand())
    return router
