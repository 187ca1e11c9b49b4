"""The intake's questions before the review: device type → brand and model → defect; a repeat
visit of a known device asks only the defect."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import h
from db.desk.clients import find_device_type, get_client, get_device
from db.desk.intake import brand_and_model, defect_text, device_kind
from db.desk.models import Staff
from db.engine import DbSession
from db.errors import InvalidValue
from handlers.client_view import device_type_rows
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, save, update
from handlers.intake.form import Intake, IntakeData, show_review
from handlers.ui import edit_or_send, form_gone, stale_button
from keyboards.callbacks import (
    ClientAction,
    ClientCb,
    DeviceAction,
    DeviceCb,
    IntakeAction,
    IntakeCb,
)
from keyboards.common import button, markup


def model_question(kind: str) -> str:
    return _("{kind}: бренд и модель? Например: Apple iPhone 12").format(kind=h(kind))


async def new_device(query: CallbackQuery, callback_data: ClientCb, session: DbSession,
                     state: FSMContext, staff: Staff, lang: str) -> None:
    client = await get_client(session, callback_data.id)
    await state.set_state(Intake.kind)
    await save(state, IntakeData(client_id=client.id, master_id=staff.id))
    back = button(_("← Клиент"), ClientCb(action=ClientAction.CARD, id=client.id))
    await edit_or_send(query, _("Какое устройство принимаем? Или напишите свой тип."),
                       markup([*await device_type_rows(session, client.id, lang), [back]]))
    await query.answer()


async def pick_type(query: CallbackQuery, callback_data: IntakeCb, session: DbSession,
                    state: FSMContext, staff: Staff, lang: str) -> None:
    """Starts an intake from any state: the type buttons sit on the client card too."""
    device_type = await find_device_type(session, callback_data.arg)
    client = await get_client(session, callback_data.cid)
    if device_type is None:
        await stale_button(query)
        return
    kind = device_type.title(lang)
    await state.set_state(Intake.model)
    await save(state, IntakeData(client_id=client.id, master_id=staff.id, kind=kind))
    await edit_or_send(query, model_question(kind))
    await query.answer()


async def typed_kind(message: Message, state: FSMContext) -> None:
    data = await load(state, IntakeData)
    if data is None:
        await form_gone(message, state)
        return
    kind = device_kind(message.text or "")
    await update(state, data, kind=kind)
    await state.set_state(Intake.model)
    await message.answer(model_question(kind))


async def typed_model(message: Message, state: FSMContext) -> None:
    data = await load(state, IntakeData)
    if data is None:
        await form_gone(message, state)
        return
    try:
        brand, model = brand_and_model(message.text or "")
    except InvalidValue:
        await message.answer(_("Напишите бренд и модель одной строкой, до 190 символов."))
        return
    title = " ".join(p for p in (brand, model) if p)
    await update(state, data, brand=brand, model=model, device_title=f"{data.kind} {title}")
    await state.set_state(Intake.defect)
    await message.answer(_("Что случилось? Опишите неисправность со слов клиента."))


async def repeat_visit(query: CallbackQuery, callback_data: DeviceCb, session: DbSession,
                       state: FSMContext, staff: Staff) -> None:
    device = await get_device(session, callback_data.id)
    await state.set_state(Intake.defect)
    await save(state, IntakeData(client_id=device.client_id, device_id=device.id,
                                 master_id=staff.id, device_title=device.title,
                                 serial=device.serial or ""))
    await edit_or_send(query, _("Новое обращение: {device}.\nЧто случилось? Опишите "
                                "неисправность со слов клиента.").format(device=h(device.title)))
    await query.answer()


async def typed_defect(message: Message, session: DbSession, state: FSMContext,
                       lang: str) -> None:
    data = await load(state, IntakeData)
    if data is None:
        await form_gone(message, state)
        return
    try:
        defect = defect_text(message.text or "")
    except InvalidValue as exc:
        await message.answer(error_text(exc))
        return
    data = await update(state, data, defect=defect)
    await show_review(message, session, state, data, lang, edit=False)


async def wrong_kind(message: Message) -> None:
    await message.answer(_("Выберите тип кнопкой или напишите его текстом. Отмена — /cancel."))


async def wrong_model(message: Message) -> None:
    await message.answer(_("Напишите бренд и модель текстом. Отмена — /cancel."))


async def wrong_defect(message: Message) -> None:
    await message.answer(_("Опишите неисправность текстом — это обязательное поле. "
                           "Отмена — /cancel."))


def setup() -> Router:
    router = Router(name="intake.start")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(new_device, ClientCb.filter(F.action == ClientAction.NEW))
    router.callback_query.register(pick_type, IntakeCb.filter(F.action == IntakeAction.TYPE))
    router.callback_query.register(repeat_visit, DeviceCb.filter(F.action == DeviceAction.AGAIN))
    router.message.register(typed_kind, Intake.kind, F.text, NotCommand())
    router.message.register(typed_model, Intake.model, F.text, NotCommand())
    router.message.register(typed_defect, Intake.defect, F.text, NotCommand())
    router.message.register(wrong_kind, Intake.kind, NotCommand())
    router.message.register(wrong_model, Intake.model, NotCommand())
    router.message.register(wrong_defect, Intake.defect, NotCommand())
    return router
