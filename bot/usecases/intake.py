"""Accepting a device: the ticket, its intake photos, its first quote and the device's serial
are saved together (a refused step keeps nothing), then the client's confirmation is queued."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.notices import NoticeTexts, queue_intake
from db.desk.clients import fill_serial
from db.desk.intake import check_photos, check_services
from db.desk.models import AttachmentKind, Staff, Ticket
from db.desk.tickets import (
    AttachmentIn,
    CommentIn,
    NewDevice,
    TicketDraft,
    add_comment,
    get_ticket,
    open_ticket,
)
from db.errors import DomainError
from db.money.price_list import active_services
from db.money.receipts import quote_from_services
from db.notify.policy import after_intake


class ServicesChanged(DomainError):
    """Some services picked for the quote were archived or deleted meanwhile; `available` are
    the ids still on the price list, in the picking order."""

    code = "services_changed"

    def __init__(self, available: list[int]) -> None:
        super().__init__("services changed", available=available)
        self.available = available


@dataclass(frozen=True)
class IntakePhoto:
    file_id: str
    file_unique_id: str
    size: int | None = None
    caption: str = ""


@dataclass
class DeviceIntake:
    """What the review screen collected. A repeat visit names `device_id`; a new device gives
    `kind`, `brand`, `model` (and maybe `serial`)."""

    client_id: int
    ticket: TicketDraft
    device_id: int | None = None
    device: NewDevice | None = None
    serial: str = ""
    photos: list[IntakePhoto] = field(default_factory=list)
    service_ids: list[int] = field(default_factory=list)
    photos_note: str = "Фото при приёме"  # the intake photos' comment, in the staff's language


async def accept_device(session: AsyncSession, actor: Staff, intake: DeviceIntake,
                        texts: NoticeTexts) -> Ticket:
    """Save the intake in a savepoint and queue the client's confirmation. Raises
    ServicesChanged (nothing saved) and the domain's errors."""
    check_photos(len(intake.photos))
    check_services(len(intake.service_ids))
    quote = [s.id for s in await active_services(session, intake.service_ids)]
    if quote != intake.service_ids:
        raise ServicesChanged(quote)
    async with session.begin_nested():
        ticket = await _save(session, actor, intake)
    ticket = await get_ticket(session, ticket.id)
    if await after_intake(session):
        await queue_intake(session, ticket, texts)
    return ticket


async def _save(session: AsyncSession, actor: Staff, intake: DeviceIntake) -> Ticket:
    if intake.device_id is not None:
        ticket = await open_ticket(session, actor, intake.ticket, device_id=intake.device_id)
    else:
        ticket = await open_ticket(session, actor, intake.ticket, client_id=intake.client_id,
                                   new_device=intake.device)
    if intake.photos:
        await add_comment(session, actor, ticket.id, CommentIn(
            text=intake.photos_note,
            attachments=[AttachmentIn(kind=AttachmentKind.PHOTO, file_id=p.file_id,
                                      file_unique_id=p.file_unique_id, mime_type="image/jpeg",
                                      size=p.size, caption=p.caption) for p in intake.photos]))
    if intake.service_ids:  # the ticket's first unpaid receipt: the quote shown to the client
        await quote_from_services(session, actor, ticket.id, intake.service_ids)
    if intake.device_id is not None and intake.serial:
        await fill_serial(session, actor, intake.device_id, intake.serial)
    return ticket
