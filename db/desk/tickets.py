"""Tickets: numbering, intake, guarded status changes with history, comments, close/reopen."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload, selectinload

from db.access import require_active
from db.audit import audit
from db.base import utcnow
from db.desk.clients import add_device, get_device
from db.desk.models import (
    CLOSED_STATUS_KINDS,
    Attachment,
    AttachmentKind,
    AuditEntry,
    Comment,
    Counter,
    Staff,
    Status,
    StatusChange,
    StatusKind,
    StatusTransition,
    Ticket,
)
from db.errors import (
    DeviceHasOpenTicket,
    InvalidValue,
    NotFound,
    PermissionDenied,
    TicketClosed,
    TransitionNotAllowed,
)

TEXT_MAX = 2000
LOCK_CODE_MAX = 64
LOCK_CODE_MASK = "•••"  # what the audit log keeps of a changed lock code
ESTIMATE_MAX = 100_000_000_00  # 100 million hryvnias in kopecks


async def next_number(session: AsyncSession, name: str = "ticket") -> int:
    """Atomic bump: the row lock (PostgreSQL) or the write lock (SQLite) serializes callers,
    and a rolled-back transaction gives its number back, so numbers stay gap-free and unique."""
    value = await session.scalar(
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    if value is None:
        raise NotFound("counter", name=name)
    return int(value)


async def first_active_status(session: AsyncSession, kind: StatusKind) -> Status:
    """The first active status of `kind` on the board (intake: NEW; closing: DONE)."""
    status = await session.scalar(
        select(Status).where(Status.kind == kind, Status.active.is_(True))
        .order_by(Status.position, Status.id).limit(1)
    )
    if status is None:
        raise NotFound("status", kind=kind.value)
    return status


async def get_status(session: AsyncSession, status_id: int) -> Status:
    status = await session.get(Status, status_id)
    if status is None:
        raise NotFound("status", status_id=status_id)
    return status


_LOCK_TICKET = (select(Ticket).where(Ticket.id == bindparam("ticket_id")).with_for_update()
                .execution_options(populate_existing=True))


async def lock_ticket(session: AsyncSession, ticket_id: int) -> tuple[Ticket, Status]:
    """The ticket row locked for this transaction (re-read after the wait), with its status.
    Lock order everywhere: ticket → receipt → counter → shift (db.money.shifts)."""
    ticket = await session.scalar(_LOCK_TICKET, {"ticket_id": ticket_id})
    if ticket is None:
        raise NotFound("ticket", ticket_id=ticket_id)
    return ticket, await get_status(session, ticket.status_id)


async def lock_open_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    """`lock_ticket`, refused with TicketClosed when the ticket is closed (reopen it first)."""
    ticket, status = await lock_ticket(session, ticket_id)
    if status.kind.is_closed:
        raise TicketClosed("closed", number=ticket.number)
    return ticket


_TARGETS = (select(Status).join(StatusTransition, StatusTransition.to_status_id == Status.id)
            .where(StatusTransition.from_status_id == bindparam("status_id"),
                   Status.active.is_(True))
            .order_by(Status.position))


async def allowed_targets(session: AsyncSession, status_id: int) -> list[Status]:
    """Statuses a ticket in `status_id` may move to. Read once per session (a card asks for
    them in its desk buttons and in its delivery part); the app never edits the statuses or
    transitions (migrations seed them)."""
    cached: dict[int, list[Status]] = session.info.setdefault("allowed_targets", {})
    if status_id not in cached:
        cached[status_id] = list(await session.scalars(_TARGETS, {"status_id": status_id}))
    return list(cached[status_id])


def _check_estimate(estimate: int | None) -> None:
    if estimate is not None and not 0 <= estimate <= ESTIMATE_MAX:
        raise InvalidValue("estimate")


async def _check_master(session: AsyncSession, master_id: int | None) -> None:
    """A ticket's master must be an active staff member."""
    if master_id is not None:
        master = await session.get(Staff, master_id)
        if master is None or not master.active:
            raise NotFound("staff", staff_id=master_id)


