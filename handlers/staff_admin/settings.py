"""/settings (owner): the menu (keyboards/settings.py lists its entries) and the device types
offered at intake."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from db.desk.clients import add_device_type, list_device_types, set_device_type_active
from db.desk.models import Role, Staff
from db.engine import DbSession
from db.errors import InvalidValue
from handlers.filters import IsStaff, NotCommand, TextIs
from handlers.forms import FormData, save
from handlers.ui import callback_message, edit_and_answer
from keyboards.callbacks import SettingsAction, SettingsCb
from keyboards.common import button, chunked, markup
from keyboards.menu import SETTINGS
from keyboards.settings import settings_menu


class SettingsForm(StatesGroup):
    device_type = State()  # the new type's name is typed here


class DeviceTypeData(FormData):
    """The name is the only answer, so nothing is kept; saving drops other forms' leftovers."""


async def settings_command(message: Message) -> None:
    text, kb = settings_menu()
    await message.answer(text, reply_markup=kb)


async def settings_cb(query: CallbackQuery) -> None:
    text, kb = settings_menu()
    await edit_and_answer(query, text, kb)


async def types_view(session: DbSession, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        button(t.title(lang), SettingsCb(action=SettingsAction.TYPE_OFF, id=t.id)) if t.active
        else button("⛔ " + t.title(lang), SettingsCb(action=SettingsAction.TYPE_ON, id=t.id))
        for t in await list_device_types(session, active_only=False)
    ]
    rows = [*chunked(buttons, 2),
            [button(_("➕ Добавить тип"), SettingsCb(action=SettingsAction.TYPE_ADD))],
            [button(_("← Настройки"), SettingsCb(action=SettingsAction.MENU))]]
    return _("📱 Типы устройств для приёма. Нажмите, чтобы скрыть или вернуть."), markup(rows)


async def types_cb(query: CallbackQuery, session: DbSession, lang: str) -> None:
    text, kb = await types_view(session, lang)
    await edit_and_answer(query, text, kb)


async def type_toggle(query: CallbackQuery, callback_data: SettingsCb, session: DbSession,
                      staff: Staff, lang: str) -> None:
    await set_device_type_active(session, staff, callback_data.id,
                                 callback_data.action is SettingsAction.TYPE_ON)
    text, kb = await types_view(session, lang)
    await edit_and_answer(query, text, kb)


async def type_add(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(SettingsForm.device_type)
    await save(state, DeviceTypeData())
    if (message := callback_message(query)) is not None:
        await message.answer(_("Название нового типа (например: Наушники):"))
    await query.answer()


async def type_name(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                    lang: str) -> None:
    try:
        await add_device_type(session, staff, message.text or "")
    except InvalidValue:
        await message.answer(_("Название — от 1 до 40 символов."))
        return
    await state.clear()
    text, kb = await types_view(session, lang)
    await message.answer(text, reply_markup=kb)


async def type_wrong(message: Message) -> None:
    await message.answer(_("Нужно название текстом. Отмена — /cancel."))


def setup() -> Router:
    router = Router(name="staff_admin.settings")
    router.message.filter(IsStaff(Role.OWNER))
    router.callback_query.filter(IsStaff(Role.OWNER))
    router.message.register(settings_command, Command("settings"))
    router.message.register(settings_command, TextIs(SETTINGS))
    router.callback_query.register(settings_cb, SettingsCb.filter(F.action == SettingsAction.MENU))
    router.callback_query.register(types_cb, SettingsCb.filter(F.action == SettingsAction.TYPES))
    router.callback_query.register(type_toggle, SettingsCb.filter(
        F.action.in_({SettingsAction.TYPE_OFF, SettingsAction.TYPE_ON})))
    router.callback_query.register(type_add, SettingsCb.filter(F.action == SettingsAction.TYPE_ADD))
    router.message.register(type_name, SettingsForm.device_type, F.text, NotCommand())
    router.message.register(type_wrong, SettingsForm.device_type, NotCommand())
    return router
