"""The ticket card, composed in one place: the desk's lines and buttons (handlers/ticket_view),
then the money part (handlers/money/card), then the client messages' part
(handlers/notify/delivery), then the intake receipt's button (handlers/intake_receipt). A
feature that adds to the card adds its call here."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.config import Settings
from db.desk.tickets import TicketCard, ticket_card
from db.engine import DbSession
from handlers import intake_receipt
from handlers.money import card as money_card
from handlers.notify import delivery
from handlers.ticket_view import desk_buttons, desk_lines
from handlers.ui import callback_message, edit_and_answer, edit_or_send
from keyboards.common import chunked, markup


async def render_ticket(session: DbSession, ticket: int | TicketCard, lang: str, tz: ZoneInfo
                        ) -> tuple[str, InlineKeyboardMarkup]:
    """The card of a ticket, by id or already loaded (db.desk.tickets `ticket_card*`: the ticket
    with its relations and counts in one statement), so a card opened by number loads once."""
    card = ticket if isinstance(ticket, TicketCard) else await ticket_card(session, ticket)
    loaded = card.ticket
    money_lines, money_rows = await money_card.card_part(session, loaded, lang)
    delivery_lines, delivery_rows = await delivery.card_part(session, loaded, lang, tz)
    lines = [*desk_lines(card, lang, tz), *money_lines, *delivery_lines]
    # Rows of plain lists, not aiogram's InlineKeyboardBuilder: it deep-copies every pydantic
    # button at each step, ~20 % of the card's rendering.
    rows = [*chunked(await desk_buttons(session, loaded, card.comments), 2), *money_rows,
            *delivery_rows, *intake_receipt.card_rows(loaded)]
    return "\n".join(lines), markup(rows)


async def send_ticket_card(target: Message | CallbackQuery, session: DbSession,
                           ticket_id: int | TicketCard, lang: str, settings: Settings, *,
                           edit: bool = True) -> None:
    """The card in place of the tapped message (`edit`), or as a new message below it."""
    text, markup = await render_ticket(session, ticket_id, lang, settings.tz)
    if edit or isinstance(target, Message):
        await edit_or_send(target, text, markup)
        return
    message = callback_message(target)
    if message is not None:
        await message.answer(text, reply_markup=markup)


async def tap_ticket_card(query: CallbackQuery, session: DbSession, ticket_id: int,
                          lang: str, settings: Settings, *, note: str | None = None) -> None:
    """The card in place of the tapped message, the tap answered (`note`) at the same time."""
    text, markup = await render_ticket(session, ticket_id, lang, settings.tz)
    await edit_and_answer(query, text, markup, note=note)