def _text(value: str | None, field_name: str, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidValue(field_name, reason="required")
    if len(text) > TEXT_MAX:
        raise InvalidValue(field_name, reason="too_long", limit=TEXT_MAX)
    return text


@dataclass
class TicketDraft:
    defect: str
    condition: str = ""
    kit: str = ""
    lock_code: str = ""
    estimate: int | None = None
    master_id: int | None = None
    warranty_days: int = 30


@dataclass
class NewDevice:
    kind: str
    brand: str = ""
    model: str = ""
    serial: str | None = None
    notes: str = ""


async def _last_ticket(session: AsyncSession, device_id: int) -> Ticket | None:
    return await session.scalar(
        select(Ticket).where(Ticket.device_id == device_id)
        .order_by(Ticket.number.desc()).limit(1).options(selectinload(Ticket.status))
        .execution_options(populate_existing=True)
    )


async def open_ticket(
    session: AsyncSession,
    actor: Staff,
    draft: TicketDraft,
    *,
    client_id: int | None = None,
    device_id: int | None = None,
    new_device: NewDevice | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Accept a device: on a new device (client_id + new_device) or an existing one (device_id).

    A repeat visit links the previous ticket and is a warranty ticket when it comes within
    the previous ticket's warranty days after that one was closed as done.
    """
    require_active(actor)
    now = now or utcnow()
    defect = _text(draft.defect, "defect", required=True)
    _check_estimate(draft.estimate)
    await _check_master(session, draft.master_id)
    previous: Ticket | None = None
    if device_id is not None:
        device = await get_device(session, device_id)
        previous = await _last_ticket(session, device.id)
        if previous is not None and not previous.status.kind.is_closed:
            raise DeviceHasOpenTicket(previous.number)
    elif client_id is not None and new_device is not None:
        device = await add_device(
            session, actor, client_id, kind=new_device.kind, brand=new_device.brand,
            model=new_device.model, serial=new_device.serial, notes=new_device.notes,
        )
    else:
        raise InvalidValue("device")

    is_warranty = bool(
        previous is not None
        and previous.status.kind == StatusKind.DONE
        and previous.closed_at is not None
        and now - previous.closed_at <= timedelta(days=previous.warranty_days)
    )
    status = await first_active_status(session, StatusKind.NEW)
    ticket = Ticket(
        number=await next_number(session), device_id=device.id, client_id=device.client_id,
        master_id=draft.master_id, accepted_by_id=actor.id, status_id=status.id,
        defect=defect, condition=_text(draft.condition, "condition"),
        kit=_text(draft.kit, "kit"), lock_code=_text(draft.lock_code, "lock_code")[:LOCK_CODE_MAX],
        estimate=draft.estimate, created_at=now, is_warranty=is_warranty,
        previous_ticket_id=previous.id if previous else None,
        warranty_days=max(0, draft.warranty_days), public_token=secrets.token_urlsafe(16),
    )
    session.add(ticket)
    await session.flush()
    session.add(StatusChange(ticket_id=ticket.id, from_status_id=None, to_status_id=status.id,
                             staff_id=actor.id, created_at=now))
    audit(session, actor, "ticket.open", "ticket", ticket.id, number=ticket.number,
          warranty=is_warranty)
    return ticket


# All four are many-to-one: joined in the ticket's own statement (one query, not five).
_TICKET_LOADS = (joinedload(Ticket.status), joinedload(Ticket.device),
                 joinedload(Ticket.client), joinedload(Ticket.master))


def _ticket_query() -> Select[Ticket]:
    return select(Ticket).options(*_TICKET_LOADS)


# A card opens with one of these: built once (building a statement with its loader options,
# and its cache key, cost more than SQLite running it).
_TICKET_BY_ID = _ticket_query().where(Ticket.id == bindparam("ticket_id"))
_TICKET_BY_NUMBER = _ticket_query().where(Ticket.number == bindparam("number"))


async def get_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.scalar(_TICKET_BY_ID, {"ticket_id": ticket_id})
    if ticket is None:
        raise NotFound("ticket", ticket_id=ticket_id)
    return ticket


_NUMBER = select(Ticket.number).where(Ticket.id == bindparam("ticket_id"))


async def ticket_number(session: AsyncSession, ticket_id: int) -> int | None:
    return await session.scalar(_NUMBER, {"ticket_id": ticket_id})


MAX_NUMBER = 2**63 - 1  # BIGINT: a larger number (a forged label, a typo) is no ticket's


async def get_ticket_by_number(session: AsyncSession, number: int) -> Ticket:
    ticket = None if not 0 < number <= MAX_NUMBER else await session.scalar(
        _TICKET_BY_NUMBER, {"number": number})
    if ticket is None:
        raise NotFound("ticket", number=number)
    return ticket


@dataclass(frozen=True)
class TicketCard:
    """A ticket as its card shows it, from one statement: with its status, device, client and
    master, the number of its comments and the number of the visit it repeats."""

    ticket: Ticket
    comments: int
    previous_number: int | None


_PREVIOUS = aliased(Ticket)
_CARD = select(
    Ticket,
    select(func.count()).select_from(Comment).where(Comment.ticket_id == Ticket.id)
    .correlate(Ticket).scalar_subquery(),
    select(_PREVIOUS.number).where(_PREVIOUS.id == Ticket.previous_ticket_id)
    .correlate(Ticket).scalar_subquery(),
).options(*_TICKET_LOADS)
_CARD_BY_ID = _CARD.where(Ticket.id == bindparam("ticket_id"))
_CARD_BY_NUMBER = _CARD.where(Ticket.number == bindparam("number"))


async def ticket_card(session: AsyncSession, ticket_id: int) -> TicketCard:
    row = (await session.execute(_CARD_BY_ID, {"ticket_id": ticket_id})).first()
    if row is None:
        raise NotFound("ticket", ticket_id=ticket_id)
    return TicketCard(row[0], row[1] or 0, row[2])


async def ticket_card_by_number(session: AsyncSession, number: int) -> TicketCard:
    row = None if not 0 < number <= MAX_NUMBER else (await session.execute(
        _CARD_BY_NUMBER, {"number": number})).first()
    if row is None:
        raise NotFound("ticket", number=number)
    return TicketCard(row[0], row[1] or 0, row[2])


async def get_ticket_by_token(session: AsyncSession, token: str) -> Ticket | None:
    return await session.scalar(_ticket_query().where(Ticket.public_token == token))


async def change_status(
    session: AsyncSession,
    actor: Staff | None,
    ticket_id: int,
    to_status_id: int,
    *,
    by_client: bool = False,
    now: datetime | None = None,
) -> StatusChange:
    """Move a ticket along an allowed transition and record it.

    Reopening a closed ticket is for owners and managers only; a closed status stamps
    closed_at, leaving a closed status clears it. No `actor`: the client answered (`by_client`).
    """
    if actor is not None:
        require_active(actor)
    now = now or utcnow()
    # Lock the ticket row: two taps on two phones must not both move it.
    ticket, current = await lock_ticket(session, ticket_id)
    target = await session.get(Status, to_status_id)
    if target is None or not target.active:
        raise NotFound("status", status_id=to_status_id)
    allowed = await session.scalar(
        select(func.count()).select_from(StatusTransition).where(
            StatusTransition.from_status_id == current.id,
            StatusTransition.to_status_id == target.id,
        )
    )
    if not allowed:
        raise TransitionNotAllowed("not allowed", from_status=current.code, to_status=target.code)
    if current.kind.is_closed and not target.kind.is_closed:
        if actor is None or not actor.is_manager_or_owner:
            raise PermissionDenied("reopen needs a manager or the owner", needs="manager")
    if actor is None and not by_client:
        raise PermissionDenied("anonymous status change")
    ticket.status_id = target.id
    ticket.status = target
    if target.kind.is_closed:
        ticket.closed_at = now
    elif current.kind.is_closed:
        ticket.closed_at = None
    change = StatusChange(ticket_id=ticket.id, from_status_id=current.id, to_status_id=target.id,
                          staff_id=actor.id if actor else None, by_client=by_client,
                          created_at=now)
    session.add(change)
    audit(session, actor, "ticket.status", "ticket", ticket.id, old=current.code,
          new=target.code, by_client=by_client)
    await session.flush()
    return change


@dataclass
class AttachmentIn:
    kind: AttachmentKind
    file_id: str
    file_unique_id: str
    mime_type: str | None = None
    file_name: str | None = None
    size: int | None = None
    caption: str = ""


@dataclass
class CommentIn:
    text: str = ""
    attachments: list[AttachmentIn] = field(default_factory=list)
    public: bool = False


async def add_comment(
    session: AsyncSession, actor: Staff, ticket_id: int, data: CommentIn,
    now: datetime | None = None,
) -> Comment:
    require_active(actor)
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id=ticket_id)
    text = _text(data.text, "comment")
    if not text and not data.attachments:
        raise InvalidValue("comment", reason="required")
    comment = Comment(ticket_id=ticket.id, staff_id=actor.id, text=text, public=data.public,
                      created_at=now or utcnow())
    comment.attachments = [
        Attachment(kind=a.kind, file_id=a.file_id, file_unique_id=a.file_unique_id,
                   mime_type=a.mime_type, file_name=a.file_name, size=a.size,
                   caption=(a.caption or "")[:1024])
        for a in data.attachments
    ]
    session.add(comment)
    await session.flush()
    audit(session, actor, "ticket.comment", "ticket", ticket.id, comment_id=comment.id,
          files=len(data.attachments))
    return comment


async def list_comments(session: AsyncSession, ticket_id: int) -> list[Comment]:
    return list(await session.scalars(
        select(Comment).where(Comment.ticket_id == ticket_id).order_by(Comment.id)
        .options(selectinload(Comment.attachments))
    ))


async def status_history(session: AsyncSession, ticket_id: int) -> list[StatusChange]:
    return list(await session.scalars(
        select(StatusChange).where(StatusChange.ticket_id == ticket_id).order_by(StatusChange.id)
    ))


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a ticket's history: a status move (`from_status`/`to_status`; no
    `from_status` at intake) or another audited action (`action`)."""

    created_at: datetime
    who: str | None  # the staff member's name; None for the client or someone gone
    by_client: bool = False
    from_status: Status | None = None
    to_status: Status | None = None
    action: str | None = None


async def ticket_history(session: AsyncSession, ticket_id: int) -> list[HistoryEntry]:
    """Status moves, then the other audited changes (comments, edits), each oldest first."""
    statuses = {s.id: s for s in await session.scalars(select(Status))}
    people = await staff_names(session)
    entries = [
        HistoryEntry(change.created_at, people.get(change.staff_id or 0), change.by_client,
                     statuses.get(change.from_status_id or 0), statuses[change.to_status_id])
        for change in await status_history(session, ticket_id)
    ]
    audit_rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "ticket", AuditEntry.entity_id == ticket_id,
                                 AuditEntry.action.not_in(("ticket.status", "ticket.open")))
        .order_by(AuditEntry.id))
    entries += [HistoryEntry(entry.created_at, people.get(entry.staff_id or 0),
                             action=entry.action) for entry in audit_rows]
    return entries


