"""The "notify the client?" prompt shown on the card after a move to READY: the card, the
question, one button per "можно забирать" template, and "не уведомлять"."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.client_notices import client_lang
from bot.views.formatting import h, money
from bot.views.templates import language_name, template_label
from db.desk.models import Ticket
from db.desk.phones import format_phone
from db.engine import DbSession
from db.money.closing import amount_due
from db.notify.templates import ready_templates
from handlers.ticket_card import render_ticket
from handlers.ui import edit_and_answer
from keyboards.common import button
from keyboards.notify import NotifyAction, NotifyCb


async def show_ready_prompt(query: CallbackQuery, session: DbSession, ticket: Ticket, lang: str,
                            settings: Settings, *, note: str | None = None) -> None:
    """Edit the card in place with the prompt under it; the tap answered (`note`) meanwhile."""
    text, card = await render_ticket(session, ticket.id, lang, settings.tz)
    client = ticket.client
    lines = [_("📨 <b>Сообщить клиенту, что можно забирать?</b>")]
    if client.tg_chat_id is not None:
        lines.append(_("Куда: 💬 Telegram"))
    else:
        lines.append(_("Куда: 📩 SMS на {phone}").format(phone=format_phone(client.phone)))
    due = await amount_due(session, ticket.id)
    if due:
        lines.append(_("К оплате в сообщении: {amount}").format(amount=money(due, lang)))
    templates = await ready_templates(session, client_lang(client, settings))
    if templates and templates[0].language != lang:
        lines.append(_("Язык сообщения: {language}").format(
            language=h(language_name(templates[0].language))))
    rows: list[list[InlineKeyboardButton]] = [
        [button(f"📨 {template_label(t)}" + (" ⭐" if t.is_default else ""),
                NotifyCb(action=NotifyAction.SEND, id=ticket.id, arg=t.id))]
        for t in templates
    ]
    if not templates:
        lines.append(_("Нет шаблонов «Можно забирать» — добавьте в /templates."))
    rows.append([button(_("🔕 Не уведомлять"), NotifyCb(action=NotifyAction.SKIP, id=ticket.id))])
    keyboard = InlineKeyboardMarkup(inline_keyboard=rows + card.inline_keyboard)
    await edit_and_answer(query, text + "\n\n" + "\n".join(lines), keyboard, note=note)
