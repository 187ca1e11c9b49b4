"""Device intake, built for speed: type → brand/model → defect → one review screen.

Everything optional (condition, kit, serial/IMEI, lock code, photos, estimate, master) lives on
the review screen, so a typical intake of a returning client is 6–8 interactions.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.usecases.intake import DeviceIntake, IntakePhoto, ServicesChanged, accept_device
from bot.usecases.notices import NoticeTexts
from bot.views.formatting import h, money
from db.desk.clients import get_client, get_device, list_device_types
from db.desk.models import DeviceType, Staff
from db.desk.staff import list_staff
from db.desk.tickets import (
    TEXT_MAX,
    NewDevice,
    TicketDraft,
)
from db.errors import DomainError
from db.money.amounts import parse_amount
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand
from handlers.money import intake_services
from handlers.ticket_card import send_ticket_card
from handlers.ui import callback_message, edit_or_send
from keyboards.callbacks import ClientCb, DeviceCb, IntakeCb
from keyboards.common import button, chunked, markup

CONDITIONS = [__("Без видимых повреждений"), __("Царапины"), __("Сколы"), __("Трещина экрана"),
              __("Следы влаги"), __("Не включается")]
KIT = [__("Только устройство"), __("Зарядное устройство"), __("Кабель"), __("Чехол"),
       __("Коробка"), __("SIM-карта"), __("Карта памяти")]
FIELDS = {1: "condition", 2: "kit", 3: "serial", 4: "lock_code", 5: "estimate", 6: "master",
          7: "services"}
TYPED_FIELDS = {"condition", "kit", "serial", "lock_code", "estimate"}
MAX_PHOTOS = 30


class Intake(StatesGroup):
    kind = State()
    model = State()
    defect = State()
    review = State()
    edit = State()


def _toggle(current: str, option: str) -> str:
    parts = [p.strip() for p in current.split(",") if p.strip()]
    if option in parts:
        parts.remove(option)
    else:
        parts.append(option)
    return ", ".join(parts)


def setup(settings: Settings) -> Router:
    router = Router(name="intake")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())

    async def review_view(session: AsyncSession, data: dict[str, Any],
                          lang: str) -> tuple[str, InlineKeyboardMarkup]:
        client = await get_client(session, data["client_id"])
        master = await session.get(Staff, data["master_id"]) if data.get("master_id") else None
        dash = "—"
        estimate = data.get("estimate")
        lines = [
            _("📥 <b>Приём: {device}</b>").format(device=h(data["device_title"])),
            f"👤 {h(client.full_name or client.phone)}",
            _("🔧 Неисправность: {text}").format(text=h(data["defect"])),
            _("📋 Состояние: {text}").format(text=h(data.get("condition") or dash)),
            _("🎒 Комплект: {text}").format(text=h(data.get("kit") or dash)),
            _("🔢 Серийный/IMEI: {text}").format(text=h(data.get("serial") or dash)),
            _("🔑 Код блокировки: {text}").format(text=h(data.get("lock_code") or dash)),
            _("💰 Оценка: {amount}").format(amount=money(estimate, lang) if estimate else dash),
            _("👨‍🔧 Мастер: {master}").format(master=h(master.name) if master else dash),
            await intake_services.review_line(session, data.get("services", []), lang),
            _("📷 Фото: {count}").format(count=len(data.get("photos", []))),
            "",
            _("Пришлите фото устройства прямо сюда. Остальное — по кнопкам, если нужно."),
        ]
        rows = [
            [button(_("📋 Состояние"), IntakeCb(action="field", arg=1)),
             button(_("🎒 Комплект"), IntakeCb(action="field", arg=2))],
            [button(_("🔢 Серийный/IMEI"), IntakeCb(action="field", arg=3)),
             button(_("🔑 Код"), IntakeCb(action="field", arg=4))],
            [button(_("💰 Оценка"), IntakeCb(action="field", arg=5)),
             button(_("👨‍🔧 Мастер"), IntakeCb(action="field", arg=6))],
            [button(_("🧾 Услуги"), IntakeCb(action="field", arg=7))],
            [button(_("✅ Принять"), IntakeCb(action="ok"))],
            [button(_("✖️ Отмена"), IntakeCb(action="cancel"))],
        ]
        return "\n".join(lines), markup(rows)

    async def show_review(target: Message | CallbackQuery, session: AsyncSession,
                          state: FSMContext, lang: str, *, edit: bool) -> None:
        data = await state.get_data()
        text, kb = await review_view(session, data, lang)
        await state.set_state(Intake.review)
        if edit and isinstance(target, CallbackQuery):
            sent = await edit_or_send(target, text, kb)
        else:
            message = target if isinstance(target, Message) else callback_message(target)
            if message is None:
                return
            old = data.get("review_id")
            sent = await message.answer(text, reply_markup=kb)
            if old:
                try:
                    await message.bot.edit_message_reply_markup(
                        chat_id=message.chat.id, message_id=old, reply_markup=None)
                except TelegramBadRequest:
                    pass
        if sent is not None:
            await state.update_data(review_id=sent.message_id)

    # ---- start --------------------------------------------------------------------------
    async def type_keyboard(session: AsyncSession, client_id: int, lang: str
                            ) -> InlineKeyboardMarkup:
        types = [button(t.title(lang), IntakeCb(action="type", arg=t.id, cid=client_id))
                 for t in await list_device_types(session)]
        return markup([*chunked(types, 3),
                       [button(_("← Клиент"), ClientCb(action="card", id=client_id))]])

    @router.callback_query(ClientCb.filter(F.action == "new"))
    async def new_device(query: CallbackQuery, callback_data: ClientCb, session: AsyncSession,
                         state: FSMContext, staff: Staff, lang: str) -> None:
        client = await get_client(session, callback_data.id)
        await state.set_state(Intake.kind)
        await state.set_data({"client_id": client.id, "master_id": staff.id})
        await edit_or_send(query, _("Какое устройство принимаем? Или напишите свой тип."),
                           await type_keyboard(session, client.id, lang))
        await query.answer()

    @router.callback_query(IntakeCb.filter(F.action == "type"))
    async def pick_type(query: CallbackQuery, callback_data: IntakeCb, session: AsyncSession,
                        state: FSMContext, staff: Staff, lang: str) -> None:
        device_type = await session.get(DeviceType, callback_data.arg)
        client = await get_client(session, callback_data.cid)
        if device_type is None:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        await state.set_state(Intake.model)
        await state.set_data({"client_id": client.id, "master_id": staff.id,
                              "kind": device_type.title(lang)})
        await edit_or_send(query, _("{kind}: бренд и модель? Например: Apple iPhone 12").format(
            kind=h(device_type.title(lang))))
        await query.answer()

    @router.message(Intake.kind, F.text, NotCommand())
    async def typed_kind(message: Message, state: FSMContext) -> None:
        kind = " ".join(message.text.split())[:64]
        await state.update_data(kind=kind)
        await state.set_state(Intake.model)
        await message.answer(_("{kind}: бренд и модель? Например: Apple iPhone 12").format(
            kind=h(kind)))

    @router.message(Intake.model, F.text, NotCommand())
    async def typed_model(message: Message, state: FSMContext) -> None:
        words = message.text.split()
        if not words or len(message.text) > 190:
            await message.answer(_("Напишите бренд и модель одной строкой, до 190 символов."))
            return
        data = await state.get_data()
        brand, model = words[0][:64], " ".join(words[1:])[:128]
        title = " ".join(p for p in (brand, model) if p)
        await state.update_data(brand=brand, model=model, device_title=f"{data['kind']} {title}")
        await state.set_state(Intake.defect)
        await message.answer(_("Что случилось? Опишите неисправность со слов клиента."))

    @router.callback_query(DeviceCb.filter(F.action == "again"))
    async def repeat_visit(query: CallbackQuery, callback_data: DeviceCb, session: AsyncSession,
                           state: FSMContext, staff: Staff) -> None:
        device = await get_device(session, callback_data.id)
        await state.set_state(Intake.defect)
        await state.set_data({"client_id": device.client_id, "device_id": device.id,
                              "master_id": staff.id, "device_title": device.title,
                              "serial": device.serial or ""})
        await edit_or_send(query, _("Новое обращение: {device}.\nЧто случилось? Опишите "
                                    "неисправность со слов клиента.").format(
            device=h(device.title)))
        await query.answer()

    @router.message(Intake.defect, F.text, NotCommand())
    async def typed_defect(message: Message, session: AsyncSession, state: FSMContext,
                           lang: str) -> None:
        defect = message.text.strip()
        if len(defect) > TEXT_MAX:
            await message.answer(_("Слишком длинный текст: не больше {limit} символов.").format(
                limit=TEXT_MAX))
            return
        await state.update_data(defect=defect)
        await show_review(message, session, state, lang, edit=False)

    @router.message(Intake.kind, NotCommand())
    async def wrong_kind(message: Message) -> None:
        await message.answer(_("Выберите тип кнопкой или напишите его текстом. Отмена — /cancel."))

    @router.message(Intake.model, NotCommand())
    async def wrong_model(message: Message) -> None:
        await message.answer(_("Напишите бренд и модель текстом. Отмена — /cancel."))

    @router.message(Intake.defect, NotCommand())
    async def wrong_defect(message: Message) -> None:
        await message.answer(_("Опишите неисправность текстом — это обязательное поле. "
                               "Отмена — /cancel."))

    # ---- review: photos and fields --------------------------------------------------------
    @router.message(Intake.review, F.photo)
    async def review_photo(message: Message, session: AsyncSession, state: FSMContext,
                           lang: str) -> None:
        data = await state.get_data()
        photos = data.get("photos", [])
        if len(photos) >= MAX_PHOTOS:
            await message.answer(_("Не больше {count} фото при приёме.").format(count=MAX_PHOTOS))
            return
        photo = message.photo[-1]
        photos.append({"file_id": photo.file_id, "file_unique_id": photo.file_unique_id,
                       "size": photo.file_size, "caption": message.caption or ""})
        await state.update_data(photos=photos)
        text, kb = await review_view(session, await state.get_data(), lang)
        if data.get("review_id"):
            try:
                await message.bot.edit_message_text(text, chat_id=message.chat.id,
                                                    message_id=data["review_id"], reply_markup=kb)
                return
            except TelegramBadRequest:
                pass
        await show_review(message, session, state, lang, edit=False)

    @router.callback_query(Intake.review, IntakeCb.filter(F.action == "field"))
    async def pick_field(query: CallbackQuery, callback_data: IntakeCb, session: AsyncSession,
                         state: FSMContext, lang: str) -> None:
        field = FIELDS.get(callback_data.arg)
        if field is None:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        data = await state.get_data()
        await state.update_data(field=field)
        back = [button(_("← Готово"), IntakeCb(action="back"))]
        if field in ("condition", "kit"):
            options, current = (CONDITIONS, data.get("condition", "")) if field == "condition" \
                else (KIT, data.get("kit", ""))
            chosen = {p.strip() for p in current.split(",")}
            action = "cond" if field == "condition" else "kit"
            buttons = [button(("✓ " if str(o) in chosen else "") + str(o),
                              IntakeCb(action=action, arg=i)) for i, o in enumerate(options)]
            await state.set_state(Intake.edit)
            prompt = _("Отметьте подходящее или напишите своё:")
            await edit_or_send(query, prompt, markup([*chunked(buttons, 2), back]))
        elif field == "services":
            await state.set_state(Intake.edit)
            await edit_or_send(query, *await intake_services.picker(
                session, data.get("services", []), lang))
        elif field == "master":
            people = await list_staff(session, active_only=True)
            buttons = [button(("✓ " if p.id == data.get("master_id") else "") + p.name,
                              IntakeCb(action="master", arg=p.id)) for p in people]
            await edit_or_send(query, _("Кто будет чинить?"), markup([*chunked(buttons, 2), back]))
        else:
            await state.set_state(Intake.edit)
            prompt = {
                "serial": _("Серийный номер или IMEI:"),
                "lock_code": _("Код блокировки (пароль, графический ключ словами):"),
                "estimate": _("Предварительная оценка в ₴ (например 1 500):"),
            }[field]
            await edit_or_send(query, prompt, markup([
                [button(_("Очистить"), IntakeCb(action="clear")), *back]]))
        await query.answer()

    @router.callback_query(IntakeCb.filter(F.action.in_({"cond", "kit"})))
    async def toggle_option(query: CallbackQuery, callback_data: IntakeCb, session: AsyncSession,
                            state: FSMContext, lang: str) -> None:
        field, options = ("condition", CONDITIONS) if callback_data.action == "cond" \
            else ("kit", KIT)
        if not 0 <= callback_data.arg < len(options) or await state.get_state() is None:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        data = await state.get_data()
        option = str(options[callback_data.arg])
        await state.update_data({field: _toggle(data.get(field, ""), option)})
        await pick_field(query, IntakeCb(action="field", arg=1 if field == "condition" else 2),
                         session, state, lang)

    @router.callback_query(IntakeCb.filter(F.action == "master"))
    async def set_master(query: CallbackQuery, callback_data: IntakeCb, session: AsyncSession,
                         state: FSMContext, lang: str) -> None:
        master = await session.get(Staff, callback_data.arg)
        if master is None or not master.active or await state.get_state() is None:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        await state.update_data(master_id=master.id)
        await show_review(query, session, state, lang, edit=True)
        await query.answer()

    @router.callback_query(IntakeCb.filter(F.action == "svc"))
    async def toggle_service(query: CallbackQuery, callback_data: IntakeCb,
                             session: AsyncSession, state: FSMContext, lang: str) -> None:
        data = await state.get_data()
        if "defect" not in data:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        current = data.get("services", [])
        if callback_data.arg not in current and not await intake_services.chosen(
                session, [callback_data.arg]):
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        picked = intake_services.toggle(current, callback_data.arg)
        await state.update_data(services=picked)
        if callback_data.arg in picked:  # added: back to the review, one service is typical
            await show_review(query, session, state, lang, edit=True)
        else:
            await edit_or_send(query, *await intake_services.picker(session, picked, lang))
        await query.answer()

    @router.callback_query(IntakeCb.filter(F.action.in_({"back", "clear"})))
    async def back(query: CallbackQuery, callback_data: IntakeCb, session: AsyncSession,
                   state: FSMContext, lang: str) -> None:
        data = await state.get_data()
        if "defect" not in data:
            await query.answer(_("Кнопка устарела."), show_alert=True)
            return
        if callback_data.action == "clear" and data.get("field") in TYPED_FIELDS:
            await state.update_data({data["field"]: None if data["field"] == "estimate" else ""})
        await show_review(query, session, state, lang, edit=True)
        await query.answer()

    @router.message(Intake.edit, F.text, NotCommand())
    async def typed_field(message: Message, session: AsyncSession, state: FSMContext,
                          lang: str) -> None:
        data = await state.get_data()
        field, text = data.get("field"), message.text.strip()
        if field == "estimate":
            try:
                value: object = parse_amount(text)
            except DomainError as exc:
                await message.answer(error_text(exc))
                return
        elif field in ("serial", "lock_code"):
            if len(text) > 64:
                await message.answer(_("Не длиннее 64 символов."))
                return
            value = text
        elif field in ("condition", "kit"):
            value = text[:500]
        elif field == "services":
            exact, found_text, kb = await intake_services.search(session, text, lang)
            if exact is None:
                await message.answer(found_text, reply_markup=kb)
                return
            value = intake_services.toggle(
                [i for i in data.get("services", []) if i != exact.id], exact.id)
        else:
            return
        await state.update_data({field: value})
        await show_review(message, session, state, lang, edit=False)

    @router.message(Intake.edit, NotCommand())
    async def wrong_field(message: Message) -> None:
        await message.answer(_("Нужен текст или кнопка. Отмена — /cancel."))

    @router.message(Intake.review, F.document)
    async def review_document(message: Message) -> None:
        await message.answer(_("При приёме сохраняются фото. Документы добавьте комментарием "
                               "к обращению после приёма."))

    @router.message(Intake.review, NotCommand())
    async def review_other(message: Message) -> None:
        await message.answer(_("Пришлите фото или нажмите кнопку на карточке приёма: "
                               "«✅ Принять» сохранит обращение."))

    # ---- finish -------------------------------------------------------------------------
    @router.callback_query(Intake.review, IntakeCb.filter(F.action == "ok"))
    async def accept(query: CallbackQuery, session: AsyncSession, state: FSMContext,
                     staff: Staff, lang: str, notices: NoticeTexts) -> None:
        data = await state.get_data()
        try:
            ticket = await accept_device(session, staff, _intake_of(data, settings), notices)
        except ServicesChanged as exc:
            await state.update_data(services=exc.available)
            await query.answer(_("Часть услуг убрали из прайс-листа — проверьте список услуг."),
                               show_alert=True)
            await show_review(query, session, state, lang, edit=True)
            return
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await state.clear()
        await edit_or_send(query, _("✅ Принято: обращение [{number}].").format(
            number=ticket.number))
        await send_ticket_card(query, session, ticket.id, lang, settings, edit=False)
        await query.answer()

    @router.callback_query(IntakeCb.filter(F.action == "cancel"))
    async def cancel(query: CallbackQuery, state: FSMContext) -> None:
        await state.clear()
        await edit_or_send(query, _("Приём отменён."))
        await query.answer()

    return router


def _intake_of(data: dict[str, Any], settings: Settings) -> DeviceIntake:
    draft = TicketDraft(
        defect=data["defect"], condition=data.get("condition") or "",
        kit=data.get("kit") or "", lock_code=data.get("lock_code") or "",
        estimate=data.get("estimate"), master_id=data.get("master_id"),
        warranty_days=settings.warranty_days,
    )
    device = None if data.get("device_id") else NewDevice(
        kind=data["kind"], brand=data.get("brand", ""), model=data.get("model", ""),
        serial=data.get("serial") or None)
    photos = [IntakePhoto(file_id=p["file_id"], file_unique_id=p["file_unique_id"],
                          size=p["size"], caption=p["caption"]) for p in data.get("photos", [])]
    return DeviceIntake(client_id=data["client_id"], ticket=draft, device_id=data.get("device_id"),
                    device=device, serial=data.get("serial") or "", photos=photos,
                    service_ids=list(data.get("services", [])), photos_note=_("Фото при приёме"))
