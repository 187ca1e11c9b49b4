"""What clients see in their chat: the public ticket view and their ticket list (the texts
queued for them are bot/views/client_notices.py). Nothing staff-only ever gets here: no lock
code, no comments, no expenses, no master's name or percent."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.client_notices import device_name, estimate_buttons
from bot.views.formatting import h, local_date, money
from db.desk.models import Client, Ticket
from db.desk.tickets import client_tickets
from db.engine import DbSession
from db.money.closing import closing_summary, unpaid_by_ticket
from db.notify.client_links import awaited_answer
from handlers.ticket_view import days_open, status_icon
from keyboards.common import button, markup
from keyboards.notify import ClientLangCb, ClientLanguage, MyTicketAction, MyTicketCb

CLOSED_SHOWN = 5  # closed tickets listed in /status after the open ones


# -- views in a chat (HTML, the viewer's locale is current) ----------------------------------

def shop_lines(settings: Settings) -> list[str]:
    lines = [f"🏠 {h(settings.shop_name)}"]
    if settings.shop_address:
        lines.append(_("Адрес: {address}").format(address=h(settings.shop_address)))
    if settings.shop_phone:
        lines.append(_("Телефон: {phone}").format(phone=h(settings.shop_phone)))
    return lines


async def public_view(
    session: DbSession, ticket: Ticket, lang: str, tz: ZoneInfo, settings: Settings,
    *, viewer: Client | None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The ticket as its client may see it. `viewer`: the client linked to this chat; the
    estimate buttons and the way back to the list are only for the ticket's own client."""
    summary = await closing_summary(session, ticket.id)
    closed = ticket.status.kind.is_closed
    lines = [
        f"{status_icon(ticket.status)} <b>"
        + _("Обращение №{number}").format(number=ticket.number) + "</b>",
        _("📱 Устройство: {device}").format(device=h(device_name(ticket))),
        _("Статус: <b>{status}</b>").format(status=h(ticket.status.title(lang))),
        _("📅 Принято: {date} · {days} дн.").format(
            date=local_date(ticket.created_at, tz, lang), days=days_open(ticket, tz)),
    ]
    if ticket.closed_at:
        lines.append(_("🏁 Закрыто: {date}").format(date=local_date(ticket.closed_at, tz, lang)))
    if ticket.estimate is not None and not closed:
        lines.append(_("💰 Предварительная стоимость: {amount}").format(
            amount=money(ticket.estimate, lang)))
    if summary.unpaid_total:
        lines.append(_("🟡 К оплате: {amount}").format(amount=money(summary.unpaid_total, lang)))
    if summary.paid_total > 0:
        lines.append(_("💳 Оплачено: {amount}").format(amount=money(summary.paid_total, lang)))
    rows: list[list[InlineKeyboardButton]] = []
    own = viewer is not None and viewer.id == ticket.client_id
    event = await awaited_answer(session, ticket) if own else None
    if event is not None:
        lines.append("")
        lines.append(_("Мастер ждёт вашего решения по стоимости ремонта."))
        rows.append(estimate_buttons(ticket.id, event))
    lines.append("")
    lines.extend(shop_lines(settings))
    if own:
        rows.append([button(_("📋 Все мои ремонты"), MyTicketCb(action=MyTicketAction.LIST))])
    return "\n".join(lines), markup(rows) if rows else None


# Each language's name in itself: the button is read by someone who wants that language.
LANGUAGE_NAMES = {ClientLanguage.UK: "🌐 Українською", ClientLanguage.RU: "🌐 На русском"}


def language_row(lang: str) -> list[InlineKeyboardButton]:
    """The other languages the shop writes in, for the client to choose."""
    return [button(name, ClientLangCb(lang=code))
            for code, name in LANGUAGE_NAMES.items() if code != lang]


def _sort_key(ticket: Ticket) -> tuple[bool, int]:
    return ticket.status.kind.is_closed, -ticket.number


async def my_tickets_view(
    session: DbSession, client: Client, lang: str, tz: ZoneInfo,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """/status: open tickets first (newest first), then the last few closed ones."""
    tickets = sorted(await client_tickets(session, client.id), key=_sort_key)
    open_ = [t for t in tickets if not t.status.kind.is_closed]
    shown = open_ + [t for t in tickets if t.status.kind.is_closed][:CLOSED_SHOWN]
    if not shown:
        return _("У вас пока нет обращений в сервисе. Когда вы сдадите устройство, его "
                 "статус будет здесь."), markup([language_row(lang)])
    lines = [_("🧰 <b>Ваши ремонты</b>")]
    rows = []
    dues = await unpaid_by_ticket(session, [t.id for t in shown])
    for ticket in shown:
        line = (f"{status_icon(ticket.status)} №{ticket.number} · {h(device_name(ticket))} — "
                f"<b>{h(ticket.status.title(lang))}</b>")
        if ticket.status.kind.is_closed:
            if ticket.closed_at:
                line += f" · {local_date(ticket.closed_at, tz, lang)}"
        else:
            line += " · " + _("{days} дн.").format(days=days_open(ticket, tz))
        if due := dues.get(ticket.id):
            line += " · " + _("к оплате {amount}").format(amount=money(due, lang))
        lines.append(line)
        rows.append([button(f"{status_icon(ticket.status)} №{ticket.number} · "
                            f"{device_name(ticket)}",
                            MyTicketCb(action=MyTicketAction.OPEN, id=ticket.id))])
    if len(shown) < len(tickets):
        lines.append(_("…и ещё закрытые: {count}").format(count=len(tickets) - len(shown)))
    rows.append(language_row(lang))
    return "\n".join(lines), markup(rows)
