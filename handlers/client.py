"""What a client (anyone who is not staff) sees.

* /start — a greeting and a "📱 Поделиться номером" button (request_contact). A shared contact
  counts only when it is the sender's own (contact.user_id == from_user.id); its phone links the
  chat to the client with that phone, or to a new self-registered client.
* /start st_<token> — the ticket's public status in one tap (from the QR / link on the intake
  receipt or in a message); the chat is linked only when the shared phone is that ticket's
  client's phone.
* /status — the client's tickets, open first; a tap opens the public view.
* Estimate answers ("Согласовать" / "Отказаться") are handlers/client_answers.py.

Nothing staff-only is ever shown: no lock code, comments, expenses or master's share.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.client_notices import client_lang
from bot.views.formatting import h
from db.desk.models import Client
from db.desk.phones import format_phone
from db.desk.tickets import get_ticket_by_token
from db.engine import DbSession
from db.errors import DomainError, NotFound
from db.notify.client_links import (
    SharedContact,
    choose_language,
    client_ticket,
    link_shared_contact,
    restore_chat,
)
from db.notify.errors import ForeignContact, PhoneMismatch, TokenInvalid
from handlers.error_texts import error_text
from handlers.filters import IsNotStaff
from handlers.forms import FormData, load, save
from handlers.notify.error_texts import share_button_text
from handlers.notify.public import my_tickets_view, public_view
from handlers.ui import callback_message, edit_and_answer, edit_or_send
from keyboards.notify import (
    STATUS_PREFIX,
    ClientLangCb,
    MyTicketAction,
    MyTicketCb,
    contact_keyboard,
)


class StatusLinkData(FormData):
    """Kept between a status link (/start st_…) and the contact shared after it: the chat is
    linked only when the phone is that ticket's client's."""

    token: str | None = None


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


async def _linked(session: DbSession, client: Client | None, chat_id: int) -> Client | None:
    """The chat's client; relinks a chat unlinked after a block when it writes again."""
    if client is not None:
        return client
    return await restore_chat(session, chat_id)


async def ask_contact(message: Message, text: str) -> None:
    await message.answer(text, reply_markup=contact_keyboard(share_button_text()))


async def show_list(message: Message, session: DbSession, client: Client, lang: str,
                    settings: Settings) -> None:
    text, kb = await my_tickets_view(session, client, lang, settings.tz)
    await message.answer(text, reply_markup=kb)


# ---- /start ----------------------------------------------------------------------------------

async def start_status(message: Message, command: CommandObject, session: DbSession,
                       state: FSMContext, client: Client | None, i18n: I18n, lang: str,
                       settings: Settings) -> None:
    token = (command.args or "")[len(STATUS_PREFIX):]
    ticket = await get_ticket_by_token(session, token) if token else None
    viewer = await _linked(session, client, message.chat.id)
    if viewer is not None and viewer is not client:
        lang = client_lang(viewer, settings)
    elif viewer is None and ticket is not None:
        lang = client_lang(ticket.client, settings)  # the language the shop writes to them in
    with i18n.use_locale(lang):
        if ticket is None:
            await message.answer(error_text(TokenInvalid("unknown token")))
            if viewer is None:
                await ask_contact(message, client_greeting(settings) + "\n\n" + _(
                    "Поделитесь номером телефона — и уведомления о ремонте будут "
                    "приходить сюда."))
            else:
                await show_list(message, session, viewer, lang, settings)
            return
        text, kb = await public_view(session, ticket, lang, settings.tz, settings, viewer=viewer)
        await message.answer(text, reply_markup=kb)
        if viewer is None or viewer.id != ticket.client_id:
            await save(state, StatusLinkData(token=token))
            await ask_contact(message, _(
                "Чтобы получать уведомления об этом ремонте здесь, поделитесь номером "
                "телефона, который вы оставили в сервисе."))


async def start(message: Message, session: DbSession, state: FSMContext, client: Client | None,
                i18n: I18n, settings: Settings) -> None:
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


async def help_client(message: Message, client: Client | None, settings: Settings) -> None:
    text = client_greeting(settings) + "\n\n" + _(
        "Здесь приходят уведомления о ремонте: когда устройство готово, смета на "
        "согласование и чеки.") + "\n" + _("/status — ваши ремонты.")
    if client is None:
        await ask_contact(message, text + "\n" + _(
            "Чтобы подключить уведомления, поделитесь номером телефона."))
    else:
        await message.answer(text)


# ---- linking by contact -------------------------------------------------------------------

async def got_contact(message: Message, session: DbSession, state: FSMContext, i18n: I18n,
                      settings: Settings) -> None:
    user, contact = message.from_user, message.contact
    if user is None or contact is None:
        return
    data = await load(state, StatusLinkData)
    token = data.token if data is not None else None
    shared = SharedContact(
        tg_user_id=user.id, chat_id=message.chat.id, contact_user_id=contact.user_id,
        phone_text=contact_phone(contact.phone_number), first_name=contact.first_name or "",
        last_name=contact.last_name or "")  # the language stays the one spoken so far
    try:
        result = await link_shared_contact(session, shared, token=token,
                                           region=settings.default_region)
    except ForeignContact as exc:
        await ask_contact(message, error_text(exc))
        return
    except (PhoneMismatch, TokenInvalid) as exc:
        await save(state, StatusLinkData())  # the link's ticket is not theirs: forget it
        text = error_text(exc)
        if settings.shop_phone:
            text += "\n" + _("Телефон: {phone}").format(phone=h(settings.shop_phone))
        await message.answer(text, reply_markup=ReplyKeyboardRemove())
        return
    except DomainError as exc:  # InvalidPhone
        await ask_contact(message, error_text(exc))
        return
    await state.clear()
    with i18n.use_locale(client_lang(result.client, settings)):
        await linked(message, session, result.client, token, settings)