async def staff_names(session: AsyncSession, ids: Collection[int] | None = None
                      ) -> dict[int, str]:
    """Staff names by id (all staff, or just `ids`)."""
    query = select(Staff.id, Staff.name)
    if ids is not None:
        query = query.where(Staff.id.in_(list(ids)))
    return {sid: name for sid, name in await session.execute(query)}


async def device_tickets(session: AsyncSession, device_id: int) -> list[Ticket]:
    return list(await session.scalars(
        select(Ticket).where(Ticket.device_id == device_id).order_by(Ticket.number)
        .options(selectinload(Ticket.status))
    ))


_CLIENT_TICKETS = (_ticket_query().where(Ticket.client_id == bindparam("client_id"))
                   .order_by(Ticket.number.desc()))


async def client_tickets(session: AsyncSession, client_id: int) -> list[Ticket]:
    return list(await session.scalars(_CLIENT_TICKETS, {"client_id": client_id}))


async def open_tickets(
    session: AsyncSession, *, offset: int = 0, limit: int = 20, status_id: int | None = None,
) -> tuple[list[Ticket], int]:
    """Open tickets ordered by status board position then number, with the total count."""
    base = select(Ticket).join(Status, Status.id == Ticket.status_id).where(
        Status.kind.not_in(CLOSED_STATUS_KINDS)
    )
    if status_id is not None:
        base = base.where(Ticket.status_id == status_id)
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = await session.scalars(
        base.order_by(Status.position, Ticket.number).offset(offset).limit(limit)
        .options(*_TICKET_LOADS)
    )
    return list(rows), total


