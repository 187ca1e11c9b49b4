"""Client card and device card."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.views.formatting import h, local_date
from db.desk.clients import get_client_with_devices, get_device, list_device_types
from db.desk.models import Client, Device, Ticket
from db.desk.phones import format_phone
from db.desk.tickets import client_tickets, device_tickets
from db.engine import DbSession
from handlers.ticket_view import status_icon
from keyboards.callbacks import (
    ClientAction,
    ClientCb,
    ClientField,
    DeviceAction,
    DeviceCb,
    IntakeAction,
    IntakeCb,
    TicketAction,
    TicketCb,
)
from keyboards.common import button, chunked, markup

DEVICES_ON_CARD = 15
OPEN_TICKETS_ON_CARD = 10
TICKETS_PER_DEVICE = 3


def client_name(client: Client) -> str:
    return client.full_name or _("Без имени")


def ticket_line(ticket: Ticket, lang: str, tz: ZoneInfo) -> str:
    return (
        f"{status_icon(ticket.status)} [{ticket.number}] {h(ticket.status.title(lang))}"
        f" · {local_date(ticket.created_at, tz, lang)}"
    )


def kind_prompt() -> str:
    """The intake's first question (on a new client's card and under "➕ Новое устройство")."""
    return _("Какое устройство принимаем? Нажмите тип или сразу напишите бренд и модель "
             "(можно с неисправностью через запятую: iPhone 12, не заряжается).")


def open_ticket_rows(tickets: list[Ticket], devices: dict[int, Device], lang: str
                     ) -> list[list[InlineKeyboardButton]]:
    """The client's open tickets, each a button to its card."""
    rows = []
    for ticket in tickets:
        if ticket.status.kind.is_closed:
            continue
        device = devices.get(ticket.device_id)
        text = f"{status_icon(ticket.status)} [{ticket.number}] " + (
            device.title if device is not None else ticket.status.title(lang))
        rows.append([button(text[:60], TicketCb(action=TicketAction.CARD, id=ticket.id))])
    return rows[:OPEN_TICKETS_ON_CARD]


def client_lines(client: Client) -> list[str]:
    lines = [f"👤 <b>{h(client_name(client))}</b>", f"📞 {format_phone(client.phone)}"]
    if client.extra_phone:
        lines.append(_("📞 Доп.: {phone}").format(phone=format_phone(client.extra_phone)))
    if client.comment:
        lines.append(f"📝 {h(client.comment)}")
    if client.tg_chat_id:
        lines.append(_("💬 Подключён к боту"))
    return lines


def device_lines(device: Device, tickets: list[Ticket], lang: str, tz: ZoneInfo) -> list[str]:
    """A device on the client card with its latest tickets (`tickets` newest first)."""
    lines = [f"📱 {h(device.title)}" + (f" · {h(device.serial)}" if device.serial else "")]
    lines.extend("   " + ticket_line(t, lang, tz) for t in tickets[:TICKETS_PER_DEVICE])
    if len(tickets) > TICKETS_PER_DEVICE:
        more = len(tickets) - TICKETS_PER_DEVICE
        lines.append("   " + _("… и ещё {count}").format(count=more))
    return lines


async def render_client(
    session: DbSession,
    client_id: int,
    lang: str,
    tz: ZoneInfo,
    *,
    with_types: bool = False,
) -> tuple[str, InlineKeyboardMarkup]:
    client = await get_client_with_devices(session, client_id)
    lines = client_lines(client)
    rows: list[list[InlineKeyboardButton]] = []
    devices = list(reversed(client.devices))[:DEVICES_ON_CARD]
    by_device: dict[int, list[Ticket]] = {}  # newest first: one query for the whole card
    tickets = await client_tickets(session, client.id)
    for ticket in tickets:
        by_device.setdefault(ticket.device_id, []).append(ticket)
    rows.extend(open_ticket_rows(tickets, {d.id: d for d in client.devices}, lang))
    if devices:
        lines.append("")
        lines.append(_("<b>Устройства:</b>"))
    for device in devices:
        lines.extend(device_lines(device, by_device.get(device.id, []), lang, tz))
        rows.append([button(f"📱 {device.title}"[:60],
                            DeviceCb(action=DeviceAction.CARD, id=device.id))])
    if len(client.devices) > DEVICES_ON_CARD:
        lines.append(_("… всего устройств: {count}").format(count=len(client.devices)))
    if with_types:
        lines.append("")
        lines.append(kind_prompt())
        rows.extend(await device_type_rows(session, client.id, lang))
    else:
        rows.append([button(_("➕ Новое устройство"),
                            ClientCb(action=ClientAction.NEW, id=client.id))])
    rows.append([edit_button(_("✏️ Имя"), client.id, ClientField.NAME),
                 edit_button(_("✏️ Доп. телефон"), client.id, ClientField.EXTRA_PHONE),
                 edit_button(_("✏️ Комментарий"), client.id, ClientField.COMMENT)])
    return "\n".join(lines), markup(rows)


def edit_button(text: str, client_id: int, field: ClientField) -> InlineKeyboardButton:
    return button(text, ClientCb(action=ClientAction.EDIT, id=client_id, field=field))


async def device_type_rows(session: DbSession, client_id: int, lang: str
                           ) -> list[list[InlineKeyboardButton]]:
    """The intake's first question as buttons: one tap picks the type and starts it."""
    return chunked([button(t.title(lang), IntakeCb(action=IntakeAction.TYPE, arg=t.id,
                                                   cid=client_id))
                    for t in await list_device_types(session)], 3)


async def render_device(
    session: DbSession, device_id: int, lang: str, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup, Device]:
    device = await get_device(session, device_id)
    tickets = await device_tickets(session, device.id)
    lines = [f"📱 <b>{h(device.title)}</b>"]
    if device.kind:
        lines.append(_("Тип: {kind}").format(kind=h(device.kind)))
    if device.serial:
        lines.append(_("🔢 Серийный/IMEI: {text}").format(text=h(device.serial)))
    if device.notes:
        lines.append(f"📝 {h(device.notes)}")
    lines.append("")
    lines.append(_("<b>История обращений:</b>") if tickets else _("Обращений ещё не было."))
    buttons = []
    for ticket in reversed(tickets[-30:]):
        line = ticket_line(ticket, lang, tz)
        if ticket.is_warranty:
            line += " 🛡"
        lines.append(line + f"\n      {h(ticket.defect[:80])}")
        buttons.append(
            button(
                f"[{ticket.number}] {ticket.status.title(lang)}",
                TicketCb(action=TicketAction.CARD, id=ticket.id),
            )
        )
    rows = chunked(buttons, 2)
    if not tickets or tickets[-1].status.kind.is_closed:
        rows.append([button(_("➕ Новое обращение"),
                            DeviceCb(action=DeviceAction.AGAIN, id=device.id))])
    rows.append([button(_("← Клиент"), ClientCb(action=ClientAction.CARD, id=device.client_id))])
    return "\n".join(lines), markup(rows), device
