"""Importing a client base in chat: an owner sends a .csv/.xlsx document outside any form, gets
a preview (what is new, what is merged, which rows cannot be read and why) with "Import" /
"Cancel", and the import runs in the update's one transaction.

The confirmation downloads the file again by its file_id (kept in the chat's FSM data, no
state set, so typing a phone still searches meanwhile) rather than keeping thousands of parsed
rows in the FSM storage; the button carries the file's file_unique_id, so a button under an
older preview cannot import a newer file."""

from __future__ import annotations

import asyncio

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.ops.import_file import EXTENSIONS, MAX_BYTES, ImportFileError, LoadedFile, load
from bot.unit_of_work import UnitOfWork
from bot.views.ops_texts import file_error_text, preview_text, result_text
from db.desk.bulk_import import apply_import, preview_import
from db.desk.models import Role, Staff
from db.engine import DbSession
from db.errors import DomainError
from handlers.error_texts import error_text
from handlers.filters import IsStaff
from handlers.forms import FormData, save
from handlers.forms import load as load_form
from handlers.ui import edit_and_answer
from keyboards.ops import ImportAction, ImportCb, import_markup

MIME_TYPES = {"text/csv", "text/comma-separated-values", "text/tab-separated-values",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ImportData(FormData):
    import_file_id: str
    import_key: str  # file_unique_id, also in the buttons
    import_name: str


def is_table_file(message: Message) -> bool:
    doc = message.document
    if doc is None:
        return False
    # .xls too: its sender learns to save it as .xlsx instead of hearing nothing.
    return ((doc.file_name or "").lower().endswith((*EXTENSIONS, ".xls"))
            or (doc.mime_type or "") in MIME_TYPES)


async def _read(bot: Bot, file_id: str, settings: Settings) -> LoadedFile:
    stream = await bot.download(file_id)
    assert stream is not None  # no destination given: aiogram returns the bytes
    return await asyncio.to_thread(load, stream.read(), settings.default_region)


async def import_document(message: Message, bot: Bot, session: DbSession, staff: Staff,
                          state: FSMContext, settings: Settings) -> None:
    doc = message.document
    assert doc is not None  # is_table_file
    if staff.role != Role.OWNER:
        await message.answer(_("Нет доступа: импортировать клиентов может только владелец."))
        return
    if doc.file_size and doc.file_size > MAX_BYTES:
        await message.answer(file_error_text(ImportFileError("too_large")))
        return
    try:
        loaded = await _read(bot, doc.file_id, settings)
    except ImportFileError as exc:
        await message.answer(file_error_text(exc))
        return
    name = doc.file_name or "file"
    summary = await preview_import(session, loaded.parsed)
    await save(state, ImportData(import_file_id=doc.file_id, import_key=doc.file_unique_id,
                                 import_name=name))
    kb = import_markup(doc.file_unique_id, _("✅ Импортировать"), _("✖️ Отмена")) \
        if summary.importable else None
    await message.answer(preview_text(summary, loaded, name), reply_markup=kb)


async def _pending(query: CallbackQuery, callback_data: ImportCb, state: FSMContext
                   ) -> ImportData | None:
    data = await load_form(state, ImportData)
    if data is None or data.import_key != callback_data.key:
        await query.answer(_("Предпросмотр устарел — пришлите файл ещё раз."), show_alert=True)
        return None
    return data


async def import_confirm(query: CallbackQuery, callback_data: ImportCb, bot: Bot,
                         session: DbSession, staff: Staff, state: FSMContext,
                         settings: Settings, uow: UnitOfWork) -> None:
    data = await _pending(query, callback_data, state)
    if data is None:
        return
    try:
        loaded = await _read(bot, data.import_file_id, settings)
        summary = await apply_import(session, staff, loaded.parsed, source=data.import_name)
    except ImportFileError as exc:
        await query.answer(file_error_text(exc), show_alert=True)
        return
    except DomainError as exc:
        await query.answer(error_text(exc), show_alert=True)
        return
    await state.set_data({})
    await uow.commit()  # the import is saved before anybody is told so
    await edit_and_answer(query, result_text(summary, data.import_name))


async def import_cancel(query: CallbackQuery, callback_data: ImportCb, state: FSMContext
                        ) -> None:
    if await _pending(query, callback_data, state) is None:
        return
    await state.set_data({})
    await edit_and_answer(query, _("Импорт отменён — ничего не записано."))


async def not_owner(query: CallbackQuery) -> None:
    await query.answer(_("Нет доступа: импортировать клиентов может только владелец."),
                       show_alert=True)


def setup() -> Router:
    router = Router(name="import_clients")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    # Outside any form only: a file sent into a comment or an intake belongs to it.
    router.message.register(import_document, StateFilter(None), F.document, is_table_file)
    owner = IsStaff(Role.OWNER)
    router.callback_query.register(import_confirm, owner,
                                   ImportCb.filter(F.action == ImportAction.CONFIRM))
    router.callback_query.register(import_cancel, owner,
                                   ImportCb.filter(F.action == ImportAction.CANCEL))
    router.callback_query.register(not_owner, ImportCb.filter())
    return router
