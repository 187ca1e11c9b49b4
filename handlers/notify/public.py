"""What clients see: the public ticket view, their ticket list, and the texts composed for the
outbox (in the CLIENT's language). Nothing staff-only ever gets here: no lock code, no
comments, no expenses, no master's name or percent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.formatting import h, local_date, money
from db.desk.models import Client, Status, Ticket
from db.desk.tickets import client_tickets
from db.money.closing import closing_summary, unpaid_by_ticket
from db.notify.client_links import APPROVAL, entered_change_id
from db.notify.templates import client_language, format_amount
from handlers.ticket_view import days_open, status_icon
from keyboards.common import button, markup
from keyboards.notify import STATUS_PREFIX, EstimateCb, MyTicketCb

CLOSED_SHOWN = 5  # closed tickets listed in /status after the open ones


def client_lang(client: Client | None, settings: Settings) -> str:
    return client_language(client.language if client else None, settings.client_language)


@contextmanager
def in_locale(lang: str) -> Iterator[None]:
    """Render `_()` texts in `lang` (e.g. the client's) inside a staff member's update."""
    i18n = I18n.get_current(no_error=True)
    if i18n is None:
        yield
        return
    with i18n.use_locale(lang):
        yield


async def status_link(bot: Bot, ticket: Ticket) -> str:
    """t.me/<bot>?start=st_<token>: opens the ticket's public status in one tap."""
    return await create_start_link(bot, STATUS_PREFIX + ticket.public_token)


def device_name(ticket: Ticket) -> str:
    return ticket.device.title


# -- views in a chat (HTML, the viewer's locale is current) ----------------------------------

def shop_lines(settings: Settings) -> list[str]:
    lines = [f"🏠 {h(settings.shop_name)}"]
    if settings.shop_address:
        lines.append(_("Адрес: {address}").format(address=h(settings.shop_address)))
    if settings.shop_phone:
        lines.append(_("Телефон: {phone}").format(phone=h(settings.shop_phone)))
    return lines


async def public_view(
    session: AsyncSession, ticket: Ticket, lang: str, tz: ZoneInfo, settings: Settings,
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
    if own and ticket.status.code == APPROVAL:
        event = await entered_change_id(session, ticket)
        if event is not None:
            lines.append("")
            lines.append(_("Мастер ждёт вашего решения по стоимости ремонта."))
            rows.append(estimate_buttons(ticket.id, event))
    lines.append("")
    lines.extend(shop_lines(settings))
    if own:
        rows.append([button(_("📋 Все мои ремонты"), MyTicketCb(action="list"))])
    return "\n".join(lines), markup(rows) if rows else None


def estimate_buttons(ticket_id: int, event: int) -> list[InlineKeyboardButton]:
    return [button(_("✅ Согласовать"), EstimateCb(action="ok", id=ticket_id, ev=event)),
            button(_("❌ Отказаться"), EstimateCb(action="no", id=ticket_id, ev=event))]


def _sort_key(ticket: Ticket) -> tuple[bool, int]:
    return ticket.status.kind.is_closed, -ticket.number


async def my_tickets_view(
    session: AsyncSession, client: Client, lang: str, tz: ZoneInfo,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """/status: open tickets first (newest first), then the last few closed ones."""
    tickets = sorted(await client_tickets(session, client.id), key=_sort_key)
    open_ = [t for t in tickets if not t.status.kind.is_closed]
    shown = open_ + [t for t in tickets if t.status.kind.is_closed][:CLOSED_SHOWN]
    if not shown:
        return _("У вас пока нет обращений в сервисе. Когда вы сдадите устройство, его "
                 "статус будет здесь."), None
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
                            f"{device_name(ticket)}", MyTicketCb(action="open", id=ticket.id))])
    if len(shown) < len(tickets):
        lines.append(_("…и ещё закрытые: {count}").format(count=len(tickets) - len(shown)))
    return "\n".join(lines), markup(rows)


# -- texts for the outbox (plain text, the client's locale is current) -----------------------

def intake_text(ticket: Ticket, link: str, settings: Settings) -> tuple[str, str]:
    """(Telegram text, SMS text) of the intake confirmation."""
    name = ticket.client.name
    head = (_("Здравствуйте, {name}!").format(name=name) if name else _("Здравствуйте!"))
    text = "\n".join(p for p in (
        head,
        _("Ваше устройство {device} принято в ремонт, обращение №{number}.").format(
            device=device_name(ticket), number=ticket.number),
        _("Статус ремонта всегда здесь: {link}").format(link=link),
        " ".join(p for p in (settings.shop_name, settings.shop_phone) if p),
    ) if p)
    sms = _("Обращение №{number} принято. Статус: {link}").format(
        number=ticket.number, link=link)
    return text, sms


STATUS_HINTS = {
    "diagnostics": lambda: _("Мастер проводит диагностику."),
    "waiting_parts": lambda: _("Ждём запчасть — сообщим, как только она придёт."),
    "in_work": lambda: _("Мастер приступил к ремонту."),
    "refused": lambda: _("Ремонт выполняться не будет. Устройство можно забрать."),
}


def status_text(ticket: Ticket, status: Status, lang: str) -> str:
    lines = [_("Обращение №{number} ({device}): статус «{status}».").format(
        number=ticket.number, device=device_name(ticket), status=status.title(lang))]
    hint = STATUS_HINTS.get(status.code)
    if hint is not None:
        lines.append(hint())
    return "\n".join(lines)


def estimate_text(ticket: Ticket, due: int, lang: str, link: str,
                  settings: Settings) -> tuple[str, str]:
    """(Telegram text, SMS text) asking the client to approve the estimate."""
    name = ticket.client.name
    lines = [_("Здравствуйте, {name}!").format(name=name) if name else _("Здравствуйте!"),
             _("Нужно ваше согласие на ремонт: {device}, обращение №{number}.").format(
                 device=device_name(ticket), number=ticket.number)]
    amounts = []
    if ticket.estimate is not None:
        amounts.append(_("Стоимость ремонта: {amount}").format(
            amount=format_amount(ticket.estimate, lang)))
    if due and due != ticket.estimate:
        amounts.append(_("По счёту к оплате: {amount}").format(amount=format_amount(due, lang)))
    if not amounts:
        amounts.append(_("Стоимость уточнит мастер."))
    lines.extend(amounts)
    lines.append(_("Нажмите «Согласовать» или «Отказаться»."))
    if settings.shop_phone:
        lines.append(_("Вопросы: {phone}").format(phone=settings.shop_phone))
    sms_amount = format_amount(ticket.estimate if ticket.estimate is not None else due, lang) \
        if (ticket.estimate is not None or due) else ""
    sms = _("Обращение №{number}: нужно согласие на ремонт {amount}. Ответьте: {link}").format(
        number=ticket.number, amount=sms_amount, link=link)
    return "\n".join(lines), " ".join(sms.split())
