"""The intake's questions before the review: device type → brand and model → defect; a repeat
visit of a known device asks only the defect."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.views.formatting import h
from db.desk.clients import find_device_type, get_client, get_device, list_device_types
from db.desk.device_guess import split_model_and_defect, typed_device_type
from db.desk.intake import brand_and_model, defect_text, device_kind
from db.desk.models import Staff
from db.desk.phones import digits, looks_like_phone
from db.engine import DbSession
from db.errors import InvalidValue
from handlers.client_view import device_type_rows, kind_prompt
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, save, update
from handlers.intake.form import Intake, IntakeData, add_photo, kind_rows, show_review
from handlers.ui import edit_and_answer, edit_or_send, form_gone, stale_button
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
    return _("{kind}: бренд и модель? Например: Apple iPhone 12\n"
             "Можно сразу с неисправностью через запятую: iPhone 12, не заряжается").format(
        kind=h(kind))


PHONE_DIGITS = 9  # a whole phone number, not a model's digits (Nokia 3310)


def defect_question(data: IntakeData) -> str:
    question = _("Что случилось? Опишите неисправность со слов клиента.")
    if not data.kind_guessed:
        return question
    return _("{device} — тип «{kind}», другой — кнопкой.").format(
        device=h(data.title()), kind=h(data.kind)) + "\n" + question


async def begin(session: DbSession, state: FSMContext, client_id: int, staff: Staff) -> None:
    """An intake for the client at its first question (the type, or the model straight away)."""
    await state.set_state(Intake.kind)
    await save(state, IntakeData(client_id=client_id, master_id=staff.id))


async def new_device(query: CallbackQuery, callback_data: ClientCb, session: DbSession,
                     state: FSMContext, staff: Staff, lang: str) -> None:
    client = await get_client(session, callback_data.id)
    await begin(session, state, client.id, staff)
    back = button(_("← Клиент"), ClientCb(action=ClientAction.CARD, id=client.id))
    await edit_and_answer(query, kind_prompt(),
                          markup([*await device_type_rows(session, client.id, lang), [back]]))


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
    await edit_and_answer(query, model_question(kind))


async def typed_kind(message: Message, session: DbSession, state: FSMContext,
                     lang: str) -> None:
    """A type's name picks it; a model whose type the rules know goes on as the model (with
    the defect after a comma); anything else is a type of the shop's own."""
    data = await load(state, IntakeData)
    if data is None:
        await form_gone(message, state)
        return
    text = message.text or ""
    if looks_like_phone(text) and len(digits(text)) >= PHONE_DIGITS:
        await message.answer(_("Это похоже на телефон, а идёт приём устройства: напишите тип или "
                               "бренд и модель. Найти другого клиента — /cancel, затем номер."))
        return
    types = await list_device_types(session)
    named = next((t for t in types if text.strip().casefold()
                  in (t.name_ru.casefold(), t.name_uk.casefold())), None)
    code = typed_device_type(text) if named is None else None
    guessed = next((t for t in types if t.code == code), None)
    if guessed is not None:
        data = await update(state, data, kind=guessed.title(lang), kind_guessed=True)
        await take_model(message, session, state, data, text, lang)
        return
    kind = named.title(lang) if named is not None else device_kind(text)
    await update(state, data, kind=kind)
    await state.set_state(Intake.model)
    await message.answer(model_question(kind))


async def typed_model(message: Message, session: DbSession, state: FSMContext,
                      lang: str) -> None:
    data = await load(state, IntakeData)
    if data is None:
        await form_gone(message, state)
        return
    await take_model(message, session, state, data, message.text or "", lang)


