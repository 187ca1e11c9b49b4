"""The intake's end: "✅ Принять" saves it through the use case (bot.usecases.intake),
"✖️ Отмена" drops it; an intake button from an intake no longer open is stale."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.usecases.intake import DeviceIntake, IntakePhoto, ServicesChanged, accept_device
from bot.usecases.notices import NoticeTexts
from db.desk.models import Staff
from db.desk.tickets import NewDevice, TicketDraft
from db.engine import DbSession
from db.errors import DomainError
from handlers.error_texts import error_text
from handlers.filters import IsStaff
from handlers.forms import load, update
from handlers.intake.form import Intake, IntakeData, show_review
from handlers.ticket_card import send_ticket_card
from handlers.ui import edit_and_answer, edit_or_send, stale_button
from keyboards.callbacks import IntakeAction, IntakeCb


def device_intake(data: IntakeData, settings: Settings) -> DeviceIntake:
    draft = TicketDraft(defect=data.defect, condition=data.condition, kit=data.kit,
                        lock_code=data.lock_code, estimate=data.estimate,
                        master_id=data.master_id, warranty_days=settings.warranty_days)
    device = None if data.device_id else NewDevice(
        kind=data.kind, brand=data.brand, model=data.model, serial=data.serial or None)
    photos = [IntakePhoto(file_id=p.file_id, file_unique_id=p.file_unique_id, size=p.size,
                          caption=p.caption) for p in data.photos]
    return DeviceIntake(client_id=data.client_id, ticket=draft, device_id=data.device_id,
                        device=device, serial=data.serial, photos=photos,
                        service_ids=list(data.services), photos_note=_("Фото при приёме"))


async def accept(query: CallbackQuery, session: DbSession, state: FSMContext, staff: Staff,
                 lang: str, settings: Settings, notices: NoticeTexts) -> None:
    data = await load(state, IntakeData)
    if data is None:
        await stale_button(query)
        return
    try:
        ticket = await accept_device(session, staff, device_intake(data, settings), notices)
    except ServicesChanged as exc:
        data = await update(state, data, services=exc.available)
        await query.answer(_("Часть услуг убрали из прайс-листа — проверьте список услуг."),
                           show_alert=True)
        await show_review(query, session, state, data, lang, edit=True)
        return
    except DomainError as exc:
        await query.answer(error_text(exc), show_alert=True)
        return
    await state.clear()
    await edit_or_send(query, _("✅ Принято: обращение [{number}].").format(number=ticket.number))
    await send_ticket_card(query, session, ticket.id, lang, settings, edit=False)
    await query.answer()


async def cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await edit_and_answer(query, _("Приём отменён."))


def setup() -> Router:
    router = Router(name="intake.accept")
    router.callback_query.filter(IsStaff())
    router.callback_query.register(accept, Intake.review,
                                   IntakeCb.filter(F.action == IntakeAction.OK))
    router.callback_query.register(cancel, StateFilter(Intake),
                                   IntakeCb.filter(F.action == IntakeAction.CANCEL))
    # Last: every intake button the handlers above did not take is from another step.
    router.callback_query.register(stale_button, IntakeCb.filter())
    return router
