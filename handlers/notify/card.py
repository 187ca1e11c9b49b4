"""Staff buttons on the ticket card: "✅ Можно забирать" (move + ask), the template taps of the
"notify?" prompt, "не уведомлять", "повторить", and "📱 Для клиента" (QR of the status link)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.usecases.notices import NoticeTexts, ReadySent, queue_ready
from bot.usecases.status import change_status
from bot.views.labels import qr_png
from bot.views.links import StatusLinks
from db.desk.models import Staff, StatusKind, Ticket
from db.desk.tickets import get_status, get_ticket
from db.engine import DbSession
from db.errors import DomainError, NotFound
from db.notify.outbox import retry_ticket_message
from handlers.error_texts import error_text
from handlers.filters import IsStaff
from handlers.notify.ready_prompt import show_ready_prompt
from handlers.ticket_card import send_ticket_card, tap_ticket_card
from handlers.ui import callback_message
from keyboards.notify import NotifyAction, NotifyCb


async def _ticket(query: CallbackQuery, session: DbSession, ticket_id: int) -> Ticket | None:
    try:
        return await get_ticket(session, ticket_id)
    except NotFound:
        await query.answer(_("Обращение не найдено."), show_alert=True)
        return None


async def move_to_ready(query: CallbackQuery, callback_data: NotifyCb, session: DbSession,
                        staff: Staff, lang: str, settings: Settings,
                        notices: NoticeTexts) -> None:
    """The card's shortcut: the same as Статус → Можно забирать, one tap less."""
    try:
        status = await get_status(session, callback_data.arg)
    except NotFound:
        status = None
    if status is None or status.kind != StatusKind.READY:  # not the status the button named
        await query.answer(_("Кнопка устарела — откройте карточку заново."), show_alert=True)
        return
    try:
        changed = await change_status(session, staff, callback_data.id, status.id, notices)
    except DomainError as exc:
        await query.answer(error_text(exc), show_alert=True)
        return
    note = _("Статус: {status}").format(status=status.title(lang))
    if changed.ask_ready:
        await show_ready_prompt(query, session, changed.ticket, lang, settings, note=note)
    else:
        await tap_ticket_card(query, session, callback_data.id, lang, settings, note=note)


async def send_ready(query: CallbackQuery, callback_data: NotifyCb, session: DbSession,
                     lang: str, settings: Settings, notices: NoticeTexts) -> None:
    try:
        sent = await queue_ready(session, callback_data.id, callback_data.arg, notices)
    except NotFound:
        await query.answer(_("Обращение не найдено."), show_alert=True)
        return
    except DomainError as exc:
        await query.answer(error_text(exc), show_alert=True)
        return
    if sent is ReadySent.NO_TEMPLATE:
        await query.answer(_("Шаблон не найден — откройте карточку заново."), show_alert=True)
        return
    await send_ticket_card(query, session, callback_data.id, lang, settings)
    if sent is ReadySent.NOT_READY:
        await query.answer(_("Статус уже другой — клиент не уведомлён."), show_alert=True)
    elif sent is ReadySent.ALREADY_SENT:
        await query.answer(_("Клиенту уже отправлено."))
    else:
        await query.answer(_("📨 Отправляем клиенту"))


async def skip(query: CallbackQuery, callback_data: NotifyCb, session: DbSession, lang: str,
               settings: Settings) -> None:
    if await _ticket(query, session, callback_data.id) is None:
        return
    await tap_ticket_card(query, session, callback_data.id, lang, settings,
                          note=_("Клиент не уведомлён."))


async def retry(query: CallbackQuery, callback_data: NotifyCb, session: DbSession, lang: str,
                settings: Settings) -> None:
    try:
        retried = await retry_ticket_message(session, callback_data.id, callback_data.arg)
    except NotFound:
        await query.answer(_("Сообщение не найдено."), show_alert=True)
        return
    note = _("🔁 Отправляем ещё раз") if retried else _("Это сообщение уже не в ошибке.")
    await tap_ticket_card(query, session, callback_data.id, lang, settings, note=note)


async def for_client(query: CallbackQuery, callback_data: NotifyCb, session: DbSession,
                     bot: Bot) -> None:
    ticket = await _ticket(query, session, callback_data.id)
    if ticket is None:
        return
    link = await StatusLinks(bot).ticket(ticket)
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


def setup() -> Router:
    router = Router(name="notify_card")
    router.callback_query.filter(IsStaff())
    router.callback_query.register(move_to_ready,
                                   NotifyCb.filter(F.action == NotifyAction.READY))
    router.callback_query.register(send_ready, NotifyCb.filter(F.action == NotifyAction.SEND))
    router.callback_query.register(skip, NotifyCb.filter(F.action == NotifyAction.SKIP))
    router.callback_query.register(retry, NotifyCb.filter(F.action == NotifyAction.RETRY))
    router.callback_query.register(for_client, NotifyCb.filter(F.action == NotifyAction.QR))
    return router