EDITABLE_FIELDS = ("defect", "condition", "kit", "lock_code")


async def update_ticket(
    session: AsyncSession, actor: Staff, ticket_id: int, *,
    text_fields: dict[str, str] | None = None, estimate: int | None = None,
    master_id: int | None = None,
) -> Ticket:
    """Edit intake data; a closed ticket is history and is not edited (reopen it first)."""
    require_active(actor)
    ticket = await get_ticket(session, ticket_id)
    if ticket.status.kind.is_closed:
        raise TicketClosed("closed", number=ticket.number)
    changes: dict[str, object] = {}
    for name, value in (text_fields or {}).items():
        if name not in EDITABLE_FIELDS:
            raise InvalidValue(name)
        cleaned = _text(value, name, required=name == "defect")
        setattr(ticket, name, cleaned)
        changes[name] = cleaned
    if estimate is not None:
        _check_estimate(estimate)
        ticket.estimate = changes["estimate"] = estimate
    if master_id is not None:
        await _check_master(session, master_id)
        ticket.master_id = changes["master_id"] = master_id
    if changes.get("lock_code"):  # a device's unlock code is shown on its card only
        changes["lock_code"] = LOCK_CODE_MASK
    audit(session, actor, "ticket.update", "ticket", ticket.id, **changes)
    return ticket
