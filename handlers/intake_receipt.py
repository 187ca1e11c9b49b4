""""🧾 Квитанция" on the ticket card: the intake receipt PDF for the staff member to print or
forward, and one copy to the client's chat when it is linked (bot/usecases/intake_receipt.py).
The button is composed into the card by handlers/ticket_card.py."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.usecases.intake_receipt import ClientCopy, queue_for_client, receipt_facts
from bot.views.client_notices import in_locale
from bot.views.intake_receipt import intake_receipt_pdf, receipt_filename
from bot.views.links import StatusLinks
from db.desk.models import Ticket
from db.engine import DbSession
from db.errors import NotFound
from handlers.filters import IsStaff
from handlers.ui import callback_message
from keyboards.callbacks import TicketAction, TicketCb
from keyboards.common import button


def card_rows(ticket: Ticket) -> list[list[InlineKeyboardButton]]:
    return [[button(_("🧾 Квитанция о приёме (PDF)"),
                    TicketCb(action=TicketAction.RECEIPT, id=ticket.id))]]


def copy_note(copy: ClientCopy) -> str | None:
    return {
        ClientCopy.QUEUED: _("📨 Копия уходит клиенту в Telegram."),
        ClientCopy.ALREADY: _("Клиенту квитанция уже отправлялась."),
        ClientCopy.FAILED: _("Клиенту отправить не удалось — перешлите файл сами."),
    }.get(copy)


async def send_receipt(query: CallbackQuery, callback_data: TicketCb, session: DbSession,
                       bot: Bot, settings: Settings) -> None:
    try:
        facts = await receipt_facts(session, callback_data.id, settings.client_language)
    except NotFound:
        await query.answer(_("Обращение не найдено."), show_alert=True)
        return
    message = callback_message(query)
    if message is None:
        await query.answer(_("Кнопка устарела — откройте карточку заново."), show_alert=True)
        return
    ticket = facts.ticket
    link = await StatusLinks(bot).ticket(ticket)
    with in_locale(facts.language):  # the client's paper, in the client's language
        pdf = intake_receipt_pdf(facts, settings.shop, link, settings.tz)
        client_caption = _("🧾 Квитанция о приёме №{number}. Статус ремонта: {link}").format(
            number=ticket.number, link=link)
    sent = await message.answer_document(
        BufferedInputFile(pdf, filename=receipt_filename(ticket.number)),
        caption=_("🧾 Квитанция о приёме [{number}] — распечатайте или перешлите клиенту.")
        .format(number=ticket.number))
    copy = ClientCopy.FAILED
    if sent.document is not None:
        copy = await queue_for_client(session, ticket, sent.document.file_id, client_caption)
    await query.answer(copy_note(copy))


def setup() -> Router:
    router = Router(name="intake_receipt")
    router.callback_query.filter(IsStaff())
    router.callback_query.register(send_receipt,
                                   TicketCb.filter(F.action == TicketAction.RECEIPT))
    return router
