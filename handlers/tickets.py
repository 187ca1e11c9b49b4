"""Ticket card: opening it (/ticket, #N, the Service list), status changes, history, the
device label. Comments are handlers/comments.py; the card itself handlers/ticket_card.py."""

from __future__ import annotations

import math
import re

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.usecases.notices import NoticeTexts
from bot.usecases.status import change_status
from bot.views.formatting import h, local_dt
from bot.views.labels import label_png
from db.desk.models import Staff
from db.desk.tickets import HistoryEntry, get_ticket, open_tickets, ticket_card_by_number
from db.desk.tickets import ticket_history as load_history
from db.engine import DbSession
from db.errors import DomainError, NotFound
from handlers.clients import ClientsSection, NewClient
from handlers.error_texts import error_text
from handlers.filters import IsStaff, TextIs
from handlers.notify.ready_prompt import show_ready_prompt
from handlers.ticket_card import render_ticket, send_ticket_card, tap_ticket_card
from handlers.ticket_view import (
    render_status_picker,
    service_list_markup,
    status_icon,
    ticket_title,
)
from handlers.ui import callback_message, edit_and_answer
from keyboards.callbacks import (
    LABEL_PREFIX,
    ServiceAction,
    ServiceCb,
    TicketAction,
    TicketCb,
)
from keyboards.common import button, markup
from keyboards.menu import SERVICE

PAGE_SIZE = 10
TICKET_NUMBER = re.compile(r"^#?\s*(\d{1,9})$")


class ServiceSection(StatesGroup):
    active = State()  # a bare number typed here opens that ticket


# Where typed text is no answer to a form's question: no state, the sections, and the "not
# found, name?" of a phone nobody has.
OUTSIDE_FORMS = (None, ServiceSection.active, ClientsSection.search, NewClient.name)


# ---- opening a card ---------------------------------------------------------------------

async def open_by_number(message: Message, session: DbSession, number: int, lang: str,
                         settings: Settings) -> None:
    try:
        card = await ticket_card_by_number(session, number)
    except NotFound:
        await message.answer(_("Обращение [{number}] не найдено.").format(number=number))
        return
    await send_ticket_card(message, session, card, lang, settings)


async def ticket_command(message: Message, command: CommandObject, session: DbSession,
                         lang: str, settings: Settings) -> None:
    match = TICKET_NUMBER.match((command.args or "").strip())
    if not match:
        await message.answer(_("Укажите номер обращения: /ticket 12"))
        return
    await open_by_number(message, session, int(match.group(1)), lang, settings)


async def hash_number(message: Message, session: DbSession, state: FSMContext,
                      raw_state: str | None, lang: str, settings: Settings) -> None:
    """"#N" outside a form: ticket N's card (a pending new client's name is not asked any
    more; the sections stay where they are)."""
    if raw_state == NewClient.name.state:  # read once per update, by the FSM middleware
        await state.clear()
    await open_by_number(message, session, int((message.text or "").lstrip("#").strip()), lang,
                         settings)


async def plain_number(message: Message, session: DbSession, lang: str,
                       settings: Settings) -> None:
    await open_by_number(message, session, int(message.text or "0"), lang, settings)


async def card(query: CallbackQuery, callback_data: TicketCb, session: DbSession, lang: str,
               settings: Settings) -> None:
    await tap_ticket_card(query, session, callback_data.id, lang, settings)


# ---- the Service section ----------------------------------------------------------------

