"""Clients: find by phone or name (also typed anywhere), the card, create and edit."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import echo
from db.desk.clients import SearchHit, create_client, get_client, search_clients, update_client
from db.desk.models import Staff
from db.desk.phones import format_phone, looks_like_phone, parse_phone
from db.engine import DbSession
from db.errors import DomainError, DuplicateClient, InvalidPhone
from handlers.client_view import client_name, render_client, render_device
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand, TextIs
from handlers.forms import FormData, load, save
from handlers.intake.start import begin as begin_intake
from handlers.ui import callback_message, edit_and_answer, edit_or_send, form_gone, stale_button
from keyboards.callbacks import (
    ClientAction,
    ClientCb,
    ClientField,
    DeviceAction,
    DeviceCb,
    NewClientAction,
    NewClientCb,
)
from keyboards.common import button, markup
from keyboards.menu import CLIENTS

SEARCH_MIN = 2  # characters: fewer would list half the clients


class ClientsSection(StatesGroup):
    search = State()  # whatever is typed here is a search


class ClientsSectionData(FormData):
    """The section keeps nothing: saving it drops the previous form's leftovers."""


class NewClient(StatesGroup):
    name = State()


class NewClientData(FormData):
    """A phone nobody has, found by a search: the name typed next creates the client."""

    phone: str  # E.164


class EditClient(StatesGroup):
    value = State()


class EditClientData(FormData):
    client_id: int
    field: ClientField


async def show_client(target: Message | CallbackQuery, session: DbSession, client_id: int,
                      lang: str, settings: Settings, *, with_types: bool = False,
                      edit: bool = True) -> None:
    text, kb = await render_client(session, client_id, lang, settings.tz, with_types=with_types)
    if edit or isinstance(target, Message):
        await edit_or_send(target, text, kb)
    elif (message := callback_message(target)) is not None:
        await message.answer(text, reply_markup=kb)


# ---- search -------------------------------------------------------------------------------

async def search(message: Message, session: DbSession, state: FSMContext, text: str, lang: str,
                 settings: Settings) -> None:
    text = text.strip()
    if len(text) < SEARCH_MIN:
        await message.answer(_("Введите телефон (или последние 4+ цифры), имя или фамилию."))
        return
    hits = await search_clients(session, text, settings.default_region)
    if len(hits) == 1:
        await show_client(message, session, hits[0].client.id, lang, settings)
    elif hits:
        await show_hits(message, hits)
    elif looks_like_phone(text):
        await offer_new(message, state, text, settings)
    else:
        await message.answer(_("Никого не нашли по «{text}». Чтобы создать клиента, "
                               "введите его номер телефона.").format(text=echo(text)))


async def show_hits(message: Message, hits: list[SearchHit]) -> None:
    rows = [[button(f"{client_name(hit.client)} · {format_phone(hit.client.phone)}",
                    ClientCb(action=ClientAction.CARD, id=hit.client.id))] for hit in hits]
    await message.answer(_("Найдено: {count}. Выберите клиента:").format(count=len(hits)),
                         reply_markup=markup(rows))


async def offer_new(message: Message, state: FSMContext, text: str, settings: Settings) -> None:
    """Nobody has the phone: the name is asked at once (the next message creates the client)."""
    try:
        phone = parse_phone(text, settings.default_region)
    except InvalidPhone as exc:
        await message.answer(_("Никого не нашли по «{text}».").format(text=echo(text))
                             + "\n" + error_text(exc))
        return
    await state.set_state(NewClient.name)
    await save(state, NewClientData(phone=phone))
    kb = markup([[button(_("Пропустить"), NewClientCb(action=NewClientAction.SKIP))]])
    await message.answer(_("Клиент с номером {phone} не найден — создаём нового.\n"
                           "Имя и фамилия? (например: Иван Петренко)").format(
        phone=format_phone(phone)), reply_markup=kb)


async def open_section(state: FSMContext) -> None:
    await state.set_state(ClientsSection.search)
    await save(state, ClientsSectionData())


async def client_command(message: Message, command: CommandObject, session: DbSession,
                         state: FSMContext, lang: str, settings: Settings) -> None:
    if not command.args:
        await open_section(state)
        await message.answer(_("Введите телефон, имя или фамилию клиента."))
        return
    await search(message, session, state, command.args, lang, settings)


async def clients_section(message: Message, state: FSMContext) -> None:
    await open_section(state)
    await message.answer(_("👥 Введите телефон (можно последние 4+ цифры), имя или фамилию "
                           "клиента, серийный номер или #номер обращения."))


async def typed_search(message: Message, session: DbSession, state: FSMContext, lang: str,
                       settings: Settings) -> None:
    await search(message, session, state, message.text or "", lang, settings)


# ---- cards --------------------------------------------------------------------------------

async def card(query: CallbackQuery, callback_data: ClientCb, session: DbSession, lang: str,
               settings: Settings) -> None:
    await show_client(query, session, callback_data.id, lang, settings)
    await query.answer()


async def device_card(query: CallbackQuery, callback_data: DeviceCb, session: DbSession,
                      lang: str, settings: Settings) -> None:
    text, kb, _device = await render_device(session, callback_data.id, lang, settings.tz)
    await edit_and_answer(query, text, kb)


# ---- create -------------------------------------------------------------------------------

