"""/settings → "💳 Способы оплаты" (owner): add, rename, cash or cashless, order, switch off.
Types are never deleted (payments point at them); a switched-off type is just not offered."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.formatting import h
from db.desk.models import Role, Staff
from db.errors import DomainError
from db.money.models import PaymentKind, PaymentType
from db.money.payment_types import (
    NAME_MAX,
    add_payment_type,
    edit_payment_type,
    get_payment_type,
    list_payment_types,
)
from handlers.filters import IsStaff, NotCommand
from handlers.money.common import alert, flow_reply, leave_form, money_error, remember_ui
from handlers.money.views import kind_icon
from handlers.ui import edit_or_send
from keyboards.callbacks import SettingsCb
from keyboards.common import button, markup
from keyboards.money import PayTypeCb

KINDS = {0: PaymentKind.CASH, 1: PaymentKind.CASHLESS}


class PayTypeForm(StatesGroup):
    name = State()  # data: ptype_id (0 = a new type)


def kind_title(kind: PaymentKind) -> str:
    return _("наличные (касса)") if kind == PaymentKind.CASH else _("безналичные")


def split_names(text: str) -> tuple[str, str]:
    """"Карта / Картка" → both languages; one name serves both."""
    ru, _sep, uk = (" ".join(text.split())).partition("/")
    return ru.strip(), (uk.strip() or ru.strip())


def setup(settings: Settings) -> Router:
    router = Router(name="money.pay_types")
    router.message.filter(IsStaff(Role.OWNER))
    router.callback_query.filter(IsStaff(Role.OWNER))

    async def render_list(session: AsyncSession) -> tuple[str, InlineKeyboardMarkup]:
        types = await list_payment_types(session, active_only=False)
        lines = [_("💳 <b>Способы оплаты</b> (порядок — как на кнопках оплаты)")]
        rows = []
        for t in types:
            off = "" if t.active else " ⛔"
            lines.append(f"{kind_icon(t.kind)} {h(t.name_ru)} / {h(t.name_uk)} — "
                         f"{kind_title(t.kind)}{off}")
            rows.append([button(f"{kind_icon(t.kind)} {t.name_ru}{off}",
                                PayTypeCb(action="card", id=t.id))])
        rows.append([button(_("➕ Добавить способ"), PayTypeCb(action="add"))])
        rows.append([button(_("← Настройки"), SettingsCb(action="menu"))])
        return "\n".join(lines), markup(rows)

    async def render_card(session: AsyncSession, type_id: int
                          ) -> tuple[str, InlineKeyboardMarkup]:
        t = await get_payment_type(session, type_id, active=False)
        lines = [f"{kind_icon(t.kind)} <b>{h(t.name_ru)}</b> / {h(t.name_uk)}",
                 _("Вид: {kind}").format(kind=kind_title(t.kind)),
                 _("Включён") if t.active else _("⛔ Отключён — не предлагается при оплате")]
        other = 1 if t.kind == PaymentKind.CASH else 0
        rows = [[button(_("✏️ Название"), PayTypeCb(action="name", id=t.id)),
                 button(_("Сделать: {kind}").format(kind=kind_title(KINDS[other])),
                        PayTypeCb(action="kind", id=t.id, arg=other))],
                [button(_("⛔ Отключить") if t.active else _("✅ Включить"),
                        PayTypeCb(action="toggle", id=t.id)),
                 button(_("⬆️ Выше"), PayTypeCb(action="up", id=t.id))],
                [button(_("← Способы оплаты"), PayTypeCb(action="list"))]]
        return "\n".join(lines), markup(rows)

    async def show(query: CallbackQuery, text_kb: tuple[str, InlineKeyboardMarkup]) -> None:
        await edit_or_send(query, *text_kb)
        await query.answer()

    @router.callback_query(PayTypeCb.filter(F.action == "list"))
    async def list_cb(query: CallbackQuery, session: AsyncSession, state: FSMContext) -> None:
        await leave_form(state)
        await show(query, await render_list(session))

    @router.callback_query(PayTypeCb.filter(F.action == "card"))
    async def card_cb(query: CallbackQuery, callback_data: PayTypeCb,
                      session: AsyncSession, state: FSMContext) -> None:
        await leave_form(state)
        await show(query, await render_card(session, callback_data.id))

    @router.callback_query(PayTypeCb.filter(F.action.in_({"toggle", "up"})))
    async def change(query: CallbackQuery, callback_data: PayTypeCb, session: AsyncSession,
                     staff: Staff) -> None:
        t = await get_payment_type(session, callback_data.id, active=False)
        try:
            if callback_data.action == "toggle":
                await edit_payment_type(session, staff, t.id, active=not t.active)
            else:
                await move_up(session, staff, t)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        await show(query, await render_card(session, t.id))

    async def move_up(session: AsyncSession, staff: Staff, t: PaymentType) -> None:
        types = await list_payment_types(session, active_only=False)
        index = [x.id for x in types].index(t.id)
        if index == 0:
            return
        ordered = [*types[:index - 1], t, types[index - 1], *types[index + 1:]]
        for position, item in enumerate(ordered, 1):
            if item.position != position * 10:
                await edit_payment_type(session, staff, item.id, position=position * 10)

    @router.callback_query(PayTypeCb.filter(F.action.in_({"add", "name"})))
    async def ask_name(query: CallbackQuery, callback_data: PayTypeCb, session: AsyncSession,
                       state: FSMContext) -> None:
        if callback_data.action == "name":
            await get_payment_type(session, callback_data.id, active=False)
        await state.set_state(PayTypeForm.name)
        await state.update_data(ptype_id=callback_data.id if callback_data.action == "name" else 0)
        await edit_or_send(query, _("Название способа оплаты: одно или «по-русски / "
                                    "по-украински», например «Перевод на карту / Переказ на "
                                    "картку»."),
                           markup([[button(_("← Способы оплаты"), PayTypeCb(action="list"))]]))
        await remember_ui(query, state)
        await query.answer()

    @router.message(PayTypeForm.name, F.text, NotCommand())
    async def typed_name(message: Message, session: AsyncSession, state: FSMContext,
                         staff: Staff) -> None:
        ru, uk = split_names(message.text or "")
        if not ru or len(ru) > NAME_MAX or len(uk) > NAME_MAX:
            await message.answer(_("Название — от 1 до {limit} символов.").format(limit=NAME_MAX))
            return
        type_id = (await state.get_data()).get("ptype_id", 0)
        if type_id:
            try:
                await edit_payment_type(session, staff, type_id, name_ru=ru, name_uk=uk)
            except DomainError as exc:
                await message.answer(money_error(exc))
                return
            await state.set_state(None)
            text, kb = await render_card(session, type_id)
            await flow_reply(message, state, text, kb)
            return
        await state.set_state(None)
        await state.update_data(ptype_new=[ru, uk])
        await flow_reply(message, state, _("«{name}»: это наличные (идут в кассу) или "
                                           "безналичные?").format(name=h(ru)), markup([[
            button(_("💵 Наличные"), PayTypeCb(action="kind", id=0, arg=0)),
            button(_("💳 Безналичные"), PayTypeCb(action="kind", id=0, arg=1))]]))

    @router.message(PayTypeForm.name, NotCommand())
    async def wrong_name(message: Message) -> None:
        await message.answer(_("Нужно название текстом. Отмена — /cancel."))

    @router.callback_query(PayTypeCb.filter(F.action == "kind"))
    async def kind(query: CallbackQuery, callback_data: PayTypeCb, session: AsyncSession,
                   state: FSMContext, staff: Staff) -> None:
        new_kind = KINDS.get(callback_data.arg)
        if new_kind is None:
            await alert(query, _("Кнопка устарела."))
            return
        try:
            if callback_data.id:
                t = await edit_payment_type(session, staff, callback_data.id, kind=new_kind)
            else:
                names = (await state.get_data()).get("ptype_new")
                if not names:
                    await alert(query, _("Кнопка устарела."))
                    return
                t = await add_payment_type(session, staff, names[0], names[1], new_kind)
                await state.update_data(ptype_new=None)
        except DomainError as exc:
            await alert(query, money_error(exc))
            return
        await show(query, await render_card(session, t.id))

    return router
