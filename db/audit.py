"""Audit log: who changed what. Written in the same transaction as the change; the owner
reads money, status and access entries with /audit (`audit_page`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import require_owner
from db.base import utcnow
from db.desk.models import AuditEntry, Staff, Status, Ticket
from db.money.models import Receipt


def audit(
    session: AsyncSession,
    actor: Staff | None,
    action: str,
    entity: str,
    entity_id: int | None,
    **data: Any,
) -> None:
    session.add(
        AuditEntry(
            staff_id=actor.id if actor else None,
            action=action,
            entity=entity,
            entity_id=entity_id,
            data=data,
            created_at=utcnow(),
        )
    )


# -- reading (the owner's /audit) -----------------------------------------------------------

class AuditTopic(StrEnum):
    """Which part of the log the owner reads."""

    ALL = "all"  # money, statuses and access together
    MONEY = "money"
    STATUS = "status"
    ACCESS = "access"


MONEY_ACTIONS = ("receipt.pay", "receipt.refund", "receipt.delete", "expense.add",
                 "expense.delete", "cash.service", "shift.open", "shift.close", "ticket.close",
                 "fiscal.retry")
STATUS_ACTIONS = ("ticket.open", "ticket.status")
ACCESS_ACTIONS = ("invite.create", "invite.revoke", "invite.accept", "staff.role",
                  "staff.active", "staff.commission", "staff.owner_from_settings")
TOPIC_ACTIONS: dict[AuditTopic, tuple[str, ...]] = {
    AuditTopic.ALL: MONEY_ACTIONS + STATUS_ACTIONS + ACCESS_ACTIONS,
    AuditTopic.MONEY: MONEY_ACTIONS,
    AuditTopic.STATUS: STATUS_ACTIONS,
    AuditTopic.ACCESS: ACCESS_ACTIONS,
}


@dataclass(frozen=True)
class AuditRecord:
    """One entry as the owner reads it: who (None: the system or the client), what, on which
    ticket (its number) and receipt, and the entry's own data."""

    created_at: datetime
    who: str | None
    action: str
    entity: str
    entity_id: int | None
    data: dict[str, Any]
    ticket_number: int | None
    receipt_id: int | None
    subject: str | None  # the staff member an access entry is about


@dataclass(frozen=True)
class AuditPage:
    records: list[AuditRecord]
    page: int  # clamped to the pages there are
    pages: int
    statuses: dict[str, Status]  # by code, for "old → new"


async def audit_page(session: AsyncSession, actor: Staff, topic: AuditTopic, page: int,
                     size: int = 10) -> AuditPage:
    """The newest entries of `topic`, `size` a page (owner only)."""
    require_owner(actor)
    where = AuditEntry.action.in_(TOPIC_ACTIONS[topic])
    total = await session.scalar(select(func.count()).select_from(AuditEntry).where(where)) or 0
    pages = max(1, -(-total // size))
    page = min(max(page, 0), pages - 1)
    rows = list(await session.scalars(
        select(AuditEntry).where(where).order_by(AuditEntry.id.desc())
        .offset(page * size).limit(size)))
    receipts = await _receipt_tickets(session, rows)
    tickets = await _ticket_numbers(session, rows, receipts)
    people = {sid: name for sid, name in await session.execute(select(Staff.id, Staff.name))}
    records = [_record(row, people, receipts, tickets) for row in rows]
    statuses = {s.code: s for s in await session.scalars(select(Status))}
    return AuditPage(records, page, pages, statuses)


def _data_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _receipt_tickets(session: AsyncSession, rows: list[AuditEntry]) -> dict[int, int | None]:
    ids = {r.entity_id for r in rows if r.entity == "receipt" and r.entity_id is not None}
    if not ids:
        return {}
    found = await session.execute(select(Receipt.id, Receipt.ticket_id).where(Receipt.id.in_(ids)))
    return {rid: tid for rid, tid in found}


def _ticket_id(row: AuditEntry, receipts: dict[int, int | None]) -> int | None:
    if row.entity == "ticket":
        return row.entity_id
    if row.entity == "receipt" and row.entity_id in receipts:
        return receipts[row.entity_id]
    return _data_int(row.data or {}, "ticket_id")


async def _ticket_numbers(session: AsyncSession, rows: list[AuditEntry],
                          receipts: dict[int, int | None]) -> dict[int, int]:
    ids = {t for r in rows if (t := _ticket_id(r, receipts)) is not None}
    if not ids:
        return {}
    return {tid: number for tid, number in
            await session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids)))}


def _record(row: AuditEntry, people: dict[int, str], receipts: dict[int, int | None],
            tickets: dict[int, int]) -> AuditRecord:
    ticket_id = _ticket_id(row, receipts)
    return AuditRecord(
        created_at=row.created_at, who=people.get(row.staff_id) if row.staff_id else None,
        action=row.action, entity=row.entity, entity_id=row.entity_id, data=row.data or {},
        ticket_number=tickets.get(ticket_id) if ticket_id is not None else None,
        receipt_id=row.entity_id if row.entity == "receipt" else None,
        subject=people.get(row.entity_id) if row.entity == "staff" and row.entity_id else None)
