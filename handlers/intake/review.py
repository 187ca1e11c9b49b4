"""The review screen: photos sent straight to it, and its optional fields (condition, kit,
serial/IMEI, lock code, estimate, master, services), each on a screen of its own that returns
to the review."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from db.desk.device_guess import looks_like_serial
from db.desk.intake import serial_text, toggle_service
from db.desk.staff import find_staff, list_staff
from db.engine import DbSession
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, update
from handlers.intake.form import (
    REVIEWING,
    Intake,
    IntakeData,
    add_photo,
    kind_rows,
    refresh_review,
    show_review,
)
from handlers.money import intake_services
from handlers.ui import edit_or_send, form_gone, stale_button
from keyboards.callbacks import IntakeAction, IntakeCb, IntakeField
from keyboards.common import button, chunked, markup

CONDITIONS = [__("Без видимых повреждений"), __("Царапины"), __("Сколы"), __("Трещина экрана"),
              __("Следы влаги"), __("Не включается")]
KIT = [__("Только устройство"), __("Зарядное устройство"), __("Кабель"), __("Чехол"),
       __("Коробка"), __("SIM-карта"), __("Карта памяти")]
OPTIONS = {IntakeField.CONDITION: CONDITIONS, IntakeField.KIT: KIT}
# What "Очистить" leaves in a field (any field typed as text can be emptied).
EMPTY: dict[IntakeField, str | None] = {
    IntakeField.CONDITION: "", IntakeField.KIT: "", IntakeField.SERIAL: "",
    IntakeField.LOCK_CODE: "", IntakeField.ESTIMATE: None,
}


def back_button() -> InlineKeyboardButton:
    return button(_("← Готово"), IntakeCb(action=IntakeAction.BACK))


def toggled(current: str, option: str) -> str:
    """Condition and kit are comma-separated lists: tick an option on or off."""
    parts = [p.strip() for p in current.split(",") if p.strip()]
    if option in parts:
        parts.remove(option)
    else:
        parts.append(option)
    return ", ".join(parts)


def chosen_options(data: IntakeData, field: IntakeField) -> str:
    return data.condition if field is IntakeField.CONDITION else data.kit


# ---- photos ---------------------------------------------------------------------------------

async def review_photo(message: Message, session: DbSession, state: FSMContext,
                       lang: str) -> None:
    """Each photo (an album's too) goes into the form and the one review shows the count."""
    kept = await add_photo(message, state)
    if kept is not None:
        await refresh_review(message, session, state, kept[0], lang)


# ---- field screens --------------------------------------------------------------------------

async def show_field(query: CallbackQuery, session: DbSession, state: FSMContext,
                     data: IntakeData, field: IntakeField, lang: str) -> None:
    data = await update(state, data, editing=field)
    if field is IntakeField.MASTER:  # a tap, no typing: the review stays the current step
        await master_screen(query, session, data)
        return
    await state.set_state(Intake.edit)
    if field is IntakeField.KIND:
        await edit_or_send(query, _("Какое устройство? Выберите тип или напишите свой:"),
                           markup([*await kind_rows(session, data, lang), [back_button()]]))
    elif field in OPTIONS:
        await options_screen(query, data, field)
    elif field is IntakeField.SERVICES:
        await edit_or_send(query, *await intake_services.picker(session, data.services, lang))
    else:
        await typed_screen(query, field)


async def options_screen(query: CallbackQuery, data: IntakeData, field: IntakeField) -> None:
    chosen = {p.strip() for p in chosen_options(data, field).split(",")}
    buttons = [button(("✓ " if str(o) in chosen else "") + str(o),
                      IntakeCb(action=IntakeAction.OPTION, field=field, arg=i))
               for i, o in enumerate(OPTIONS[field])]
    await edit_or_send(query, _("Отметьте подходящее или напишите своё:"),
                       markup([*chunked(buttons, 2), [back_button()]]))


async def master_screen(query: CallbackQuery, session: DbSession, data: IntakeData) -> None:
    buttons = [button(("✓ " if p.id == data.master_id else "") + p.name,
                      IntakeCb(action=IntakeAction.MASTER, arg=p.id))
               for p in await list_staff(session, active_only=True)]
    await edit_or_send(query, _("Кто будет чинить?"),
                       markup([*chunked(buttons, 2), [back_button()]]))


async def typed_screen(query: CallbackQuery, field: IntakeField) -> None:
    prompt = {
        IntakeField.SERIAL: _("Серийный номер или IMEI:"),
        IntakeField.LOCK_CODE: _("Код блокировки (пароль, графический ключ словами):"),
        IntakeField.ESTIMATE: _("Предварительная оценка в ₴ (например 1 500):"),
    }[field]
    clear = button(_("Очистить"), IntakeCb(action=IntakeAction.CLEAR))
    await edit_or_send(query, prompt, markup([[clear, back_button()]]))


async def pick_field(query: CallbackQuery, callback_data: IntakeCb, session: DbSession,
                     state: FSMContext, lang: str) -> None:
    data = await load(state, IntakeData)
    if data is None or callback_data.field is None:
        await stale_button(query)
        return
    await show_field(query, session, state, data, callback_data.field, lang)
    await query.answer()


# ---- buttons on the field screens -----------------------------------------------------------

async def toggle_option(query: CallbackQuery, callback_data: IntakeCb, session: DbSession,
                        state: FSMContext, lang: str) -> None:
    field = callback_data.field
    options = OPTIONS.get(field) if field is not None else None
    data = await load(state, IntakeData)
    if field is None or options is None or data is None or callback_data.arg >= len(options):
        await stale_button(query)
        return
    value = toggled(chosen_options(data, field), str(options[callback_data.arg]))
    data = await update(state, data, **{field.value: value})
    await show_field(query, session, state, data, field, lang)
    await query.answer()


async def set_master(query: CallbackQuery, callback_data: IntakeCb, session: DbSession,
                     state: FSMContext, lang: str) -> None:
    master = await find_staff(session, callback_data.arg)
    data = await load(state, IntakeData)
    if master is None or not master.active or data is None:
        await stale_button(query)
        return
    data = await update(state, data, master_id=master.id)
    await show_review(query, session, state, data, lang, edit=True)
    await query.answer()


async def pick_service(query: CallbackQuery, callback_data: IntakeCb, session: DbSession,
                       state: FSMContext, lang: str) -> None:
    service_id = callback_data.arg
    data = await load(state, IntakeData)
    if data is None or (service_id not in data.services
                        and not await intake_services.chosen(session, [service_id])):
        await stale_button(query)
        return
    data = await update(state, data, services=toggle_service(data.services, service_id))
    if service_id in data.services:  # added: back to the review, one service is typical
        await show_review(query, session, state, data, lang, edit=True)
    else:
        await edit_or_send(query, *await intake_services.picker(session, data.services, lang))
    await query.answer()


async def back(query: CallbackQuery, session: DbSession, state: FSMContext, lang: str) -> None:
    data = await load(state, IntakeData)
    if data is None:
        await stale_button(query)
        return
    await show_review(query, session, state, data, lang, edit=True)
    await query.answer()


async def clear(query: CallbackQuery, session: DbSession, state: FSMContext, lang: str) -> None:
    data = await load(state, IntakeData)
    if data is None:
        await stale_button(query)
        return
    if data.editing in EMPTY:
        data = await update(state, data, **{data.editing.value: EMPTY[data.editing]})
    await show_review(query, session, state, data, lang, edit=True)
    await query.answer()


async def review_document(message: Message) -> None:
    await message.answer(_("При приёме сохраняются фото. Документы добавьте комментарием "
                           "к обращению после приёма."))


async def review_typed(message: Message, session: DbSession, state: FSMContext,
                       lang: str) -> None:
    """A serial number or IMEI typed on the review goes in its field without the button
    (db.desk.device_guess.looks_like_serial); other text gets the hint."""
    data = await load(state, IntakeData)
    if data is None:
        await form_gone(message, state)
        return
    if not looks_like_serial(message.text or ""):
        await review_other(message)
        return
    data = await update(state, data, serial=serial_text(message.text or ""))
    await show_review(message, session, state, data, lang, edit=False)


async def review_other(message: Message) -> None:
    await message.answer(_("Пришлите фото, серийный номер/IMEI или нажмите кнопку на карточке "
                           "приёма: «✅ Принять» сохранит обращение."))


def setup() -> Router:
    router = Router(name="intake.review")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.message.register(review_photo, Intake.review, F.photo)
    router.callback_query.register(pick_field, Intake.review,
                                   IntakeCb.filter(F.action == IntakeAction.FIELD))
    router.callback_query.register(toggle_option, REVIEWING,
                                   IntakeCb.filter(F.action == IntakeAction.OPTION))
    router.callback_query.register(set_master, REVIEWING,
                                   IntakeCb.filter(F.action == IntakeAction.MASTER))
    router.callback_query.register(pick_service, REVIEWING,
                                   IntakeCb.filter(F.action == IntakeAction.SERVICE))
    router.callback_query.register(back, REVIEWING, IntakeCb.filter(F.action == IntakeAction.BACK))
    router.callback_query.register(clear, REVIEWING,
                                   IntakeCb.filter(F.action == IntakeAction.CLEAR))
    router.message.register(review_document, Intake.review, F.document)
    router.message.register(review_typed, Intake.review, F.text, NotCommand())
    router.message.register(review_other, Intake.review, NotCommand())
    return router