async def linked(message: Message, session: DbSession, client: Client, token: str | None,
                 settings: Settings) -> None:
    """Confirm the link, then what the person came for: the link's ticket, or their list."""
    lang = client_lang(client, settings)
    await message.answer(
        _("✅ Готово, номер {phone} подтверждён. Уведомления о ремонте будут приходить "
          "сюда.").format(phone=format_phone(client.phone)),
        reply_markup=ReplyKeyboardRemove())
    ticket = await get_ticket_by_token(session, token) if token else None
    if ticket is not None:
        text, kb = await public_view(session, ticket, lang, settings.tz, settings, viewer=client)
        await message.answer(text, reply_markup=kb)
    else:
        await show_list(message, session, client, lang, settings)


# ---- /status and the public view --------------------------------------------------------------

async def status(message: Message, session: DbSession, client: Client | None, i18n: I18n,
                 settings: Settings) -> None:
    viewer = await _linked(session, client, message.chat.id)
    if viewer is None:
        await ask_contact(message, _(
            "Чтобы увидеть свои ремонты, поделитесь номером телефона, который вы оставили "
            "в сервисе."))
        return
    lang = client_lang(viewer, settings)
    with i18n.use_locale(lang):
        await show_list(message, session, viewer, lang, settings)


async def choose_language_cb(query: CallbackQuery, callback_data: ClientLangCb,
                             session: DbSession, client: Client | None, i18n: I18n,
                             settings: Settings) -> None:
    """🌐 under the client's list: the shop writes to them in that language from now on."""
    client = await _linked(session, client, query.from_user.id)
    if client is None:
        await query.answer(_("Сначала поделитесь номером: /start"), show_alert=True)
        return
    if not await choose_language(session, client, callback_data.lang):
        await query.answer(_("Кнопка устарела."), show_alert=True)
        return
    lang = client_lang(client, settings)
    with i18n.use_locale(lang):
        text, kb = await my_tickets_view(session, client, lang, settings.tz)
        await edit_and_answer(query, text, kb)


async def list_tickets(query: CallbackQuery, session: DbSession, client: Client | None,
                       lang: str, settings: Settings) -> None:
    client = await _linked(session, client, query.from_user.id)
    if client is None:
        await query.answer(_("Сначала поделитесь номером: /start"), show_alert=True)
        return
    text, kb = await my_tickets_view(session, client, lang, settings.tz)
    await edit_and_answer(query, text, kb)


async def view_ticket(query: CallbackQuery, callback_data: MyTicketCb, session: DbSession,
                      client: Client | None, lang: str, settings: Settings) -> None:
    client = await _linked(session, client, query.from_user.id)
    try:
        ticket = await client_ticket(session, client.id if client else None, callback_data.id)
    except NotFound:
        await query.answer(_("Обращение не найдено."), show_alert=True)
        return
    text, kb = await public_view(session, ticket, lang, settings.tz, settings, viewer=client)
    if callback_data.action == MyTicketAction.OPEN:
        await edit_or_send(query, text, kb)  # from the list: in place
    else:
        message = callback_message(query)  # from a notification: keep it, answer below
        if message is not None:
            await message.answer(text, reply_markup=kb)
    await query.answer()


# ---- anything else ----------------------------------------------------------------------------

async def other_text(message: Message, session: DbSession, client: Client | None,
                     settings: Settings) -> None:
    viewer = await _linked(session, client, message.chat.id)
    text = _("Я сообщаю о ремонте и не читаю сообщения. Ваши ремонты — /status.")
    if settings.shop_phone:
        text += "\n" + _("Вопросы — по телефону {phone}.").format(phone=h(settings.shop_phone))
    if viewer is None:
        await ask_contact(message, text)
    else:
        await message.answer(text)


def setup() -> Router:
    router = Router(name="client")
    router.message.filter(IsNotStaff())
    router.callback_query.filter(IsNotStaff())
    router.message.register(start_status, CommandStart(
        deep_link=True, magic=F.args.startswith(STATUS_PREFIX)))
    router.message.register(start, CommandStart())
    router.message.register(help_client, Command("help"))
    router.message.register(got_contact, F.contact)
    router.message.register(status, Command("status"))
    router.callback_query.register(list_tickets,
                                   MyTicketCb.filter(F.action == MyTicketAction.LIST))
    router.callback_query.register(choose_language_cb, ClientLangCb.filter())
    router.callback_query.register(view_ticket, MyTicketCb.filter(
        F.action.in_({MyTicketAction.VIEW, MyTicketAction.OPEN})))
    router.message.register(other_text, F.text, ~F.text.startswith("/"))
    return router
