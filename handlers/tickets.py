"""Ticket card: status changes, comments with files, history, device label, the Service list."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.middlewares import AfterCommit
from bot.services import Services
from bot.views.formatting import clip, h, local_dt
from bot.views.labels import label_png
from db.desk.models import AttachmentKind, AuditEntry, Staff, Status
from db.desk.tickets import (
    TEXT_MAX,
    AttachmentIn,
    CommentIn,
    add_comment,
    change_status,
    get_ticket,
    get_ticket_by_number,
    list_comments,
    open_tickets,
    status_history,
)
from db.errors import DomainError, NotFound
from handlers.error_texts import error_text
from handlers.filters import IsStaff, NotCommand, TextIs
from handlers.ticket_view import (
    render_status_picker,
    render_ticket,
    service_list_markup,
    status_icon,
    ticket_title,
)
from handlers.ui import callback_message, edit_or_send
from keyboards.callbacks import FormCb, ServiceCb, TicketCb
from keyboards.common import button, markup
from keyboards.menu import SERVICE

PAGE_SIZE = 10
TICKET_NUMBER = re.compile(r"^#?\s*(\d{1,9})$")
LABEL_PREFIX = "tk_"

# Status-change follow-ups (e.g. "notify the client?") registered by later features, called
# with keyword arguments: query, session, staff, ticket_id, status, lang, settings, services,
# after_commit.
AFTER_STATUS: list[Callable[..., Awaitable[None]]] = []


class CommentForm(StatesGroup):
    collecting = State()


class ServiceSection(StatesGroup):
    active = State()


async def send_ticket_card(
    target: Message | CallbackQuery,
    session: AsyncSession,
    ticket_id: int,
    lang: str,
    settings: Settings,
    *,
    edit: bool = True,
) -> None:
    text, markup = await render_ticket(session, ticket_id, lang, settings.tz)
    if edit or isinstance(target, Message):
        await edit_or_send(target, text, markup)
    else:
        message = callback_message(target)
        if message is not None:
            await message.answer(text, reply_markup=markup)


def _done_keyboard() -> InlineKeyboardMarkup:
    return markup([[button(_("✅ Готово"), FormCb(action="done")),
                    button(_("✖️ Отмена"), FormCb(action="cancel"))]])


def setup(settings: Settings) -> Router:
    router = Router(name="tickets")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())

    # ---- opening a card -------------------------------------------------------------
    @router.message(Command("ticket"))
    async def ticket_command(
        message: Message, command: CommandObject, session: AsyncSession, lang: str
    ) -> None:
        match = TICKET_NUMBER.match((command.args or "").strip())
        if not match:
            await message.answer(_("Укажите номер обращения: /ticket 12"))
            return
        await _open_by_number(message, session, int(match.group(1)), lang)

    async def _open_by_number(
        message: Message, session: AsyncSession, number: int, lang: str
    ) -> None:
        try:
            ticket = await get_ticket_by_number(session, number)
        except NotFound:
            await message.answer(_("Обращение [{number}] не найдено.").format(number=number))
            return
        await send_ticket_card(message, session, ticket.id, lang, settings)

    @router.message(StateFilter(None, ServiceSection.active), F.text.regexp(r"^#\s*\d{1,9}$"))
    async def hash_number(message: Message, session: AsyncSession, lang: str) -> None:
        await _open_by_number(message, session, int(message.text.lstrip("#").strip()), lang)

    @router.message(ServiceSection.active, F.text.regexp(r"^\d{1,9}$"))
    async def plain_number(message: Message, session: AsyncSession, lang: str) -> None:
        await _open_by_number(message, session, int(message.text), lang)

    @router.callback_query(TicketCb.filter(F.action == "card"))
    async def card(
        query: CallbackQuery, callback_data: TicketCb, session: AsyncSession, lang: str
    ) -> None:
        await send_ticket_card(query, session, callback_data.id, lang, settings)
        await query.answer()

    # ---- Service section --------------------------------------------------------------
    async def _service_page(session: AsyncSession, page: int, lang: str) -> tuple[str, object]:
        tickets, total = await open_tickets(session, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if not total:
            return _("Открытых обращений нет."), None
        lines = [
            _("🛠 Открытые обращения: {total} · стр. {page}/{pages}").format(
                total=total, page=page + 1, pages=pages
            )
        ]
        current = None
        for ticket in tickets:
            if ticket.status_id != current:
                current = ticket.status_id
                lines.append(
                    f"\n{status_icon(ticket.status)} <b>{h(ticket.status.title(lang))}</b>"
                )
            lines.append(h(ticket_title(ticket)))
        lines.append(_("\nНомер обращения можно просто написать: 12 или #12."))
        return "\n".join(lines), service_list_markup(tickets, page, pages)

    @router.message(TextIs(SERVICE))
    async def service_section(
        message: Message, session: AsyncSession, state: FSMContext, lang: str
    ) -> None:
        await state.set_state(ServiceSection.active)
        text, markup = await _service_page(session, 0, lang)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(ServiceCb.filter(F.action == "page"))
    async def service_page(
        query: CallbackQuery, callback_data: ServiceCb, session: AsyncSession, lang: str
    ) -> None:
        text, markup = await _service_page(session, max(0, callback_data.page), lang)
        await edit_or_send(query, text, markup)
        await query.answer()

    # ---- status -------------------------------------------------------------------------
    @router.callback_query(TicketCb.filter(F.action == "st"))
    async def status_picker(
        query: CallbackQuery, callback_data: TicketCb, session: AsyncSession, lang: str
    ) -> None:
        markup = await render_status_picker(session, callback_data.id, lang)
        text, _markup = await render_ticket(session, callback_data.id, lang, settings.tz)
        await edit_or_send(query, text + "\n\n" + _("Выберите новый статус:"), markup)
        await query.answer()

    @router.callback_query(TicketCb.filter(F.action == "set"))
    async def set_status(
        query: CallbackQuery,
        callback_data: TicketCb,
        session: AsyncSession,
        staff: Staff,
        lang: str,
        bot: Bot,
        services: Services,
        after_commit: list[AfterCommit],
    ) -> None:
        try:
            await change_status(session, staff, callback_data.id, callback_data.arg)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        status = await session.get(Status, callback_data.arg)
        await send_ticket_card(query, session, callback_data.id, lang, settings)
        await query.answer(
            _("Статус: {status}").format(status=status.title(lang) if status else "")
        )
        for follow_up in AFTER_STATUS:
            await follow_up(query=query, session=session, staff=staff, ticket_id=callback_data.id,
                            status=status, lang=lang, settings=settings, services=services,
                            after_commit=after_commit)

    # ---- comments -------------------------------------------------------------------------
    @router.callback_query(TicketCb.filter(F.action == "cm"))
    async def comment_start(
        query: CallbackQuery, callback_data: TicketCb, session: AsyncSession, state: FSMContext
    ) -> None:
        ticket = await get_ticket(session, callback_data.id)
        await state.set_state(CommentForm.collecting)
        await state.set_data({"ticket_id": ticket.id, "texts": [], "files": []})
        message = callback_message(query)
        if message is not None:
            prompt = await message.answer(
                _(
                    "✍️ Комментарий к [{number}]: напишите текст и/или пришлите фото и файлы, "
                    "затем нажмите «Готово»."
                ).format(number=ticket.number),
                reply_markup=_done_keyboard(),
            )
            await state.update_data(prompt_id=prompt.message_id)
        await query.answer()

    async def _progress(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        photos = sum(1 for f in data["files"] if f["kind"] == "photo")
        docs = len(data["files"]) - photos
        text = _(
            "Добавлено: текст {texts}, фото {photos}, файлов {docs}. Ещё или «Готово»."
        ).format(texts=len(data["texts"]), photos=photos, docs=docs)
        if data.get("progress_id"):
            try:
                await message.bot.edit_message_text(
                    text,
                    chat_id=message.chat.id,
                    message_id=data["progress_id"],
                    reply_markup=_done_keyboard(),
                )
                return
            except TelegramBadRequest:  # deleted or too old to edit: send a new one
                pass
        sent = await message.answer(text, reply_markup=_done_keyboard())
        await state.update_data(progress_id=sent.message_id)

    async def _add_file(message: Message, state: FSMContext, **file: object) -> None:
        data = await state.get_data()
        data["files"].append({**file, "caption": message.caption or ""})
        await state.update_data(files=data["files"])
        await _progress(message, state)

    @router.message(CommentForm.collecting, F.photo)
    async def comment_photo(message: Message, state: FSMContext) -> None:
        photo = message.photo[-1]
        await _add_file(message, state, kind="photo", file_id=photo.file_id,
                        file_unique_id=photo.file_unique_id, size=photo.file_size,
                        mime_type="image/jpeg", file_name=None)

    @router.message(CommentForm.collecting, F.document)
    async def comment_document(message: Message, state: FSMContext) -> None:
        doc = message.document
        await _add_file(message, state, kind="document", file_id=doc.file_id,
                        file_unique_id=doc.file_unique_id, size=doc.file_size,
                        mime_type=doc.mime_type, file_name=doc.file_name)

    @router.message(CommentForm.collecting, F.text)
    async def comment_text(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        if sum(len(t) for t in data["texts"]) + len(message.text) > TEXT_MAX:
            await message.answer(
                _("Слишком длинный текст: не больше {limit} символов.").format(limit=TEXT_MAX)
            )
            return
        data["texts"].append(message.text)
        await state.update_data(texts=data["texts"])
        await _progress(message, state)

    @router.message(CommentForm.collecting, NotCommand())
    async def comment_other(message: Message) -> None:
        await message.answer(
            _(
                "В комментарий можно добавить текст, фото или файл. "
                "Закончить — «Готово», отменить — /cancel."
            )
        )

    @router.callback_query(CommentForm.collecting, FormCb.filter(F.action == "done"))
    async def comment_done(
        query: CallbackQuery, session: AsyncSession, state: FSMContext, staff: Staff, lang: str
    ) -> None:
        data = await state.get_data()
        files = [
            AttachmentIn(
                kind=AttachmentKind(f["kind"]),
                file_id=f["file_id"],
                file_unique_id=f["file_unique_id"],
                mime_type=f["mime_type"],
                file_name=f["file_name"],
                size=f["size"],
                caption=f["caption"],
            )
            for f in data["files"]
        ]
        try:
            await add_comment(
                session,
                staff,
                data["ticket_id"],
                CommentIn(text="\n".join(data["texts"]), attachments=files),
            )
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await state.clear()
        await edit_or_send(query, _("✅ Комментарий сохранён."))
        await send_ticket_card(query, session, data["ticket_id"], lang, settings, edit=False)
        await query.answer()

    @router.callback_query(CommentForm.collecting, FormCb.filter(F.action == "cancel"))
    async def comment_cancel(query: CallbackQuery, state: FSMContext) -> None:
        await state.clear()
        await edit_or_send(query, _("Комментарий отменён."))
        await query.answer()

    @router.callback_query(TicketCb.filter(F.action == "cms"))
    async def show_comments(
        query: CallbackQuery, callback_data: TicketCb, session: AsyncSession, lang: str
    ) -> None:
        ticket = await get_ticket(session, callback_data.id)
        comments = (await list_comments(session, ticket.id))[-20:]
        message = callback_message(query)
        await query.answer()
        if message is None:
            return
        if not comments:
            await message.answer(_("Комментариев пока нет."))
            return
        authors = {
            s.id: s.name
            for s in await session.scalars(
                select(Staff).where(Staff.id.in_({c.staff_id for c in comments if c.staff_id}))
            )
        }
        for comment in comments:
            head = (
                f"🗨 {local_dt(comment.created_at, settings.tz, lang)} · "
                f"{h(authors.get(comment.staff_id, '—'))}"
            )
            if comment.text or not comment.attachments:
                await message.answer(clip(f"{head}\n{h(comment.text)}"))
            photos = [a for a in comment.attachments if a.kind == AttachmentKind.PHOTO]
            docs = [a for a in comment.attachments if a.kind == AttachmentKind.DOCUMENT]
            caption = None if comment.text else head
            for i in range(0, len(photos), 10):
                chunk = photos[i : i + 10]
                if len(chunk) == 1:
                    await message.answer_photo(chunk[0].file_id, caption=caption)
                else:
                    await message.answer_media_group(
                        [
                            InputMediaPhoto(media=a.file_id, caption=caption if j == 0 else None)
                            for j, a in enumerate(chunk)
                        ]
                    )
                caption = None
            for i in range(0, len(docs), 10):
                chunk = docs[i : i + 10]
                if len(chunk) == 1:
                    await message.answer_document(chunk[0].file_id, caption=caption)
                else:
                    await message.answer_media_group(
                        [InputMediaDocument(media=a.file_id) for a in chunk]
                    )
                caption = None

    # ---- history ----------------------------------------------------------------------
    @router.callback_query(TicketCb.filter(F.action == "hist"))
    async def history(
        query: CallbackQuery, callback_data: TicketCb, session: AsyncSession, lang: str
    ) -> None:
        ticket = await get_ticket(session, callback_data.id)
        statuses = {s.id: s for s in await session.scalars(select(Status))}
        people = {s.id: s.name for s in await session.scalars(select(Staff))}
        lines = [_("📜 История [{number}]").format(number=ticket.number)]
        for change in await status_history(session, ticket.id):
            who = _("клиент") if change.by_client else people.get(change.staff_id, "—")
            to = statuses[change.to_status_id].title(lang)
            if change.from_status_id is None:
                what = _("принят, статус «{to}»").format(to=to)
            else:
                what = f"{statuses[change.from_status_id].title(lang)} → {to}"
            lines.append(f"{local_dt(change.created_at, settings.tz, lang)} · {h(who)}: {h(what)}")
        audit = await session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.entity == "ticket",
                AuditEntry.entity_id == ticket.id,
                AuditEntry.action.not_in(("ticket.status", "ticket.open")),
            )
            .order_by(AuditEntry.id)
        )
        for entry in audit:
            label = {"ticket.comment": _("комментарий"), "ticket.update": _("изменены данные")}
            lines.append(
                f"{local_dt(entry.created_at, settings.tz, lang)} · "
                f"{h(people.get(entry.staff_id, '—'))}: "
                f"{h(label.get(entry.action, entry.action))}"
            )
        kb = markup([[button(_("← К обращению"), TicketCb(action="card", id=ticket.id))]])
        await edit_or_send(query, "\n".join(lines), kb)
        await query.answer()

    # ---- label ---------------------------------------------------------------------------
    @router.callback_query(TicketCb.filter(F.action == "lbl"))
    async def label(
        query: CallbackQuery, callback_data: TicketCb, session: AsyncSession, bot: Bot
    ) -> None:
        ticket = await get_ticket(session, callback_data.id)
        link = await create_start_link(bot, f"{LABEL_PREFIX}{ticket.number}")
        png = label_png(link, ticket.number, ticket.device.title)
        message = callback_message(query)
        if message is not None:
            await message.answer_photo(
                BufferedInputFile(png, filename=f"label-{ticket.number}.png"),
                caption=_(
                    "🏷 Этикетка [{number}] — распечатайте и наклейте на устройство. "
                    "QR открывает карточку только сотрудникам."
                ).format(number=ticket.number),
            )
        await query.answer()

    return router