async def create_start(query: CallbackQuery, state: FSMContext) -> None:
    data = await load(state, NewClientData)
    if data is None:
        await query.answer(_("Введите номер телефона ещё раз."), show_alert=True)
        return
    await state.set_state(NewClient.name)
    kb = markup([[button(_("Пропустить"), NewClientCb(action=NewClientAction.SKIP))]])
    await edit_and_answer(query, _("Новый клиент {phone}.\nИмя и фамилия? "
                                   "(например: Иван Петренко)").format(
        phone=format_phone(data.phone)), kb)


async def finish_create(target: Message | CallbackQuery, session: DbSession, state: FSMContext,
                        data: NewClientData, staff: Staff, lang: str, settings: Settings,
                        full_name: str) -> None:
    name, _sep, surname = full_name.strip().partition(" ")
    try:
        client = await create_client(session, staff, phone=data.phone, name=name,
                                     surname=surname.strip(), region=settings.default_region)
    except DuplicateClient as exc:
        await state.clear()
        await show_client(target, session, exc.client_id, lang, settings)
        return
    except DomainError as exc:
        reply = target if isinstance(target, Message) else callback_message(target)
        if reply is not None:
            await reply.answer(error_text(exc))
        return
    await begin_intake(session, state, client.id, staff)
    await show_client(target, session, client.id, lang, settings, with_types=True, edit=False)


async def create_name(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                      lang: str, settings: Settings) -> None:
    data = await load(state, NewClientData)
    if data is None:
        await form_gone(message, state)
        return
    text = message.text or ""
    if looks_like_phone(text):  # another phone searched (a typo corrected), not a name
        await state.clear()
        await search(message, session, state, text, lang, settings)
        return
    await finish_create(message, session, state, data, staff, lang, settings, text)


async def create_skip(query: CallbackQuery, session: DbSession, state: FSMContext, staff: Staff,
                      lang: str, settings: Settings) -> None:
    data = await load(state, NewClientData)
    if data is None:
        await stale_button(query)
        return
    await finish_create(query, session, state, data, staff, lang, settings, "")
    await query.answer()


async def create_wrong(message: Message) -> None:
    await message.answer(_("Напишите имя и фамилию текстом или нажмите «Пропустить». "
                           "Отмена — /cancel."))


# ---- edit ---------------------------------------------------------------------------------

def edit_prompt(field: ClientField) -> str:
    return {
        ClientField.NAME: _("Имя и фамилия клиента:"),
        ClientField.EXTRA_PHONE: _("Дополнительный телефон (или «-», чтобы удалить):"),
        ClientField.COMMENT: _("Комментарий о клиенте (или «-», чтобы удалить):"),
    }[field]


async def edit_start(query: CallbackQuery, callback_data: ClientCb, session: DbSession,
                     state: FSMContext) -> None:
    client = await get_client(session, callback_data.id)
    if callback_data.field is None:
        await stale_button(query)
        return
    await state.set_state(EditClient.value)
    await save(state, EditClientData(client_id=client.id, field=callback_data.field))
    if (message := callback_message(query)) is not None:
        await message.answer(edit_prompt(callback_data.field))
    await query.answer()


def client_changes(field: ClientField, text: str) -> dict[str, str]:
    """update_client's keywords for `text` typed for `field` ("-" empties it)."""
    value = "" if text.strip() == "-" else text
    if field is ClientField.NAME:
        name, _sep, surname = value.strip().partition(" ")
        return {"name": name, "surname": surname.strip()}
    return {field.value: value}


async def edit_value(message: Message, session: DbSession, state: FSMContext, staff: Staff,
                     lang: str, settings: Settings) -> None:
    data = await load(state, EditClientData)
    if data is None:
        await form_gone(message, state)
        return
    try:
        await update_client(session, staff, data.client_id, region=settings.default_region,
                            **client_changes(data.field, message.text or ""))
    except DomainError as exc:
        await message.answer(error_text(exc) + "\n" + _("Попробуйте ещё раз или /cancel."))
        return
    await state.clear()
    await show_client(message, session, data.client_id, lang, settings)


async def edit_wrong(message: Message) -> None:
    await message.answer(_("Нужен текст. Отмена — /cancel."))


def setup() -> Router:
    router = Router(name="clients")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.message.register(client_command, Command("client", "find"))
    router.message.register(clients_section, TextIs(CLIENTS))
    router.message.register(typed_search, StateFilter(None, ClientsSection.search), F.text,
                            NotCommand())
    router.callback_query.register(card, ClientCb.filter(F.action == ClientAction.CARD))
    router.callback_query.register(device_card, DeviceCb.filter(F.action == DeviceAction.CARD))
    router.callback_query.register(create_start,
                                   NewClientCb.filter(F.action == NewClientAction.CREATE))
    router.message.register(create_name, NewClient.name, F.text, NotCommand())
    router.callback_query.register(create_skip, NewClient.name,
                                   NewClientCb.filter(F.action == NewClientAction.SKIP))
    router.message.register(create_wrong, NewClient.name, NotCommand())
    router.callback_query.register(edit_start, ClientCb.filter(F.action == ClientAction.EDIT))
    router.message.register(edit_value, EditClient.value, F.text, NotCommand())
    router.message.register(edit_wrong, EditClient.value, NotCommand())
    # Last: "Пропустить" of a new client no longer being created.
    router.callback_query.register(stale_button, NewClientCb.filter())
    return router
