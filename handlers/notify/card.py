"""Staff buttons on the ticket card: "✅ Можно забирать" (move + ask), the template taps of the
"notify?" prompt, "не уведомлять", "повторить", and "📱 Для клиента" (QR of the status link)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.usecases.notices import NoticeTexts
from bot.usecases.status import change_status
from bot.views.client_notices import in_locale, view_button
from bot.views.labels import qr_png
from bot.views.links import StatusLinks
from bot.views.templates import compose_for_ticket
from db.desk.models import Staff, Status, StatusKind, Ticket
from db.desk.tickets import get_ticket
from db.errors import DomainError, NotFound
from db.money.closing import amount_due
from db.notify.client_links import entered_change_id
from db.notify.models import MessageKind, MessageTemplate, OutboxMessage
from db.notify.outbox import by_dedup_key, enqueue_for_ticket, retry_failed, ticket_dedup_key
from handlers.error_texts import error_text
from handlers.filters import IsStaff
from handlers.notify.ready_prompt import show_ready_prompt
from handlers.ticket_card import send_ticket_card
from handlers.ui import callback_message
from keyboards.notify import NotifyCb


async def _ticket(query: CallbackQuery, session: AsyncSession, ticket_id: int) -> Ticket | None:
    try:
        return await get_ticket(session, ticket_id)
    except NotFound:
        await query.answer(_("Обращение не найдено."), show_alert=True)
        return None


def setup(settings: Settings) -> Router:
    router = Router(name="notify_card")
    router.callback_query.filter(IsStaff())

    @router.callback_query(NotifyCb.filter(F.action == "ready"))
    async def move_to_ready(
        query: CallbackQuery, callback_data: NotifyCb, session: AsyncSession, staff: Staff,
        lang: str, notices: NoticeTexts,
    ) -> None:
        """The card's shortcut: the same as Статус → Можно забирать, one tap less."""
        status = await session.get(Status, callback_data.arg)
        if status is None or status.kind != StatusKind.READY:
            await query.answer(_("Кнопка устарела — откройте карточку заново."), show_alert=True)
            return
        try:
            changed = await change_status(session, staff, callback_data.id, status.id, notices)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        if changed.ask_ready:
            await show_ready_prompt(query, session, changed.ticket, lang, settings)
        else:
            await send_ticket_card(query, session, callback_data.id, lang, settings)
        await query.answer(_("Статус: {status}").format(status=status.title(lang)))

    @router.callback_query(NotifyCb.filter(F.action == "send"))
    async def send_ready(
        query: CallbackQuery, callback_data: NotifyCb, session: AsyncSession, lang: str,
    ) -> None:
        ticket = await _ticket(query, session, callback_data.id)
        if ticket is None:
            return
        if ticket.status.kind != StatusKind.READY:
            await send_ticket_card(query, session, ticket.id, lang, settings)
            await query.answer(_("Статус уже другой — клиент не уведомлён."), show_alert=True)
            return
        template = await session.get(MessageTemplate, callback_data.arg)
        if template is None or template.kind != MessageKind.READY:
            await query.answer(_("Шаблон не найден — откройте карточку заново."),
                               show_alert=True)
            return
        event = await entered_change_id(session, ticket)
        key = ticket_dedup_key(MessageKind.READY, ticket.id, event)
        if event is None or await by_dedup_key(session, key) is not None:
            await send_ticket_card(query, session, ticket.id, lang, settings)
            await query.answer(_("Клиенту уже отправлено."))
            return
        composed = await compose_for_ticket(
            session, ticket.id, kind=MessageKind.READY, shop=settings.shop,
            amount_due=await amount_due(session, ticket.id), template_id=template.id,
            default_language=settings.client_language)
        with in_locale(composed.language):
            buttons = view_button(ticket.id)
        try:
            # The staff member chose to send: deliberate, so the owner's switch (which hides
            # the prompt) does not stop a tap on a prompt shown before it was switched off.
            await enqueue_for_ticket(session, ticket.id, kind=MessageKind.READY,
                                     text=composed.text, event=event, buttons=buttons,
                                     respect_switch=False)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await send_ticket_card(query, session, ticket.id, lang, settings)
        await query.answer(_("📨 Отправляем клиенту"))

    @router.callback_query(NotifyCb.filter(F.action == "skip"))
    async def skip(
        query: CallbackQuery, callback_data: NotifyCb, session: AsyncSession, lang: str,
    ) -> None:
        if await _ticket(query, session, callback_data.id) is None:
            return
        await send_ticket_card(query, session, callback_data.id, lang, settings)
        await query.answer(_("Клиент не уведомлён."))

    @router.callback_query(NotifyCb.filter(F.action == "retry"))
    async def retry(
        query: CallbackQuery, callback_data: NotifyCb, session: AsyncSession, lang: str,
    ) -> None:
        message = await session.get(OutboxMessage, callback_data.arg)
        if message is None or message.ticket_id != callback_data.id:
            await query.answer(_("Сообщение не найдено."), show_alert=True)
            return
        if await retry_failed(session, message.id):
            note = _("🔁 Отправляем ещё раз")
        else:
            note = _("Это сообщение уже не в ошибке.")
        await session.refresh(message)
        await send_ticket_card(query, session, callback_data.id, lang, settings)
        await query.answer(note)

    @router.callback_query(NotifyCb.filter(F.action == "qr"))
    async def for_client(
        query: CallbackQuery, callback_data: NotifyCb, session: AsyncSession,
    ) -> None:
        ticket = await _ticket(query, session, callback_data.id)
        if ticket is None:
            return
        assert query.bot is not None
        link = await StatusLinks(query.bot).ticket(ticket)
        message = callback_message(query)
        if message is not None:
            await message.answer_photo(
                BufferedInputFile(qr_png(link), filename=f"status-{ticket.number}.png"),
                caption=_(
                    "📱 Для клиента: статус обращения [{number}] по QR или по ссылке\n{link}\n"
                    "Покажите клиенту или распечатайте с квитанцией. Этикетка 🏷 — только "
                    "для сотрудников."
                ).format(number=ticket.number, link=link),
            )
        await query.answer()

    return router
