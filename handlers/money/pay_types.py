"""/settings → "💳 Способы оплаты" (owner): add, rename, cash or cashless, order, switch off.
Types are never deleted (payments point at them); a switched-off type is just not offered."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import h
from bot.views.receipts import kind_icon
from db.desk.models import Role, Staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.models import PaymentKind
from db.money.payment_types import (
    NAME_MAX,
    add_payment_type,
    edit_payment_type,
    get_payment_type,
    list_payment_types,
    move_payment_type_up,
)
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, save, update
from handlers.money.common import alert, flow_reply, leave_form, money_error, remember_ui, stale
from handlers.money.forms import PayTypeData, PayTypeForm
from handlers.ui import edit_and_answer
from keyboards.callbacks import SettingsCb
from keyboards.common import button, markup
from keyboards.money import PayTypeAction, PayTypeCb

NEW = 0  # the type id of one being added


def kind_title(kind: PaymentKind) -> str:
    return _("наличные (касса)") if kind == PaymentKind.CASH else _("безналичные")


def split_names(text: str) -> tuple[str, str]:
    """"Карта / Картка" → both languages; one name serves both."""
    ru, _sep, uk = (" ".join(text.split())).partition("/")
    return ru.strip(), (uk.strip() or ru.strip())


async def render_list(session: DbSession) -> tuple[str, InlineKeyboardMarkup]:
    types = await list_payment_types(session, active_only=False)
    lines = [_("💳 <b>Способы оплаты</b> (порядок — как на кнопках оплаты)")]
    rows = []
    for t in types:
        off = "" if t.active else " ⛔"
        lines.append(f"{kind_icon(t.kind)} {h(t.name_ru)} / {h(t.name_uk)} — "
                     f"{kind_title(t.kind)}{off}")
        rows.append([button(f"{kind_icon(t.kind)} {t.name_ru}{off}",
                            PayTypeCb(action=PayTypeAction.CARD, id=t.id))])
    rows.append([button(_("➕ Добавить способ"), PayTypeCb(action=PayTypeAction.ADD))])
    rows.append([button(_("← Настройки"), SettingsCb(action="menu"))])
    return "\n".join(lines), markup(rows)


async def render_card(session: DbSession, type_id: int) -> tuple[str, InlineKeyboardMarkup]:
    t = await get_payment_type(session, type_id, active=False)
    lines = [f"{kind_icon(t.kind)} <b>{h(t.name_ru)}</b> / {h(t.name_uk)}",
             _("Вид: {kind}").format(kind=kind_title(t.kind)),
             _("Включён") if t.active else _("⛔ Отключён — не предлагается при оплате")]
    other = PaymentKind.CASHLESS if t.kind == PaymentKind.CASH else PaymentKind.CASH
    rows = [[button(_("✏️ Название"), PayTypeCb(action=PayTypeAction.NAME, id=t.id)),
             button(_("Сделать: {kind}").format(kind=kind_title(other)),
                    PayTypeCb(action=PayTypeAction.KIND, id=t.id, kind=other))],
            [button(_("⛔ Отключить") if t.active else _("✅ Включить"),
                    PayTypeCb(action=PayTypeAction.TOGGLE, id=t.id)),
             button(_("⬆️ Выше"), PayTypeCb(action=PayTypeAction.UP, id=t.id))],
            [button(_("← Способы оплаты"), PayTypeCb(action=PayTypeAction.LIST))]]
    return "\n".join(lines), markup(rows)


async def show(query: CallbackQuery, text_kb: tuple[str, InlineKeyboardMarkup]) -> None:
    await edit_and_answer(query, *text_kb)


async def list_types(query: CallbackQuery, session: DbSession, state: FSMContext) -> None:
    await leave_form(state)
    await show(query, await render_list(session))


async def card(query: CallbackQuery, callback_data: PayTypeCb, session: DbSession,
               state: FSMContext) -> None:
    await leave_form(state)
    await show(query, await render_card(session, callback_data.id))


async def change(query: CallbackQuery, callback_data: PayTypeCb, session: DbSession,
                 staff: Staff) -> None:
    """Switch off/on, or one place up."""
    t = await get_payment_type(session, callback_data.id, active=False)
    try:
        if callback_data.action == PayTypeAction.TOGGLE:
            await edit_payment_type(session, staff, t.id, active=not t.active)
        else:
            await move_payment_type_up(session, staff, t.id)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    await show(query, await render_card(session, t.id))


async def ask_name(query: CallbackQuery, callback_data: PayTypeCb, session: DbSession,
                   state: FSMContext) -> None:
    """"➕ Добавить способ" (NEW) or "✏️ Название" of a type."""
    renaming = callback_data.action == PayTypeAction.NAME
    if renaming:
        await get_payment_type(session, callback_data.id, active=False)
    await state.set_state(PayTypeForm.name)
    form = PayTypeData(type_id=callback_data.id if renaming else NEW)
    await save(state, form)
    await edit_and_answer(query, _("Название способа оплаты: одно или «по-русски / "
                                   "по-украински», например «Перевод на карту / Переказ на "
                                   "картку»."),
                          markup([[button(_("← Способы оплаты"),
                                          PayTypeCb(action=PayTypeAction.LIST))]]))
    await remember_ui(query, state, form)


async def typed_name(message: Message, session: DbSession, state: FSMContext,
                     staff: Staff) -> None:
    form = await load(state, PayTypeData)
    if form is None:
        await state.set_state(None)
        await message.answer(stale())
        return
    ru, uk = split_names(message.text or "")
    if not ru or len(ru) > NAME_MAX or len(uk) > NAME_MAX:
        await message.answer(_("Название — от 1 до {limit} символов.").format(limit=NAME_MAX))
        return
    if form.type_id != NEW:
        try:
            await edit_payment_type(session, staff, form.type_id, name_ru=ru, name_uk=uk)
        except DomainError as exc:
            await message.answer(money_error(exc))
            return
        await state.set_state(None)
        await flow_reply(message, state, form, *await render_card(session, form.type_id))
        return
    await state.set_state(None)
    form = await update(state, form, names=(ru, uk))
    await flow_reply(message, state, form, _("«{name}»: это наличные (идут в кассу) или "
                                             "безналичные?").format(name=h(ru)), markup([[
        button(_("💵 Наличные"),
               PayTypeCb(action=PayTypeAction.KIND, id=NEW, kind=PaymentKind.CASH)),
        button(_("💳 Безналичные"),
               PayTypeCb(action=PayTypeAction.KIND, id=NEW, kind=PaymentKind.CASHLESS))]]))


async def wrong_name(message: Message) -> None:
    await message.answer(_("Нужно название текстом. Отмена — /cancel."))


async def set_kind(query: CallbackQuery, callback_data: PayTypeCb, session: DbSession,
                   state: FSMContext, staff: Staff) -> None:
    """The kind of a type, or of the one being added (which is then created)."""
    kind = callback_data.kind
    form = await load(state, PayTypeData) if callback_data.id == NEW else None
    if kind is None or (callback_data.id == NEW and (form is None or form.names is None)):
        await alert(query, _("Кнопка устарела."))
        return
    try:
        if form is not None and form.names is not None:
            t = await add_payment_type(session, staff, *form.names, kind)
            await update(state, form, names=None)
        else:
            t = await edit_payment_type(session, staff, callback_data.id, kind=kind)
    except DomainError as exc:
        await alert(query, money_error(exc))
        return
    await show(query, await render_card(session, t.id))


def setup() -> Router:
    router = Router(name="money.pay_types")
    router.message.filter(IsStaff(Role.OWNER))
    router.callback_query.filter(IsStaff(Role.OWNER))
    router.callback_query.register(list_types, PayTypeCb.filter(F.action == PayTypeAction.LIST))
    router.callback_query.register(card, PayTypeCb.filter(F.action == PayTypeAction.CARD))
    router.callback_query.register(
        change, PayTypeCb.filter(F.action.in_({PayTypeAction.TOGGLE, PayTypeAction.UP})))
    router.callback_query.register(
        ask_name, PayTypeCb.filter(F.action.in_({PayTypeAction.ADD, PayTypeAction.NAME})))
    router.message.register(typed_name, PayTypeForm.name, F.text, NotCommand())
    router.message.register(wrong_name, PayTypeForm.name, NotCommand())
    router.callback_query.register(set_kind, PayTypeCb.filter(F.action == PayTypeAction.KIND))
    return router