async def service_page(session: DbSession, page: int, lang: str
                       ) -> tuple[str, InlineKeyboardMarkup | None]:
    tickets, total = await open_tickets(session, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    if not total:
        return _("Открытых обращений нет."), None
    pages = max(1, math.ceil(total / PAGE_SIZE))
    lines = [_("🛠 Открытые обращения: {total} · стр. {page}/{pages}").format(
        total=total, page=page + 1, pages=pages)]
    current = None
    for ticket in tickets:
        if ticket.status_id != current:
            current = ticket.status_id
            lines.append(f"\n{status_icon(ticket.status)} <b>{h(ticket.status.title(lang))}</b>")
        lines.append(h(ticket_title(ticket)))
    lines.append(_("\nНомер обращения можно просто написать: 12 или #12."))
    return "\n".join(lines), service_list_markup(tickets, page, pages)


async def service_section(message: Message, session: DbSession, state: FSMContext,
                          lang: str) -> None:
    await state.set_state(ServiceSection.active)
    text, kb = await service_page(session, 0, lang)
    await message.answer(text, reply_markup=kb)


async def service_list_page(query: CallbackQuery, callback_data: ServiceCb, session: DbSession,
                            lang: str) -> None:
    text, kb = await service_page(session, callback_data.page, lang)
    await edit_and_answer(query, text, kb)


# ---- status -------------------------------------------------------------------------------

async def status_picker(query: CallbackQuery, callback_data: TicketCb, session: DbSession,
                        lang: str, settings: Settings) -> None:
    kb = await render_status_picker(session, callback_data.id, lang)
    text, _card = await render_ticket(session, callback_data.id, lang, settings.tz)
    await edit_and_answer(query, text + "\n\n" + _("Выберите новый статус:"), kb)


async def set_status(query: CallbackQuery, callback_data: TicketCb, session: DbSession,
                     staff: Staff, lang: str, settings: Settings, notices: NoticeTexts) -> None:
    try:
        changed = await change_status(session, staff, callback_data.id, callback_data.arg,
                                      notices)
    except DomainError as exc:
        await query.answer(error_text(exc), show_alert=True)
        return
    note = _("Статус: {status}").format(status=changed.ticket.status.title(lang))
    if changed.ask_ready:  # the card with "notify the client?" under it
        await show_ready_prompt(query, session, changed.ticket, lang, settings, note=note)
    else:
        await tap_ticket_card(query, session, changed.ticket.id, lang, settings, note=note)


# ---- history and label --------------------------------------------------------------------

def history_line(entry: HistoryEntry, lang: str, settings: Settings) -> str:
    when = local_dt(entry.created_at, settings.tz, lang)
    who = _("клиент") if entry.by_client else (entry.who or "—")
    if entry.to_status is not None:
        to = entry.to_status.title(lang)
        what = (_("принят, статус «{to}»").format(to=to) if entry.from_status is None
                else f"{entry.from_status.title(lang)} → {to}")
    else:
        labels = {"ticket.comment": _("комментарий"), "ticket.update": _("изменены данные")}
        what = labels.get(entry.action or "", entry.action or "")
    return f"{when} · {h(who)}: {h(what)}"


async def history(query: CallbackQuery, callback_data: TicketCb, session: DbSession, lang: str,
                  settings: Settings) -> None:
    ticket = await get_ticket(session, callback_data.id)
    lines = [_("📜 История [{number}]").format(number=ticket.number)]
    lines += [history_line(e, lang, settings) for e in await load_history(session, ticket.id)]
    back = button(_("← К обращению"), TicketCb(action=TicketAction.CARD, id=ticket.id))
    await edit_and_answer(query, "\n".join(lines), markup([[back]]))


async def label(query: CallbackQuery, callback_data: TicketCb, session: DbSession,
                bot: Bot) -> None:
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


def setup() -> Router:
    router = Router(name="tickets")
    router.message.filter(IsStaff())
    router.callback_query.filter(IsStaff())
    router.message.register(ticket_command, Command("ticket"))
    # "#N" opens ticket N everywhere outside a form (a form refuses it itself: intake/start.py).
    router.message.register(hash_number, StateFilter(*OUTSIDE_FORMS),
                            F.text.regexp(r"^#\s*\d{1,9}$"))
    router.message.register(plain_number, ServiceSection.active, F.text.regexp(r"^\d{1,9}$"))
    router.message.register(service_section, TextIs(SERVICE))
    router.callback_query.register(service_list_page,
                                   ServiceCb.filter(F.action == ServiceAction.PAGE))
    router.callback_query.register(card, TicketCb.filter(F.action == TicketAction.CARD))
    router.callback_query.register(status_picker, TicketCb.filter(F.action == TicketAction.STATUS))
    router.callback_query.register(set_status, TicketCb.filter(F.action == TicketAction.SET))
    router.callback_query.register(history, TicketCb.filter(F.action == TicketAction.HISTORY))
    router.callback_query.register(label, TicketCb.filter(F.action == TicketAction.LABEL))
    return router
