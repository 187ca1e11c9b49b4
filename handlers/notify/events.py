"""Follow-ups of staff actions (registered once, at import, on the hooks of handlers/tickets.py,
handlers/intake.py and handlers/ticket_view.py):

* intake → the client's confirmation with the ticket number and the status link;
* a READY status → the card (same message) asks whether to notify, offering the templates;
* the "approval" status → the estimate with Approve / Decline buttons;
* other statuses the client cares about (in progress, waiting, refused) → a short update, only
  to clients with a linked chat (free; an SMS per status move would cost the shop money);
* the card shows the delivery state of the ticket's messages and offers "повторить".

Every enqueue happens in the update's transaction (the outbox row exists exactly when the
status change does) with a dedup key naming the event, and wakes the worker after the commit.
A notification problem never breaks the staff action: domain errors are logged and skipped.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services import Services
from bot.views.formatting import BABEL_LOCALES, h, money
from db.desk.models import Staff, Status, StatusKind, Ticket
from db.desk.phones import format_phone
from db.desk.tickets import allowed_targets, get_ticket
from db.errors import DomainError
from db.money.closing import amount_due
from db.notify.client_links import APPROVAL, entered_change_id
from db.notify.models import MessageKind, MessageTemplate, OutboxMessage, OutboxState
from db.notify.outbox import DeliveryStatus, delivery_state, enqueue_for_ticket
from db.notify.settings import notification_enabled
from db.notify.templates import list_templates
from handlers.intake import AFTER_INTAKE
from handlers.notify.public import (
    client_lang,
    estimate_buttons,
    estimate_text,
    in_locale,
    intake_text,
    status_link,
    status_text,
)
from handlers.ticket_view import CARD_LINES, CARD_ROWS, render_ticket
from handlers.tickets import AFTER_STATUS
from handlers.ui import edit_or_send
from keyboards.common import button
from keyboards.notify import MyTicketCb, NotifyCb

log = logging.getLogger(__name__)

STAFF_KIND = "staff"  # outbox messages to staff (e.g. "the client approved"), not to clients
CARD_MESSAGES = 4  # delivery lines on the card
STATUS_KINDS = (StatusKind.IN_PROGRESS, StatusKind.WAITING, StatusKind.REFUSED)


def wake_after_commit(after_commit: list | None, services: Services | None) -> None:
    """Wake the outbox worker once the update's transaction has committed."""
    if after_commit is None or services is None:
        return

    async def wake() -> None:
        services.outbox_wakeup.set()

    after_commit.append(wake)


def view_button(ticket_id: int) -> list[list[dict[str, str]]]:
    """The outbox form of a "📋 Статус ремонта" button (the client's locale is current)."""
    return [[{"text": _("📋 Статус ремонта"),
              "callback_data": MyTicketCb(action="view", id=ticket_id).pack()}]]


async def _enqueue(session: AsyncSession, ticket_id: int, **values: object) -> bool:
    try:
        return await enqueue_for_ticket(session, ticket_id, **values) is not None  # type: ignore[arg-type]
    except DomainError:
        log.exception("ticket %s: %s notification not enqueued", ticket_id, values.get("kind"))
        return False


# -- AFTER_INTAKE -------------------------------------------------------------------------------

async def after_intake(
    query: CallbackQuery | None = None, session: AsyncSession | None = None,
    staff: Staff | None = None, ticket_id: int | None = None, lang: str = "ru",
    settings: Settings | None = None, services: Services | None = None,
    after_commit: list | None = None, **_unused: object,
) -> None:
    if session is None or ticket_id is None or settings is None or query is None:
        return
    if not await notification_enabled(session, MessageKind.INTAKE):
        return
    ticket = await get_ticket(session, ticket_id)
    assert query.bot is not None
    link = await status_link(query.bot, ticket)
    with in_locale(client_lang(ticket.client, settings)):
        text, sms = intake_text(ticket, link, settings)
        buttons = view_button(ticket.id)
    if await _enqueue(session, ticket.id, kind=MessageKind.INTAKE, text=text, sms_text=sms,
                      buttons=buttons, event="open"):
        wake_after_commit(after_commit, services)