async def take_model(message: Message, session: DbSession, state: FSMContext, data: IntakeData,
                     text: str, lang: str) -> None:
    """Brand and model, and the defect too when it follows a comma: then the review."""
    line, defect = split_model_and_defect(text)
    try:
        brand, model = brand_and_model(line)
        defect = defect_text(defect) if defect else ""
    except InvalidValue as exc:
        await message.answer(_("Напишите бренд и модель одной строкой, до 190 символов.")
                             if exc.field == "model" else error_text(exc))
        return
    data = await update(state, data, brand=brand, model=model, defect=defect)
    if defect:
        await show_review(message, session, state, data, lang, edit=False)
        return
    await state.set_state(Intake.defect)
    rows = await kind_rows(session, data, lang) if data.kind_guessed else []
    await message.answer(defect_question(data), reply_markup=markup(rows) if rows else None)


async def change_kind(query: CallbackQuery, callback_data: IntakeCb, session: DbSession,
                      state: FSMContext, lang: str) -> None:
    """One tap on another type: the guess is corrected where the intake is (its defect
    question or the review)."""
    device_type = await find_device_type(session, callback_data.arg)
    data = await load(state, IntakeData)
    if device_type is None or data is None or data.device_id is not None:
        await stale_button(query)
        return
    data = await update(state, data, kind=device_type.title(lang))
    if await state.get_state() == Intake.defect.state:
        await edit_or_send(query, defect_question(data),
                           markup(await kind_rows(session, data, lang)))
    else:
        await show_review(query, session, state, data, lang, edit=True)
    await query.answer()


async def repeat_visit(query: CallbackQuery, callback_data: DeviceCb, session: DbSession,
                       state: FSMContext, staff: Staff) -> None:
    device = await get_device(session, callback_data.id)
    await state.set_state(Intake.defect)
    await save(state, IntakeData(client_id=device.client_id, device_id=device.id,
                                 master_id=staff.id, device_title=device.title,
                                 serial=device.serial or ""))
    await edit_and_answer(query, _("Новое обращение: {device}.\nЧто случилось? Опишите "
                                   "неисправность со слов клиента.").format(device=h(device.title)))


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


EXPECTED = {
    Intake.kind.state: __("тип устройства или бренд и модель"),
    Intake.model.state: __("бренд и модель"),
    Intake.defect.state: __("описание неисправности"),
    Intake.review.state: __("фото, серийный номер или кнопку на карточке приёма"),
    Intake.edit.state: __("значение поля"),
}


async def number_in_form(message: Message, state: FSMContext) -> None:
    """"#N" typed during an intake is not data (a model "#2"): the form stays, the desk hears
    what is expected and how to open the ticket without leaving it (/ticket N works in any
    form)."""
    expected = EXPECTED.get(await state.get_state() or "", "")
    number = int((message.text or "").lstrip("#").strip())
    await message.answer(_("Идёт приём устройства: жду {expected}. Открыть обращение [{number}], "
                           "не прерывая приём: /ticket {number}").format(
        expected=expected, number=number))


async def defect_photo(message: Message, state: FSMContext) -> None:
    """Photos sent before the defect is typed are kept for the review; an album is answered
    once (its first photo), as it is one thing the person did."""
    kept = await add_photo(message, state)
    if kept is not None and kept[1]:
        await message.answer(_("📷 Фото добавлены к приёму. Что случилось? Опишите "
                               "неисправность со слов клиента."))


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
    router.callback_query.register(change_kind,
                                   StateFilter(Intake.defect, Intake.review, Intake.edit),
                                   IntakeCb.filter(F.action == IntakeAction.KIND))
    router.message.register(number_in_form, StateFilter(Intake), F.text.regexp(r"^#\s*\d{1,9}$"))
    router.callback_query.register(repeat_visit, DeviceCb.filter(F.action == DeviceAction.AGAIN))
    router.message.register(typed_kind, Intake.kind, F.text, NotCommand())
    router.message.register(typed_model, Intake.model, F.text, NotCommand())
    router.message.register(typed_defect, Intake.defect, F.text, NotCommand())
    router.message.register(defect_photo, Intake.defect, F.photo)
    router.message.register(wrong_kind, Intake.kind, NotCommand())
    router.message.register(wrong_model, Intake.model, NotCommand())
    router.message.register(wrong_defect, Intake.defect, NotCommand())
    return router
