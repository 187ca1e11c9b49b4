"""What a client (anyone who is not staff) sees.

* /start — a greeting and a "📱 Поделиться номером" button (request_contact). A shared contact
  counts only when it is the sender's own (contact.user_id == from_user.id); its phone links the
  chat to the client with that phone, or to a new self-registered client.
* /start st_<token> — the ticket's public status in one tap (from the QR / link on the intake
  receipt or in a message); the chat is linked only when the shared phone is that ticket's
  client's phone.
* /status — the client's tickets, open first; a tap opens the public view.
* Estimate answers — "Согласовать" / "Отказаться" move the ticket (re-checked: this client, this
  ticket, still in the same approval round) and tell the master through the outbox.

Nothing staff-only is ever shown: no lock code, comments, expenses or master's share.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.usecases.client_answer import answer
from bot.usecases.notices import NoticeTexts
from bot.views.client_notices import client_lang
from bot.views.formatting import h
from db.desk.models import Client, Ticket
from db.desk.phones import format_phone
from db.desk.tickets import get_ticket, get_ticket_by_token
from db.errors import DomainError, NotFound
from db.notify.client_links import (
    link_by_contact,
    link_by_ticket_token,
    restore_chat,
)
from db.notify.errors import EstimateStale, ForeignContact, PhoneMismatch, TokenInvalid
from handlers.error_texts import error_text
from handlers.filters import IsNotStaff
from handlers.notify.error_texts import share_button_text
from handlers.notify.public import my_tickets_view, public_view
from handlers.ui import callback_message, edit_markup, edit_or_send
from keyboards.notify import STATUS_PREFIX, EstimateCb, MyTicketCb, contact_keyboard

log = logging.getLogger(__name__)
TOKEN_KEY = "status_token"  # FSM data: the ticket token a contact should be checked against


def client_greeting(settings: Settings) -> str:
    lines = [_("Здравствуйте! Это бот сервисного центра «{shop}».").format(
        shop=h(settings.shop_name))]
    if settings.shop_address:
        lines.append(_("Адрес: {address}").format(address=h(settings.shop_address)))
    if settings.shop_phone:
        lines.append(_("Телефон: {phone}").format(phone=h(settings.shop_phone)))
    return "\n".join(lines)


def contact_phone(raw: str) -> str:
    """Telegram gives the shared number in international form, often without the "+"."""
    raw = raw.strip()
    return raw if raw.startswith("+") else "+" + raw


async def _linked(session: AsyncSession, client: Client | None, chat_id: int) -> Client | None:
    """The chat's client; relinks a chat unlinked after a block when it writes again."""
    if client is not None:
        return client
    return await restore_chat(session, chat_id)


def _carries(query: CallbackQuery, data: str | None) -> bool:
    """The tapped message really has this button (a forged tap elsewhere edits nothing)."""
    message = callback_message(query)
    markup = message.reply_markup if message is not None else None
    return markup is not None and any(
        b.callback_data == data for row in markup.inline_keyboard for b in row)


