"""A client's answer to an estimate: "Согласовать" / "Отказаться" under the estimate message or
the public view move the ticket (re-checked by the use case: this client, this ticket, still in
the same approval round) and tell the master through the outbox."""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.usecases.client_answer import answer
from bot.usecases.notices import NoticeTexts
from bot.views.formatting import h
from db.desk.models import Client
from db.desk.tickets import get_ticket
from db.engine import DbSession
from db.errors import DomainError, NotFound
from db.notify.client_links import restore_chat
from db.notify.errors import EstimateStale
from handlers.error_texts import error_text
from handlers.filters import IsNotStaff
from handlers.ui import callback_message, edit_markup
from keyboards.notify import EstimateAction, EstimateCb


def _carries(query: CallbackQuery, data: str | None) -> bool:
    """The tapped message really has this button (a forged tap elsewhere edits nothing)."""
    message = callback_message(query)
    markup = message.reply_markup if message is not None else None
    return markup is not None and any(
        b.callback_data == data for row in markup.inline_keyboard for b in row)


async def estimate_answer(query: CallbackQuery, callback_data: EstimateCb, session: DbSession,
                          client: Client | None, lang: str, notices: NoticeTexts) -> None:
    if client is None:  # a chat unlinked after a block, tapping again
        client = await restore_chat(session, query.from_user.id)
    approved = callback_data.action == EstimateAction.APPROVE
    try:
        await answer(session, client.id if client else None, callback_data.id,
                     callback_data.ev, approve=approved, texts=notices)
    except EstimateStale:
        await answer_stale(query, session, callback_data.id, lang)
        return
    except NotFound as exc:
        await query.answer(_("Обращение не найдено.") if "ticket_id" in exc.params
                           else _("Не получилось — позвоните в сервис, пожалуйста."),
                           show_alert=True)
        return
    except DomainError as exc:
        await query.answer(error_text(exc), show_alert=True)
        return
    await show_answered(query, approved)


async def answer_stale(query: CallbackQuery, session: DbSession, ticket_id: int,
                       lang: str) -> None:
    if _carries(query, query.data):
        await edit_markup(query, None)  # the stale buttons go away
    ticket = await get_ticket(session, ticket_id)
    await query.answer(_("Это уже неактуально: статус ремонта — «{status}».").format(
        status=ticket.status.title(lang)), show_alert=True)


async def show_answered(query: CallbackQuery, approved: bool) -> None:
    note = (_("✅ Спасибо! Ремонт согласован — мастер приступает к работе.") if approved
            else _("Вы отказались от ремонта. Устройство можно забрать в сервисе."))
    message = callback_message(query)
    if message is not None:
        try:
            await message.edit_text(h(message.text or "") + "\n\n" + note, reply_markup=None)
        except TelegramBadRequest:
            await message.answer(note)
    await query.answer(_("Согласовано") if approved else _("Отказ принят"))


def setup() -> Router:
    router = Router(name="client_answers")
    router.callback_query.filter(IsNotStaff())
    router.callback_query.register(estimate_answer, EstimateCb.filter())
    return router