# -- AFTER_STATUS -------------------------------------------------------------------------------

async def after_status(
    query: CallbackQuery | None = None, session: AsyncSession | None = None,
    staff: Staff | None = None, ticket_id: int | None = None, status: Status | None = None,
    lang: str = "ru", settings: Settings | None = None, services: Services | None = None,
    after_commit: list | None = None, **_unused: object,
) -> None:
    """Positional calls work too (query, session, staff, ticket_id, status, lang, settings)."""
    if session is None or ticket_id is None or status is None or settings is None:
        return
    if status.kind == StatusKind.READY:
        if query is not None and await notification_enabled(session, MessageKind.READY):
            await show_ready_prompt(query, session, ticket_id, lang, settings)
        return
    ticket = await get_ticket(session, ticket_id)
    if ticket.status_id != status.id:
        return
    if status.code == APPROVAL:
        if query is not None and query.bot is not None:
            sent = await enqueue_estimate(session, query.bot, ticket, settings)
            if sent:
                wake_after_commit(after_commit, services)
        return
    if status.kind not in STATUS_KINDS or ticket.client.tg_chat_id is None:
        return
    if not await notification_enabled(session, MessageKind.STATUS):
        return
    client_language = client_lang(ticket.client, settings)
    with in_locale(client_language):
        text = status_text(ticket, status, client_language)
        buttons = view_button(ticket.id)
    if await _enqueue(session, ticket.id, kind=MessageKind.STATUS, text=text, buttons=buttons,
                      event=await entered_change_id(session, ticket)):
        wake_after_commit(after_commit, services)


async def enqueue_estimate(
    session: AsyncSession, bot: Bot, ticket: Ticket, settings: Settings,
) -> bool:
    """The estimate with Approve / Decline, bound to the status change that opened it."""
    if not await notification_enabled(session, MessageKind.ESTIMATE):
        return False
    event = await entered_change_id(session, ticket)
    if event is None:
        return False
    due = await amount_due(session, ticket.id)
    link = await status_link(bot, ticket)
    language = client_lang(ticket.client, settings)
    with in_locale(language):
        text, sms = estimate_text(ticket, due, language, link, settings)
        buttons = [[{"text": b.text, "callback_data": b.callback_data or ""}
                    for b in estimate_buttons(ticket.id, event)]]
    return await _enqueue(session, ticket.id, kind=MessageKind.ESTIMATE, text=text,
                          sms_text=sms, buttons=buttons, event=event)


# -- the "notify?" prompt -------------------------------------------------------------------

async def ready_templates(session: AsyncSession, language: str) -> list[MessageTemplate]:
    """Ready templates in the client's language (default first); the other language's when
    that one has none."""
    found = await list_templates(session, kind=MessageKind.READY, language=language)
    if not found:
        found = await list_templates(session, kind=MessageKind.READY)
    return sorted(found, key=lambda t: (not t.is_default, t.position, t.id))


async def show_ready_prompt(
    query: CallbackQuery, session: AsyncSession, ticket_id: int, lang: str, settings: Settings,
) -> None:
    """Edit the card in place: the card, the question, one button per template, "don't"."""
    ticket = await get_ticket(session, ticket_id)
    text, card = await render_ticket(session, ticket_id, lang, settings.tz)
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
    rows: list[list[InlineKeyboardButton]] = [
        [button(f"📨 {t.name}" + (" ⭐" if t.is_default else ""),
                NotifyCb(action="send", id=ticket.id, arg=t.id))]
        for t in templates
    ]
    if not templates:
        lines.append(_("Нет шаблонов «Можно забирать» — добавьте в /templates."))
    rows.append([button(_("🔕 Не уведомлять"), NotifyCb(action="skip", id=ticket.id))])
    keyboard = InlineKeyboardMarkup(inline_keyboard=rows + card.inline_keyboard)
    await edit_or_send(query, text + "\n\n" + "\n".join(lines), keyboard)


