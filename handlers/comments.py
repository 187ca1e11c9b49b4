"""Comments on a ticket: collected as texts, photos and files until "Готово", then saved as
one comment; and shown back with their photos and files."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel, Field

from bot.config import Settings
from bot.unit_of_work import UnitOfWork
from bot.views.formatting import clip, h, local_dt
from db.desk.models import Attachment, AttachmentKind, Comment, Staff
from db.desk.tickets import (
    TEXT_MAX,
    AttachmentIn,
    CommentIn,
    add_comment,
    get_ticket,
    list_comments,
    staff_names,
)
from db.engine import DbSession
from db.errors import DomainError
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand
from handlers.forms import FormData, load, save, update
from handlers.ticket_card import send_ticket_card
from handlers.ui import callback_message, edit_and_answer, edit_or_send
from keyboards.callbacks import FormAction, FormCb, TicketAction, TicketCb
from keyboards.common import button, markup

SHOWN = 20  # the latest comments shown back
ALBUM = 10  # Telegram's media group limit


class CommentForm(StatesGroup):
    collecting = State()


class CommentFile(BaseModel):
    kind: AttachmentKind
    file_id: str
    file_unique_id: str
    size: int | None = None
    mime_type: str | None = None
    file_name: str | None = None
    caption: str = ""


class CommentData(FormData):
    ticket_id: int
    texts: list[str] = Field(default_factory=list)
    files: list[CommentFile] = Field(default_factory=list)
    progress_id: int | None = None  # the "Добавлено: …" message, edited as things arrive


def done_keyboard() -> InlineKeyboardMarkup:
    return markup([[button(_("✅ Готово"), FormCb(action=FormAction.DONE)),
                    button(_("✖️ Отмена"), FormCb(action=FormAction.CANCEL))]])


async def comment_start(query: CallbackQuery, callback_data: TicketCb, session: DbSession,
                        state: FSMContext) -> None:
    ticket = await get_ticket(session, callback_data.id)
    await state.set_state(CommentForm.collecting)
    await save(state, CommentData(ticket_id=ticket.id))
    message = callback_message(query)
    if message is not None:
        await message.answer(
            _("✍️ Комментарий к [{number}]: напишите текст и/или пришлите фото и файлы, "
              "затем нажмите «Готово».").format(number=ticket.number),
            reply_markup=done_keyboard())
    await query.answer()


async def show_progress(message: Message, state: FSMContext, data: CommentData) -> None:
    photos = sum(1 for f in data.files if f.kind == AttachmentKind.PHOTO)
    text = _("Добавлено: текст {texts}, фото {photos}, файлов {docs}. Ещё или «Готово».").format(
        texts=len(data.texts), photos=photos, docs=len(data.files) - photos)
    if data.progress_id is not None and message.bot is not None:
        try:
            await message.bot.edit_message_text(text, chat_id=message.chat.id,
                                                message_id=data.progress_id,
                                                reply_markup=done_keyboard())
            return
        except TelegramBadRequest:  # deleted or too old to edit: send a new one
            pass
    sent = await message.answer(text, reply_markup=done_keyboard())
    await update(state, data, progress_id=sent.message_id)


async def add_file(message: Message, state: FSMContext, file: CommentFile) -> None:
    data = await load(state, CommentData)
    if data is None:
        await message.answer(_("Комментарий уже закрыт — начните заново с карточки."))
        return
    data = await update(state, data, files=[*data.files, file])
    await show_progress(message, state, data)


async def comment_photo(message: Message, state: FSMContext) -> None:
    photo = (message.photo or [])[-1]
    await add_file(message, state, CommentFile(
        kind=AttachmentKind.PHOTO, file_id=photo.file_id, file_unique_id=photo.file_unique_id,
        size=photo.file_size, mime_type="image/jpeg", caption=message.caption or ""))


async def comment_document(message: Message, state: FSMContext) -> None:
    doc = message.document
    assert doc is not None  # the F.document filter
    await add_file(message, state, CommentFile(
        kind=AttachmentKind.DOCUMENT, file_id=doc.file_id, file_unique_id=doc.file_unique_id,
        size=doc.file_size, mime_type=doc.mime_type, file_name=doc.file_name,
        caption=message.caption or ""))


async def comment_text(message: Message, state: FSMContext) -> None:
    data = await load(state, CommentData)
    text = message.text or ""
    if data is None:
        await message.answer(_("Комментарий уже закрыт — начните заново с карточки."))
        return
    if sum(len(t) for t in data.texts) + len(text) > TEXT_MAX:
        await message.answer(
            _("Слишком длинный текст: не больше {limit} символов.").format(limit=TEXT_MAX))
        return
    data = await update(state, data, texts=[*data.texts, text])
    await show_progress(message, state, data)


async def comment_other(message: Message) -> None:
    await message.answer(_("В комментарий можно добавить текст, фото или файл. "
                           "Закончить — «Готово», отменить — /cancel."))


async def comment_done(query: CallbackQuery, session: DbSession, state: FSMContext,
                       staff: Staff, lang: str, settings: Settings, uow: UnitOfWork) -> None:
    data = await load(state, CommentData)
    if data is None:
        await query.answer(_("Кнопка устарела."), show_alert=True)
        return
    files = [AttachmentIn(kind=f.kind, file_id=f.file_id, file_unique_id=f.file_unique_id,
                          mime_type=f.mime_type, file_name=f.file_name, size=f.size,
                          caption=f.caption) for f in data.files]
    try:
        await add_comment(session, staff, data.ticket_id,
                          CommentIn(text="\n".join(data.texts), attachments=files))
    except DomainError as exc:
        await query.answer(error_text(exc), show_alert=True)
        return
    await state.clear()
    await uow.commit()
    await edit_or_send(query, _("✅ Комментарий сохранён."))
    await send_ticket_card(query, session, data.ticket_id, lang, settings, edit=False)
    await query.answer()


async def comment_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await edit_and_answer(query, _("Комментарий отменён."))


# ---- showing comments back ----------------------------------------------------------------

async def send_files(message: Message, files: list[Attachment], caption: str | None,
                     media: type[InputMediaPhoto] | type[InputMediaDocument]) -> str | None:
    """Photos (or documents) in albums of ten; the caption goes on the first. Returns the
    caption still to place (None once placed)."""
    for i in range(0, len(files), ALBUM):
        chunk = files[i:i + ALBUM]
        if len(chunk) == 1 and media is InputMediaPhoto:
            await message.answer_photo(chunk[0].file_id, caption=caption)
        elif len(chunk) == 1:
            await message.answer_document(chunk[0].file_id, caption=caption)
        elif media is InputMediaPhoto:
            await message.answer_media_group([
                InputMediaPhoto(media=a.file_id, caption=caption if j == 0 else None)
                for j, a in enumerate(chunk)])
        else:
            await message.answer_media_group([InputMediaDocument(media=a.file_id)
                                              for a in chunk])
        caption = None
    return caption


async def send_comment(message: Message, comment: Comment, head: str) -> None:
    if comment.text or not comment.attachments:
        await message.answer(clip(f"{head}\n{h(comment.text)}"))
    caption = None if comment.text else head
    photos = [a for a in comment.attachments if a.kind == AttachmentKind.PHOTO]
    docs = [a for a in comment.attachments if a.kind == AttachmentKind.DOCUMENT]
    caption = await send_files(message, photos, caption, InputMediaPhoto)
    await send_files(message, docs, caption, InputMediaDocument)


async def show_comments(query: CallbackQuery, callback_data: TicketCb, session: DbSession,
                        lang: str, settings: Settings) -> None:
    ticket = await get_ticket(session, callback_data.id)
    comments = (await list_comments(session, ticket.id))[-SHOWN:]
    message = callback_message(query)
    await query.answer()
    if message is None:
        return
    if not comments:
        await message.answer(_("Комментариев пока нет."))
        return
    authors = await staff_names(session, {c.staff_id for c in comments if c.staff_id})
    for comment in comments:
        head = (f"🗨 {local_dt(comment.created_at, settings.tz, lang)} · "
                f"{h(authors.get(comment.staff_id or 0, '—'))}")
        await send_comment(message, comment, head)


def setup() -> Router:
    router = Router(name="comments")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.callback_query.register(comment_start,
                                   TicketCb.filter(F.action == TicketAction.COMMENT))
    router.callback_query.register(show_comments,
                                   TicketCb.filter(F.action == TicketAction.COMMENTS))
    router.message.register(comment_photo, CommentForm.collecting, F.photo)
    router.message.register(comment_document, CommentForm.collecting, F.document)
    router.message.register(comment_text, CommentForm.collecting, F.text)
    router.message.register(comment_other, CommentForm.collecting, NotCommand())
    router.callback_query.register(comment_done, CommentForm.collecting,
                                   FormCb.filter(F.action == FormAction.DONE))
    router.callback_query.register(comment_cancel, CommentForm.collecting,
                                   FormCb.filter(F.action == FormAction.CANCEL))
    return router
