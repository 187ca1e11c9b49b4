"""Owner's staff management (/staff): invite links, roles, commission, deactivation;
and /settings: the editable list of device types."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import set_staff_commands
from bot.config import Settings
from bot.views.formatting import h, local_dt
from db.desk.clients import add_device_type, list_device_types, set_device_type_active
from db.desk.models import Role, Staff
from db.desk.staff import (
    change_role,
    create_invite,
    get_staff,
    list_staff,
    parse_percent,
    set_active,
    set_commission,
)
from db.errors import DomainError, InvalidValue
from handlers.common import INVITE_PREFIX, role_title
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand, TextIs
from handlers.ui import callback_message, edit_or_send
from keyboards.callbacks import SettingsCb, StaffCb
from keyboards.common import button, chunked, markup
from keyboards.menu import SETTINGS
from keyboards.settings import settings_menu

ROLES = {"o": Role.OWNER, "mg": Role.MANAGER, "m": Role.MASTER}
ROLE_KEYS = {v: k for k, v in ROLES.items()}


class StaffForm(StatesGroup):
    percent = State()


class SettingsForm(StatesGroup):
    device_type = State()


def setup(settings: Settings) -> Router:
    router = Router(name="staff_admin")
    router.message.filter(IsStaff(Role.OWNER))
    router.callback_query.filter(IsStaff(Role.OWNER))

    async def staff_list(session: AsyncSession) -> tuple[str, object]:
        people = await list_staff(session)
        lines = [_("👥 <b>Сотрудники</b>")]
        rows = []
        for person in people:
            mark = "" if person.active else " ⛔"
            pct = f" · {person.commission_bp / 100:g}%" if person.commission_bp else ""
            lines.append(f"• {h(person.name)} — {role_title(person.role)}{pct}{mark}")
            rows.append([button(f"{person.name}{mark}", StaffCb(action="card", id=person.id))])
        rows.append([button(_("➕ Пригласить сотрудника"), StaffCb(action="inv"))])
        return "\n".join(lines), markup(rows)

    async def staff_card(session: AsyncSession, staff_id: int) -> tuple[str, object]:
        person = await get_staff(session, staff_id)
        lines = [
            f"👤 <b>{h(person.name)}</b>",
            _("Роль: {role}").format(role=role_title(person.role)),
            _("Процент с работ: {pct}%").format(pct=f"{person.commission_bp / 100:g}"),
            _("Активен") if person.active else _("⛔ Отключён"),
        ]
        roles = [button(("✓ " if person.role == r else "") + role_title(r),
                        StaffCb(action="role", id=person.id, arg=k)) for k, r in ROLES.items()]
        rows = [roles, [button(_("% Процент"), StaffCb(action="pct", id=person.id))]]
        rows.append([button(_("⛔ Отключить") if person.active else _("✅ Вернуть"),
                            StaffCb(action="off" if person.active else "on", id=person.id))])
        rows.append([button(_("← Все сотрудники"), StaffCb(action="list"))])
        return "\n".join(lines), markup(rows)

    @router.message(Command("staff"))
    async def staff_command(message: Message, session: AsyncSession) -> None:
        text, kb = await staff_list(session)
        await message.answer(text, reply_markup=kb)

    @router.callback_query(StaffCb.filter(F.action == "list"))
    async def list_cb(query: CallbackQuery, session: AsyncSession) -> None:
        text, kb = await staff_list(session)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(StaffCb.filter(F.action == "card"))
    async def card_cb(query: CallbackQuery, callback_data: StaffCb,
                      session: AsyncSession) -> None:
        text, kb = await staff_card(session, callback_data.id)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(StaffCb.filter(F.action == "inv"))
    async def invite_pick_role(query: CallbackQuery) -> None:
        rows = [[button(role_title(r), StaffCb(action="invrole", arg=k))
                 for k, r in ROLES.items()], [button(_("← Назад"), StaffCb(action="list"))]]
        await edit_or_send(query, _("Кого приглашаем?"), markup(rows))
        await query.answer()

    @router.callback_query(StaffCb.filter(F.action == "invrole"))
    async def invite_create(query: CallbackQuery, callback_data: StaffCb, session: AsyncSession,
                            staff: Staff, bot: Bot, lang: str) -> None:
        role = ROLES.get(callback_data.arg)
        if role is None:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        invite = await create_invite(session, staff, role,
                                     timedelta(hours=settings.invite_ttl_hours))
        link = await create_start_link(bot, INVITE_PREFIX + invite.token)
        await edit_or_send(query, _(
            "🔗 Приглашение ({role}), одноразовое, действует до {until}:\n{link}\n\n"
            "Перешлите ссылку сотруднику: он откроет её в Telegram и нажмёт «Начать» (Start)."
        ).format(role=role_title(role), until=local_dt(invite.expires_at, settings.tz, lang),
                 link=link), markup([[button(_("← Все сотрудники"), StaffCb(action="list"))]]))
        await query.answer()

    async def _apply(query: CallbackQuery, session: AsyncSession, staff_id: int,
                     action: Awaitable[Staff], bot: Bot, i18n: I18n) -> None:
        try:
            person = await action
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await set_staff_commands(bot, i18n, person, person.language or settings.default_language)
        text, kb = await staff_card(session, staff_id)
        await edit_or_send(query, text, kb)
        await query.answer(_("Сохранено."))

    @router.callback_query(StaffCb.filter(F.action == "role"))
    async def role_cb(query: CallbackQuery, callback_data: StaffCb, session: AsyncSession,
                      staff: Staff, bot: Bot, i18n: I18n) -> None:
        role = ROLES.get(callback_data.arg)
        if role is None:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        await _apply(query, session, callback_data.id,
                     change_role(session, staff, callback_data.id, role), bot, i18n)

    @router.callback_query(StaffCb.filter(F.action.in_({"off", "on"})))
    async def active_cb(query: CallbackQuery, callback_data: StaffCb, session: AsyncSession,
                        staff: Staff, bot: Bot, i18n: I18n) -> None:
        await _apply(query, session, callback_data.id,
                     set_active(session, staff, callback_data.id, callback_data.action == "on"),
                     bot, i18n)

    @router.callback_query(StaffCb.filter(F.action == "pct"))
    async def percent_start(query: CallbackQuery, callback_data: StaffCb, session: AsyncSession,
                            state: FSMContext) -> None:
        person = await get_staff(session, callback_data.id)
        await state.set_state(StaffForm.percent)
        await state.set_data({"staff_id": person.id})
        if (message := callback_message(query)) is not None:
            await message.answer(_("Процент с выполненных работ для {name} (0–100, например 30 "
                                   "или 12,5):").format(name=h(person.name)))
        await query.answer()

    @router.message(StaffForm.percent, F.text, NotCommand())
    async def percent_value(message: Message, session: AsyncSession, state: FSMContext,
                            staff: Staff) -> None:
        data = await state.get_data()
        try:
            await set_commission(session, staff, data["staff_id"], parse_percent(message.text))
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await state.clear()
        text, kb = await staff_card(session, data["staff_id"])
        await message.answer(text, reply_markup=kb)

    @router.message(StaffForm.percent, NotCommand())
    async def percent_wrong(message: Message) -> None:
        await message.answer(_("Процент — число от 0 до 100, например 30 или 12,5."))

    # ---- settings: device types ------------------------------------------------------------
    @router.message(Command("settings"))
    @router.message(TextIs(SETTINGS))
    async def settings_command(message: Message) -> None:
        text, kb = settings_menu()
        await message.answer(text, reply_markup=kb)

    @router.callback_query(SettingsCb.filter(F.action == "menu"))
    async def settings_cb(query: CallbackQuery) -> None:
        text, kb = settings_menu()
        await edit_or_send(query, text, kb)
        await query.answer()

    async def types_view(session: AsyncSession, lang: str) -> tuple[str, object]:
        types = await list_device_types(session, active_only=False)
        buttons = [button(("" if t.active else "⛔ ") + t.title(lang),
                          SettingsCb(action="type_off" if t.active else "type_on", id=t.id))
                   for t in types]
        rows = [*chunked(buttons, 2), [button(_("➕ Добавить тип"), SettingsCb(action="type_add"))],
                [button(_("← Настройки"), SettingsCb(action="menu"))]]
        return _("📱 Типы устройств для приёма. Нажмите, чтобы скрыть или вернуть."), markup(rows)

    @router.callback_query(SettingsCb.filter(F.action == "types"))
    async def types_cb(query: CallbackQuery, session: AsyncSession, lang: str) -> None:
        text, kb = await types_view(session, lang)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(SettingsCb.filter(F.action.in_({"type_off", "type_on"})))
    async def type_toggle(query: CallbackQuery, callback_data: SettingsCb, session: AsyncSession,
                          staff: Staff, lang: str) -> None:
        await set_device_type_active(session, staff, callback_data.id,
                                     callback_data.action == "type_on")
        text, kb = await types_view(session, lang)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(SettingsCb.filter(F.action == "type_add"))
    async def type_add(query: CallbackQuery, state: FSMContext) -> None:
        await state.set_state(SettingsForm.device_type)
        if (message := callback_message(query)) is not None:
            await message.answer(_("Название нового типа (например: Наушники):"))
        await query.answer()

    @router.message(SettingsForm.device_type, F.text, NotCommand())
    async def type_name(message: Message, session: AsyncSession, state: FSMContext,
                        staff: Staff, lang: str) -> None:
        try:
            await add_device_type(session, staff, message.text)
        except InvalidValue:
            await message.answer(_("Название — от 1 до 40 символов."))
            return
        await state.clear()
        text, kb = await types_view(session, lang)
        await message.answer(text, reply_markup=kb)

    @router.message(SettingsForm.device_type, NotCommand())
    async def type_wrong(message: Message) -> None:
        await message.answer(_("Нужно название текстом. Отмена — /cancel."))

    return router
