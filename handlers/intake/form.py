"""The intake form: its steps, what it keeps, and the review screen every step returns to."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel, Field

from bot.views.formatting import h, money
from db.desk.clients import get_client, list_device_types
from db.desk.intake import PHOTOS_MAX, check_photos
from db.desk.staff import find_staff
from db.engine import DbSession
from db.errors import InvalidValue
from handlers.forms import FormData, load, update
from handlers.money import intake_services
from handlers.ui import callback_message, edit_or_send, form_gone
from keyboards.callbacks import IntakeAction, IntakeCb, IntakeField
from keyboards.common import button, chunked, markup


class Intake(StatesGroup):
    kind = State()
    model = State()
    defect = State()
    review = State()
    edit = State()  # one field's screen, opened from the review


# The review screen and its field screens: where the review's buttons are current.
REVIEWING = StateFilter(Intake.review, Intake.edit)


class IntakePhoto(BaseModel):
    file_id: str
    file_unique_id: str
    size: int | None = None
    caption: str = ""


class IntakeData(FormData):
    """A new device names `kind`, `brand`, `model`; a repeat visit names `device_id`."""

    client_id: int
    master_id: int | None = None
    device_id: int | None = None
    kind: str = ""
    brand: str = ""
    model: str = ""
    device_title: str = ""
    defect: str = ""
    condition: str = ""
    kit: str = ""
    serial: str = ""
    lock_code: str = ""
    estimate: int | None = None
    services: list[int] = Field(default_factory=list)
    photos: list[IntakePhoto] = Field(default_factory=list)
    kind_guessed: bool = False  # the type was guessed from the model (one tap changes it)
    editing: IntakeField | None = None  # whose screen is open (typed text goes there)
    review_id: int | None = None  # the review message, edited as photos arrive
    album: str = ""  # media_group_id of the latest photo: an album is answered once

    def title(self) -> str:
        """What the review calls the device: a known one by its title, a new one by type,
        brand and model."""
        if self.device_id is not None:
            return self.device_title
        return " ".join(p for p in (self.kind, self.brand, self.model) if p)


async def kind_rows(session: DbSession, data: IntakeData, lang: str
                    ) -> list[list[InlineKeyboardButton]]:
    """The device types as one-tap changes of the intake's type (the current one ticked)."""
    return chunked([button(("✓ " if t.title(lang) == data.kind else "") + t.title(lang),
                           IntakeCb(action=IntakeAction.KIND, arg=t.id))
                    for t in await list_device_types(session)], 3)


def field_button(text: str, field: IntakeField) -> InlineKeyboardButton:
    return button(text, IntakeCb(action=IntakeAction.FIELD, field=field))


def review_keyboard(data: IntakeData) -> InlineKeyboardMarkup:
    kind = ([[field_button(_("🔁 Тип: {kind}").format(kind=data.kind)[:60], IntakeField.KIND)]]
            if data.device_id is None else [])
    return markup([
        *kind,
        [field_button(_("📋 Состояние"), IntakeField.CONDITION),
         field_button(_("🎒 Комплект"), IntakeField.KIT)],
        [field_button(_("🔢 Серийный/IMEI"), IntakeField.SERIAL),
         field_button(_("🔑 Код"), IntakeField.LOCK_CODE)],
        [field_button(_("💰 Оценка"), IntakeField.ESTIMATE),
         field_button(_("👨‍🔧 Мастер"), IntakeField.MASTER)],
        [field_button(_("🧾 Услуги"), IntakeField.SERVICES)],
        [button(_("✅ Принять"), IntakeCb(action=IntakeAction.OK))],
        [button(_("✖️ Отмена"), IntakeCb(action=IntakeAction.CANCEL))],
    ])


async def review_text(session: DbSession, data: IntakeData, lang: str) -> str:
    client = await get_client(session, data.client_id)
    master = await find_staff(session, data.master_id) if data.master_id else None
    dash = "—"
    estimate = money(data.estimate, lang) if data.estimate else dash
    return "\n".join([
        _("📥 <b>Приём: {device}</b>").format(device=h(data.title())),
        f"👤 {h(client.full_name or client.phone)}",
        _("🔧 Неисправность: {text}").format(text=h(data.defect)),
        _("📋 Состояние: {text}").format(text=h(data.condition or dash)),
        _("🎒 Комплект: {text}").format(text=h(data.kit or dash)),
        _("🔢 Серийный/IMEI: {text}").format(text=h(data.serial or dash)),
        _("🔑 Код блокировки: {text}").format(text=h(data.lock_code or dash)),
        _("💰 Оценка: {amount}").format(amount=estimate),
        _("👨‍🔧 Мастер: {master}").format(master=h(master.name) if master else dash),
        await intake_services.review_line(session, data.services, lang),
        _("📷 Фото: {count}").format(count=len(data.photos)),
        "",
        _("Пришлите фото устройства (можно альбомом) и серийный номер/IMEI прямо сюда. "
          "Остальное — по кнопкам, если нужно."),
    ])


async def show_review(target: Message | CallbackQuery, session: DbSession, state: FSMContext,
                      data: IntakeData, lang: str, *, edit: bool) -> None:
    """The review in place of the tapped message (`edit`), or as a new message at the bottom
    of the chat whose older copy loses its buttons (only one review is live)."""
    text = await review_text(session, data, lang)
    await state.set_state(Intake.review)
    if edit and isinstance(target, CallbackQuery):
        sent = await edit_or_send(target, text, review_keyboard(data))
    else:
        sent = await send_below(target, text, review_keyboard(data), data.review_id)
    if sent is not None:
        await update(state, data, review_id=sent.message_id)


async def send_below(target: Message | CallbackQuery, text: str, kb: InlineKeyboardMarkup,
                     old_id: int | None) -> Message | None:
    message = target if isinstance(target, Message) else callback_message(target)
    if message is None:
        return None
    sent = await message.answer(text, reply_markup=kb)
    if old_id and message.bot is not None:
        with contextlib.suppress(TelegramBadRequest):
            await message.bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=old_id, reply_markup=None)
    return sent


async def refresh_review(message: Message, session: DbSession, state: FSMContext,
                         data: IntakeData, lang: str) -> None:
    """The live review updated where it is (a photo arrived); sent anew if it cannot be."""
    if data.review_id and message.bot is not None:
        try:
            await message.bot.edit_message_text(
                await review_text(session, data, lang), chat_id=message.chat.id,
                message_id=data.review_id, reply_markup=review_keyboard(data))
            return
        except TelegramBadRequest:
            pass
    await show_review(message, session, state, data, lang, edit=False)


async def add_photo(message: Message, state: FSMContext) -> tuple[IntakeData, bool] | None:
    """The message's photo kept in the form, and whether it begins something the person did
    (a single photo or an album's first; the album's others come right after it). None: no
    form, or the limit reached (said)."""
    data = await load(state, IntakeData)
    if data is None:
        await form_gone(message, state)
        return None
    try:
        check_photos(len(data.photos) + 1)
    except InvalidValue:
        await message.answer(_("Не больше {count} фото при приёме.").format(count=PHOTOS_MAX))
        return None
    first = not message.media_group_id or message.media_group_id != data.album
    photo = (message.photo or [])[-1]
    data = await update(state, data, album=message.media_group_id or "", photos=[
        *data.photos, IntakePhoto(file_id=photo.file_id, file_unique_id=photo.file_unique_id,
                                  size=photo.file_size, caption=message.caption or "")])
    return data, first
