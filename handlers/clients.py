"""Clients: find by phone or name (also typed anywhere), the card, create and edit."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.formatting import h
from db.desk.clients import create_client, get_client, search_clients, update_client
from db.desk.models import Staff
from db.desk.phones import format_phone, looks_like_phone, parse_phone
from db.errors import DomainError, DuplicateClient, InvalidPhone
from handlers.client_view import client_name, render_client, render_device
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand, TextIs
from handlers.ui import callback_message, edit_or_send
from keyboards.callbacks import ClientCb, DeviceCb, NewClientCb
from keyboards.common import button, markup
from keyboards.menu import CLIENTS

EDIT_FIELDS = {1: "name", 2: "extra_phone", 3: "comment"}


class NewClient(StatesGroup):
    name = State()


class EditClient(StatesGroup):
    value = State()


class ClientsSection(StatesGroup):
    search = State()


def setup(settings: Settings) -> Router:
    router = Router(name="clients")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    region = settings.default_region

    async def show_client(target: Message | CallbackQuery, session: AsyncSession, client_id: int,
                          lang: str, *, with_types: bool = False, edit: bool = True) -> None:
        text, kb = await render_client(session, client_id, lang, settings.tz,
                                       with_types=with_types)
        if edit or isinstance(target, Message):
            await edit_or_send(target, text, kb)
        elif (message := callback_message(target)) is not None:
            await message.answer(text, reply_markup=kb)

    async def search(message: Message, session: AsyncSession, state: FSMContext, text: str,
                     lang: str) -> None:
        text = text.strip()
        if len(text) < 2:
            await message.answer(_("Введите телефон (или последние 4+ цифры), имя или фамилию."))
            return
        hits = await search_clients(session, text, region)
        if len(hits) == 1:
            await show_client(message, session, hits[0].client.id, lang)
            return
        if hits:
            rows = [[button(f"{client_name(hit.client)} · {format_phone(hit.client.phone)}",
                            ClientCb(action="card", id=hit.client.id))] for hit in hits]
            await message.answer(_("Найдено: {count}. Выберите клиента:").format(count=len(hits)),
                                 reply_markup=markup(rows))
            return
        if looks_like_phone(text):
            try:
                phone = parse_phone(text, region)
            except InvalidPhone as exc:
                await message.answer(_("Никого не нашли по «{text}».").format(text=h(text))
                                     + "\n" + error_text(exc))
                return
            await state.set_state(None)
            await state.update_data(new_phone=phone)
            kb = markup([[button(_("➕ Создать клиента"), NewClientCb(action="create"))]])
            await message.answer(
                _("Клиент с номером {phone} не найден. Создать?").format(
                    phone=format_phone(phone)), reply_markup=kb)
            return
        await message.answer(_("Никого не нашли по «{text}». Чтобы создать клиента, "
                               "введите его номер телефона.").format(text=h(text)))

    @router.message(Command("client", "find"))
    async def client_command(message: Message, command: CommandObject, session: AsyncSession,
                             state: FSMContext, lang: str) -> None:
        if not command.args:
            await state.set_state(ClientsSection.search)
            await message.answer(_("Введите телефон, имя или фамилию клиента."))
            return
        await search(message, session, state, command.args, lang)

    @router.message(TextIs(CLIENTS))
    async def clients_section(message: Message, state: FSMContext) -> None:
        await state.set_state(ClientsSection.search)
        await message.answer(_("👥 Введите телефон (можно последние 4+ цифры), имя или фамилию "
                               "клиента, серийный номер или #номер обращения."))

    @router.message(StateFilter(None, ClientsSection.search), F.text, NotCommand())
    async def typed_search(message: Message, session: AsyncSession, state: FSMContext,
                           lang: str) -> None:
        await search(message, session, state, message.text, lang)

    @router.callback_query(ClientCb.filter(F.action == "card"))
    async def card(query: CallbackQuery, callback_data: ClientCb, session: AsyncSession,
                   lang: str) -> None:
        await show_client(query, session, callback_data.id, lang)
        await query.answer()

    @router.callback_query(DeviceCb.filter(F.action == "card"))
    async def device_card(query: CallbackQuery, callback_data: DeviceCb, session: AsyncSession,
                          lang: str) -> None:
        text, kb, _device = await render_device(session, callback_data.id, lang, settings.tz)
        await edit_or_send(query, text, kb)
        await query.answer()

    # ---- create ---------------------------------------------------------------------
    @router.callback_query(NewClientCb.filter(F.action == "create"))
    async def create_start(query: CallbackQuery, state: FSMContext) -> None:
        data = await state.get_data()
        if not data.get("new_phone"):
            await query.answer(_("Введите номер телефона ещё раз."), show_alert=True)
            return
        await state.set_state(NewClient.name)
        kb = markup([[button(_("Пропустить"), NewClientCb(action="skip"))]])
        await edit_or_send(query, _("Новый клиент {phone}.\nИмя и фамилия? "
                                    "(например: Иван Петренко)").format(
            phone=format_phone(data["new_phone"])), kb)
        await query.answer()

    async def finish_create(target: Message | CallbackQuery, session: AsyncSession,
                            state: FSMContext, staff: Staff, lang: str, full_name: str) -> None:
        data = await state.get_data()
        name, _sep, surname = full_name.strip().partition(" ")
        try:
            client = await create_client(session, staff, phone=data["new_phone"], name=name,
                                         surname=surname.strip(), region=region)
        except DuplicateClient as exc:
            await state.clear()
            await show_client(target, session, exc.client_id, lang)
            return
        except DomainError as exc:
            reply = target if isinstance(target, Message) else callback_message(target)
            if reply is not None:
                await reply.answer(error_text(exc))
            return
        await state.clear()
        await show_client(target, session, client.id, lang, with_types=True, edit=False)

    @router.message(NewClient.name, F.text, NotCommand())
    async def create_name(message: Message, session: AsyncSession, state: FSMContext,
                          staff: Staff, lang: str) -> None:
        await finish_create(message, session, state, staff, lang, message.text)

    @router.callback_query(NewClient.name, NewClientCb.filter(F.action == "skip"))
    async def create_skip(query: CallbackQuery, session: AsyncSession, state: FSMContext,
                          staff: Staff, lang: str) -> None:
        await finish_create(query, session, state, staff, lang, "")
        await query.answer()

    @router.message(NewClient.name, NotCommand())
    async def create_wrong(message: Message) -> None:
        await message.answer(_("Напишите имя и фамилию текстом или нажмите «Пропустить». "
                               "Отмена — /cancel."))

    # ---- edit ---------------------------------------------------------------------------
    @router.callback_query(ClientCb.filter(F.action == "edit"))
    async def edit_start(query: CallbackQuery, callback_data: ClientCb, session: AsyncSession,
                         state: FSMContext) -> None:
        field = EDIT_FIELDS.get(callback_data.arg)
        client = await get_client(session, callback_data.id)
        if field is None:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        await state.set_state(EditClient.value)
        await state.set_data({"client_id": client.id, "field": field})
        prompt = {
            "name": _("Имя и фамилия клиента:"),
            "extra_phone": _("Дополнительный телефон (или «-», чтобы удалить):"),
            "comment": _("Комментарий о клиенте (или «-», чтобы удалить):"),
        }[field]
        if (message := callback_message(query)) is not None:
            await message.answer(prompt)
        await query.answer()

    @router.message(EditClient.value, F.text, NotCommand())
    async def edit_value(message: Message, session: AsyncSession, state: FSMContext,
                         staff: Staff, lang: str) -> None:
        data = await state.get_data()
        value = "" if message.text.strip() == "-" else message.text
        kwargs: dict[str, str] = {}
        if data["field"] == "name":
            name, _sep, surname = value.strip().partition(" ")
            kwargs = {"name": name, "surname": surname.strip()}
        else:
            kwargs = {data["field"]: value}
        try:
            await update_client(session, staff, data["client_id"], region=region, **kwargs)
        except DomainError as exc:
            await message.answer(error_text(exc) + "\n" + _("Попробуйте ещё раз или /cancel."))
            return
        await state.clear()
        await show_client(message, session, data["client_id"], lang)

    @router.message(EditClient.value, NotCommand())
    async def edit_wrong(message: Message) -> None:
        await message.answer(_("Нужен текст. Отмена — /cancel."))

    return router
