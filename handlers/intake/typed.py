"""What is typed on a field's screen (serial, lock code, estimate, condition, kit, a service's
code or name): checked by db.desk.intake's rules, kept in the form, then back to the review."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from db.desk.intake import device_kind, lock_code_text, note_text, serial_text, toggle_service
from db.engine import DbSession
from db.errors import DomainError, InvalidValue
from db.money.amounts import parse_amount
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand
from handlers.forms import load, update
from handlers.intake.form import Intake, IntakeData, show_review
from handlers.intake.review import OPTIONS
from handlers.money import intake_services
from handlers.ui import form_gone
from keyboards.callbacks import IntakeField


def typed_value(field: IntakeField | None, text: str) -> dict[str, object] | None:
    """The form's change for `text` typed on `field`'s screen (None: no field takes text);
    raises the field's DomainError."""
    if field is IntakeField.ESTIMATE:
        return {"estimate": parse_amount(text)}
    if field is IntakeField.SERIAL:
        return {"serial": serial_text(text)}
    if field is IntakeField.KIND:
        return {"kind": device_kind(text)}
    if field is IntakeField.LOCK_CODE:
        return {"lock_code": lock_code_text(text)}
    if field in OPTIONS:
        return {field.value: note_text(text)}
    return None


def value_error(exc: DomainError) -> str:
    if isinstance(exc, InvalidValue) and exc.field in ("serial", "lock_code"):
        return _("Не длиннее 64 символов.")
    return error_text(exc)


async def typed_field(message: Message, session: DbSession, state: FSMContext,
                      lang: str) -> None:
    data = await load(state, IntakeData)
    if data is None:
        await form_gone(message, state)
        return
    text = (message.text or "").strip()
    if data.editing is IntakeField.SERVICES:
        await typed_service(message, session, state, data, text, lang)
        return
    try:
        changes = typed_value(data.editing, text)
    except DomainError as exc:
        await message.answer(value_error(exc))
        return
    if changes is not None:
        data = await update(state, data, **changes)
        await show_review(message, session, state, data, lang, edit=False)


async def typed_service(message: Message, session: DbSession, state: FSMContext,
                        data: IntakeData, text: str, lang: str) -> None:
    """An exact code goes on the quote at once; anything else lists what matches."""
    exact, found_text, kb = await intake_services.search(session, text, lang)
    if exact is None:
        await message.answer(found_text, reply_markup=kb)
        return
    others = [i for i in data.services if i != exact.id]
    data = await update(state, data, services=toggle_service(others, exact.id))
    await show_review(message, session, state, data, lang, edit=False)


async def wrong_field(message: Message) -> None:
    await message.answer(_("Нужен текст или кнопка. Отмена — /cancel."))


def setup() -> Router:
    router = Router(name="intake.typed")
    router.message.filter(IsStaff())
    router.message.register(typed_field, Intake.edit, F.text, NotCommand())
    router.message.register(wrong_field, Intake.edit, NotCommand())
    return router
