"""The ticket card and the lists that lead to it (text + inline keyboard)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.views.formatting import h, local_dt, money
from db.base import utcnow
from db.desk.models import Status, Ticket
from db.desk.tickets import allowed_targets, count_comments, get_ticket
from keyboards.callbacks import ClientCb, DeviceCb, ServiceCb, TicketCb
from keyboards.common import button, markup, pager

# Later features add rows to the card (money tabs, delivery state) without editing this file.
CardRows = Callable[[AsyncSession, Ticket, str], Awaitable[list[list[InlineKeyboardButton]]]]
CardLines = Callable[[AsyncSession, Ticket, str, ZoneInfo], Awaitable[list[str]]]
CARD_ROWS: list[CardRows] = []
CARD_LINES: list[CardLines] = []


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


async def render_ticket(
    session: AsyncSession, ticket_id: int, lang: str, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    ticket = await get_ticket(session, ticket_id)
    comments = await count_comments(session, ticket.id)
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
    if ticket.previous_ticket_id:
        previous = await session.get(Ticket, ticket.previous_ticket_id)
        if previous is not None:
            lines.append(_("↩️ Повторное обращение, предыдущее: [{number}]").format(
                number=previous.number))
    lines.append(_("🔧 Неисправность: {text}").format(text=h(ticket.defect)))
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
    lines.append(_("💬 Комментарии: {count}").format(count=comments))
    for extra_lines in CARD_LINES:
        lines.extend(await extra_lines(session, ticket, lang, tz))

    kb = InlineKeyboardBuilder()
    tid = ticket.id
    if await allowed_targets(session, ticket.status_id):
        kb.button(text=_("🔄 Статус"), callback_data=TicketCb(action="st", id=tid))
    kb.button(text=_("✍️ Комментарий"), callback_data=TicketCb(action="cm", id=tid))
    kb.button(
        text=_("🗂 Комментарии ({count})").format(count=comments),
        callback_data=TicketCb(action="cms", id=tid),
    )
    kb.button(text=_("📜 История"), callback_data=TicketCb(action="hist", id=tid))
    kb.button(text=_("🏷 Этикетка"), callback_data=TicketCb(action="lbl", id=tid))
    kb.button(text=_("👤 Клиент"), callback_data=ClientCb(action="card", id=ticket.client_id))
    kb.button(text=_("📱 Устройство"), callback_data=DeviceCb(action="card", id=ticket.device_id))
    kb.adjust(2)
    for extra_rows in CARD_ROWS:
        for row in await extra_rows(session, ticket, lang):
            kb.row(*row)
    return "\n".join(lines), kb.as_markup()


async def render_status_picker(
    session: AsyncSession, ticket_id: int, lang: str
) -> InlineKeyboardMarkup:
    ticket = await get_ticket(session, ticket_id)
    kb = InlineKeyboardBuilder()
    for status in await allowed_targets(session, ticket.status_id):
        kb.button(
            text=f"{status_icon(status)} {status.title(lang)}",
            callback_data=TicketCb(action="set", id=ticket.id, arg=status.id),
        )
    kb.button(text=_("← Назад"), callback_data=TicketCb(action="card", id=ticket.id))
    kb.adjust(1)
    return kb.as_markup()


def service_list_markup(tickets: list[Ticket], page: int, pages: int) -> InlineKeyboardMarkup:
    rows = []
    for ticket in tickets:
        who = ticket.client.name or ticket.client.phone
        label = f"{status_icon(ticket.status)} [{ticket.number}] {ticket.device.title} · {who}"
        rows.append([button(label[:60], TicketCb(action="card", id=ticket.id))])
    rows.append(pager(page, pages, lambda p: ServiceCb(action="page", page=p)))
    return markup(rows)