# -- the card: delivery state and buttons ---------------------------------------------------

def kind_label(kind: str) -> str:
    return {
        MessageKind.INTAKE: _("приём"),
        MessageKind.STATUS: _("статус"),
        MessageKind.ESTIMATE: _("смета"),
        MessageKind.READY: _("можно забирать"),
        MessageKind.REMINDER: _("напоминание"),
        MessageKind.RECEIPT: _("чек"),
    }.get(kind, _("сообщение"))


def reason_text(error: str | None) -> str:
    """A gateway's or Telegram's error, short and readable."""
    text = (error or "").strip()
    low = text.lower()
    if "blocked" in low:
        return _("бот заблокирован клиентом")
    if "chat not found" in low or "user is deactivated" in low:
        return _("чат клиента недоступен")
    if "no phone" in low:
        return _("нет телефона для SMS")
    text = text.removeprefix("Forbidden: ").removeprefix("Bad Request: ")
    return h(text[:80] + ("…" if len(text) > 80 else "")) or _("неизвестная ошибка")


def delivery_line(state: DeliveryStatus, lang: str, tz: ZoneInfo) -> str:
    when = format_datetime((state.sent_at or state.created_at).astimezone(tz), "dd.MM HH:mm",
                           locale=BABEL_LOCALES.get(lang, "ru_RU"))
    if state.outcome == "telegram":
        mark = "✓ Telegram"
    elif state.outcome == "sms":
        mark = "✓ SMS"
        if state.telegram_error:
            mark += f" ({reason_text(state.telegram_error)})"
        elif state.no_chat:
            mark += " (" + _("нет Telegram") + ")"
    elif state.outcome == "failed":
        mark = "✗ " + reason_text(state.error)
    elif state.error:
        mark = "⏳ " + _("повтор: {reason}").format(reason=reason_text(state.error))
    else:
        mark = "⏳ " + _("в очереди")
    return f"  {mark} · {kind_label(state.kind)} · {when}"


async def card_lines(session: AsyncSession, ticket: Ticket, lang: str, tz: ZoneInfo) -> list[str]:
    states = [s for s in await delivery_state(session, ticket.id) if s.kind != STAFF_KIND]
    if not states:
        return []
    lines = [_("📨 Сообщения клиенту:")]
    lines.extend(delivery_line(s, lang, tz) for s in states[:CARD_MESSAGES])
    return lines


async def card_rows(
    session: AsyncSession, ticket: Ticket, lang: str,
) -> list[list[InlineKeyboardButton]]:
    first: list[InlineKeyboardButton] = []
    if not ticket.status.kind.is_closed:
        ready = [s for s in await allowed_targets(session, ticket.status_id)
                 if s.kind == StatusKind.READY]
        if ready:
            first.append(button(f"✅ {ready[0].title(lang)}",
                                NotifyCb(action="ready", id=ticket.id, arg=ready[0].id)))
    first.append(button(_("📱 Для клиента"), NotifyCb(action="qr", id=ticket.id)))
    rows = [first]
    failed = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.ticket_id == ticket.id,
                                       OutboxMessage.state == OutboxState.FAILED,
                                       OutboxMessage.kind != STAFF_KIND)
        .order_by(OutboxMessage.id.desc()).limit(1)
    )
    if failed is not None:
        rows.append([button(_("🔁 Повторить отправку"),
                            NotifyCb(action="retry", id=ticket.id, arg=failed))])
    return rows


def register() -> None:
    """Idempotent: the hooks are module-level lists shared by every Dispatcher."""
    for hooks, hook in ((AFTER_INTAKE, after_intake), (AFTER_STATUS, after_status),
                        (CARD_LINES, card_lines), (CARD_ROWS, card_rows)):
        if hook not in hooks:
            hooks.append(hook)  # type: ignore[attr-defined]


register()
