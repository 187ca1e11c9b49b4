"""The desk's part of the ticket card (handlers/ticket_card.py composes the whole card), the
status picker and the Service list."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import h, local_dt, money
from db.base import utcnow
from db.desk.models import Status, Ticket
from db.desk.tickets import TicketCard, allowed_targets, get_ticket
from db.engine import DbSession
from keyboards.callbacks import (
    ClientAction,
    ClientCb,
    DeviceAction,
    DeviceCb,
    ServiceAction,
    ServiceCb,
    TicketAction,
    TicketCb,
)
from keyboards.common import button, markup, pager


def days_open(ticket: Ticket, tz: ZoneInfo, now: datetime | None = None) -> int:
    end = ticket.closed_at or now or utcnow()
    return (end.astimezone(tz).date() - ticket.created_at.astimezone(tz).date()).days


def ticket_title(ticket: Ticket) -> str:
    who = ticket.client.full_name or ticket.client.phone
    return f"[{ticket.number}] {ticket.device.title} — {who}"


def status_icon(status: Status) -> str:
    return {
        "new": "🆕",
        "in_progress": "🔧",
        "waiting": "⏳",
        "ready": "✅",
        "done": "📦",
        "refused": "⛔",
    }[status.kind.value]


def desk_lines(card: TicketCard, lang: str, tz: ZoneInfo) -> list[str]:
    ticket = card.ticket
    lines = [
        f"<b>{h(ticket_title(ticket))}</b>",
        _("{icon} Статус: <b>{status}</b>").format(
            icon=status_icon(ticket.status), status=h(ticket.status.title(lang))
        ),
        _("👨‍🔧 Мастер: {master}").format(
            master=h(ticket.master.name) if ticket.master else _("не назначен")
        ),
        _("📅 Принят: {created} · {days} дн.").format(
            created=local_dt(ticket.created_at, tz, lang), days=days_open(ticket, tz)
        ),
    ]
    if ticket.closed_at:
        lines.append(_("🏁 Закрыт: {closed}").format(closed=local_dt(ticket.closed_at, tz, lang)))
    if ticket.is_warranty:
        lines.append(_("🛡 Гарантийное обращение"))
    if card.previous_number is not None:
        lines.append(_("↩️ Повторное обращение, предыдущее: [{number}]").format(
            number=card.previous_number))
    lines.extend(_intake_lines(ticket, lang))
    lines.append(_("💬 Комментарии: {count}").format(count=card.comments))
    return lines


def _intake_lines(ticket: Ticket, lang: str) -> list[str]:
    lines = [_("🔧 Неисправность: {text}").format(text=h(ticket.defect))]
    if ticket.condition:
        lines.append(_("📋 Состояние: {text}").format(text=h(ticket.condition)))
    if ticket.kit:
        lines.append(_("🎒 Комплект: {text}").format(text=h(ticket.kit)))
    if ticket.device.serial:
        lines.append(_("🔢 Серийный/IMEI: {text}").format(text=h(ticket.device.serial)))
    if ticket.lock_code:
        lines.append(_("🔑 Код блокировки: {text}").format(text=h(ticket.lock_code)))
    if ticket.estimate is not None:
        lines.append(_("💰 Оценка: {amount}").format(amount=money(ticket.estimate, lang)))
    return lines


async def desk_buttons(session: DbSession, ticket: Ticket, comments: int
                       ) -> list[InlineKeyboardButton]:
    tid = ticket.id
    buttons = []
    if await allowed_targets(session, ticket.status_id):
        buttons.append(button(_("🔄 Статус"), TicketCb(action=TicketAction.STATUS, id=tid)))
    buttons += [
        button(_("✍️ Комментарий"), TicketCb(action=TicketAction.COMMENT, id=tid)),
        button(_("🗂 Комментарии ({count})").format(count=comments),
               TicketCb(action=TicketAction.COMMENTS, id=tid)),
        button(_("📜 История"), TicketCb(action=TicketAction.HISTORY, id=tid)),
        button(_("🏷 Этикетка"), TicketCb(action=TicketAction.LABEL, id=tid)),
        button(_("👤 Клиент"), ClientCb(action=ClientAction.CARD, id=ticket.client_id)),
        button(_("📱 Устройство"), DeviceCb(action=DeviceAction.CARD, id=ticket.device_id)),
    ]
    return buttons


async def render_status_picker(
    session: DbSession, ticket_id: int, lang: str
) -> InlineKeyboardMarkup:
    ticket = await get_ticket(session, ticket_id)
    rows = [[button(f"{status_icon(status)} {status.title(lang)}",
                    TicketCb(action=TicketAction.SET, id=ticket.id, arg=status.id))]
            for status in await allowed_targets(session, ticket.status_id)]
    rows.append([button(_("← Назад"), TicketCb(action=TicketAction.CARD, id=ticket.id))])
    return markup(rows)


def service_list_markup(tickets: list[Ticket], page: int, pages: int) -> InlineKeyboardMarkup:
    rows = []
    for ticket in tickets:
        who = ticket.client.name or ticket.client.phone
        label = f"{status_icon(ticket.status)} [{ticket.number}] {ticket.device.title} · {who}"
        rows.append([button(label[:60], TicketCb(action=TicketAction.CARD, id=ticket.id))])
    rows.append(pager(page, pages, lambda p: ServiceCb(action=ServiceAction.PAGE, page=p)))
    return markup(rows)