def setup(settings: Settings) -> Router:
    router = Router(name="client")
    router.message.filter(IsNotStaff())
    router.callback_query.filter(IsNotStaff())
    tz = settings.tz

    async def ask_contact(message: Message, text: str) -> None:
        await message.answer(text, reply_markup=contact_keyboard(share_button_text()))

    async def show_list(message: Message, session: AsyncSession, client: Client,
                        lang: str) -> None:
        text, kb = await my_tickets_view(session, client, lang, tz)
        await message.answer(text, reply_markup=kb)

    # ---- /start ------------------------------------------------------------------------------
    @router.message(CommandStart(deep_link=True, magic=F.args.startswith(STATUS_PREFIX)))
    async def start_status(message: Message, command: CommandObject, session: AsyncSession,
                           state: FSMContext, client: Client | None, i18n: I18n,
                           lang: str) -> None:
        token = (command.args or "")[len(STATUS_PREFIX):]
        ticket = await get_ticket_by_token(session, token) if token else None
        viewer = await _linked(session, client, message.chat.id)
        if viewer is not None and viewer is not client:
            lang = client_lang(viewer, settings)
        if ticket is None:
            with i18n.use_locale(lang):
                await message.answer(error_text(TokenInvalid("unknown token")))
                if viewer is None:
                    await ask_contact(message, client_greeting(settings) + "\n\n" + _(
                        "Поделитесь номером телефона — и уведомления о ремонте будут "
                        "приходить сюда."))
                else:
                    await show_list(message, session, viewer, lang)
            return
        with i18n.use_locale(lang):
            text, kb = await public_view(session, ticket, lang, tz, settings, viewer=viewer)
            await message.answer(text, reply_markup=kb)
            if viewer is None or viewer.id != ticket.client_id:
                await state.update_data({TOKEN_KEY: token})
                await ask_contact(message, _(
                    "Чтобы получать уведомления об этом ремонте здесь, поделитесь номером "
                    "телефона, который вы оставили в сервисе."))

    @router.message(CommandStart())
    async def start(message: Message, session: AsyncSession, state: FSMContext,
                    client: Client | None, i18n: I18n, lang: str) -> None:
        await state.clear()
        viewer = await _linked(session, client, message.chat.id)
        if viewer is None:
            await ask_contact(message, client_greeting(settings) + "\n\n" + _(
                "Поделитесь номером телефона — и уведомления о ремонте будут приходить сюда: "
                "когда устройство готово, смета на согласование, чеки."))
            return
        with i18n.use_locale(client_lang(viewer, settings)):
            await message.answer(client_greeting(settings) + "\n\n" + _(
                "Уведомления о ремонте приходят сюда. Ваши ремонты — /status."),
                reply_markup=ReplyKeyboardRemove())

    @router.message(Command("help"))
    async def help_client(message: Message, client: Client | None) -> None:
        text = client_greeting(settings) + "\n\n" + _(
            "Здесь приходят уведомления о ремонте: когда устройство готово, смета на "
            "согласование и чеки.") + "\n" + _("/status — ваши ремонты.")
        if client is None:
            await ask_contact(message, text + "\n" + _(
                "Чтобы подключить уведомления, поделитесь номером телефона."))
        else:
            await message.answer(text)

    # ---- linking by contact -----------------------------------------------------------------
    @router.message(F.contact)
    async def got_contact(message: Message, session: AsyncSession, state: FSMContext,
                          i18n: I18n, lang: str) -> None:
        user, contact = message.from_user, message.contact
        if user is None or contact is None:
            return
        token = (await state.get_data()).get(TOKEN_KEY)
        common = {"tg_user_id": user.id, "chat_id": message.chat.id,
                  "contact_user_id": contact.user_id,
                  "phone_text": contact_phone(contact.phone_number),
                  "language": user.language_code, "region": settings.default_region}
        try:
            if token:
                result = await link_by_ticket_token(session, token=token, **common)
            else:
                result = await link_by_contact(session, first_name=contact.first_name or "",
                                               last_name=contact.last_name or "", **common)
        except ForeignContact as exc:
            await ask_contact(message, error_text(exc))
            return
        except (PhoneMismatch, TokenInvalid) as exc:
            await state.update_data({TOKEN_KEY: None})
            text = error_text(exc)
            if settings.shop_phone:
                text += "\n" + _("Телефон: {phone}").format(phone=h(settings.shop_phone))
            await message.answer(text, reply_markup=ReplyKeyboardRemove())
            return
        except DomainError as exc:  # InvalidPhone
            await ask_contact(message, error_text(exc))
            return
        await state.clear()
        client = result.client
        new_lang = client_lang(client, settings)
        with i18n.use_locale(new_lang):
            await message.answer(
                _("✅ Готово, номер {phone} подтверждён. Уведомления о ремонте будут приходить "
                  "сюда.").format(phone=format_phone(client.phone)),
                reply_markup=ReplyKeyboardRemove())
            ticket = await get_ticket_by_token(session, token) if token else None
            if ticket is not None:
                text, kb = await public_view(session, ticket, new_lang, tz, settings,
                                             viewer=client)
                await message.answer(text, reply_markup=kb)
            else:
                await show_list(message, session, client, new_lang)

    # ---- /status and the public view ----------------------------------------------------------
    @router.message(Command("status"))
    async def status(message: Message, session: AsyncSession, client: Client | None,
                     i18n: I18n, lang: str) -> None:
        viewer = await _linked(session, client, message.chat.id)
        if viewer is None:
            await ask_contact(message, _(
                "Чтобы увидеть свои ремонты, поделитесь номером телефона, который вы оставили "
                "в сервисе."))
            return
        with i18n.use_locale(client_lang(viewer, settings)):
            await show_list(message, session, viewer, client_lang(viewer, settings))

    @router.callback_query(MyTicketCb.filter(F.action == "list"))
    async def list_tickets(query: CallbackQuery, session: AsyncSession,
                           client: Client | None, lang: str) -> None:
        client = await _linked(session, client, query.from_user.id)
        if client is None:
            await query.answer(_("Сначала поделитесь номером: /start"), show_alert=True)
            return
        text, kb = await my_tickets_view(session, client, lang, tz)
        await edit_or_send(query, text, kb)
        await query.answer()

    @router.callback_query(MyTicketCb.filter(F.action.in_({"view", "open"})))
    async def view_ticket(query: CallbackQuery, callback_data: MyTicketCb,
                          session: AsyncSession, client: Client | None, lang: str) -> None:
        client = await _linked(session, client, query.from_user.id)
        ticket = await session.get(Ticket, callback_data.id)
        if client is None or ticket is None or ticket.client_id != client.id:
            await query.answer(_("Обращение не найдено."), show_alert=True)
            return
        ticket = await get_ticket(session, ticket.id)
        text, kb = await public_view(session, ticket, lang, tz, settings, viewer=client)
        if callback_data.action == "open":
            await edit_or_send(query, text, kb)  # from the list: in place
        else:
            message = callback_message(query)  # from a notification: keep it, answer below
            if message is not None:
                await message.answer(text, reply_markup=kb)
        await query.answer()

    # ---- estimate answers ---------------------------------------------------------------------
    @router.callback_query(EstimateCb.filter(F.action.in_({"ok", "no"})))
    async def estimate_answer(
        query: CallbackQuery, callback_data: EstimateCb, session: AsyncSession,
        client: Client | None, lang: str, notices: NoticeTexts,
    ) -> None:
        client = await _linked(session, client, query.from_user.id)
        approved = callback_data.action == "ok"
        try:
            await answer(session, client.id if client else None, callback_data.id,
                         callback_data.ev, approve=approved, texts=notices)
        except EstimateStale:
            if _carries(query, query.data):
                await edit_markup(query, None)  # the stale buttons go away
            ticket = await get_ticket(session, callback_data.id)
            await query.answer(_("Это уже неактуально: статус ремонта — «{status}».").format(
                status=ticket.status.title(lang)), show_alert=True)
            return
        except NotFound as exc:
            await query.answer(_("Обращение не найдено.") if "ticket_id" in exc.params
                               else _("Не получилось — позвоните в сервис, пожалуйста."),
                               show_alert=True)
            return
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        note = (_("✅ Спасибо! Ремонт согласован — мастер приступает к работе.") if approved
                else _("Вы отказались от ремонта. Устройство можно забрать в сервисе."))
        message = callback_message(query)
        if message is not None:
            try:
                await message.edit_text(h(message.text or "") + "\n\n" + note,
                                        reply_markup=None)
            except TelegramBadRequest:
                await message.answer(note)
        await query.answer(_("Согласовано") if approved else _("Отказ принят"))

    # ---- anything else ------------------------------------------------------------------------
    @router.message(F.text, ~F.text.startswith("/"))
    async def other_text(message: Message, session: AsyncSession,
                         client: Client | None) -> None:
        viewer = await _linked(session, client, message.chat.id)
        text = _("Я сообщаю о ремонте и не читаю сообщения. Ваши ремонты — /status.")
        if settings.shop_phone:
            text += "\n" + _("Вопросы — по телефону {phone}.").format(
                phone=h(settings.shop_phone))
        if viewer is None:
            await ask_contact(message, text)
        else:
            await message.answer(text)

    return router
