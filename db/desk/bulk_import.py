"""Import of a client base (owner): the parsed file (db.desk.import_rows) against the database,
a preview of what would change, and one transactional apply.

A file client whose phone is a client's phone (or, failing that, a client's extra phone) is
merged into that client: empty fields are filled, devices not there yet are added, a known
device without a serial learns it; nothing already there is overwritten. Everything is
written with bulk statements in the caller's transaction: a failure keeps nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.access import require_owner
from db.audit import audit
from db.base import utcnow
from db.desk.import_rows import ClientRow, DeviceRow, ParsedFile, Refusal
from db.desk.models import Client, Device, Staff
from db.desk.phones import reversed_digits

CHUNK = 500  # phones or ids per IN (…): far below every driver's parameter limit


@dataclass(frozen=True)
class ImportSummary:
    rows: int  # data rows in the file
    blank: int
    refused: list[Refusal]
    folded: int  # rows merged into an earlier row of the same phone
    clients_new: int
    clients_merged: int  # file clients that are existing clients
    clients_filled: int  # existing clients that get a field or a device
    devices_new: int
    devices_known: int

    @property
    def importable(self) -> int:
        """Rows that will be imported (as a new client, or merged)."""
        return self.rows - self.blank - len(self.refused)


@dataclass
class _Existing:
    id: int
    phone: str
    extra_phone: str | None
    name: str
    surname: str
    comment: str
    devices: list[DeviceRow] = field(default_factory=list)
    changed: bool = False

    def absorb(self, row: ClientRow) -> None:
        """Fill what is empty, never overwrite."""
        for name in ("name", "surname", "comment"):
            if not getattr(self, name) and getattr(row, name):
                setattr(self, name, getattr(row, name))
                self.changed = True
        if self.extra_phone is None and row.extra_phone and row.extra_phone != self.phone:
            self.extra_phone = row.extra_phone
            self.changed = True


@dataclass
class _Plan:
    new: list[ClientRow] = field(default_factory=list)
    merged: dict[int, _Existing] = field(default_factory=dict)  # by client id
    merged_rows: int = 0
    devices: list[tuple[int | str, DeviceRow]] = field(default_factory=list)  # owner: id|phone
    serials: dict[int, DeviceRow] = field(default_factory=dict)  # device id -> learned serial
    devices_known: int = 0


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


async def _existing(session: AsyncSession, phones: list[str]) -> dict[str, _Existing]:
    """File phone -> the client it belongs to (main phone first, then extra phone)."""
    by_phone: dict[str, _Existing] = {}
    by_extra: dict[str, _Existing] = {}
    for chunk in _chunks(phones):
        rows = await session.execute(
            select(Client.id, Client.phone, Client.extra_phone, Client.name, Client.surname,
                   Client.comment)
            .where(or_(Client.phone.in_(chunk), Client.extra_phone.in_(chunk))))
        for row in rows:
            known = by_phone.setdefault(row.phone, _Existing(*row))
            if row.extra_phone:
                by_extra.setdefault(row.extra_phone, known)
    matched = {p: by_phone.get(p) or by_extra[p] for p in phones
               if p in by_phone or p in by_extra}
    clients = {c.id: c for c in matched.values()}
    ids = list(clients)
    for chunk in _chunks(ids):
        for device in await session.execute(
                select(Device.id, Device.client_id, Device.kind, Device.brand, Device.model,
                       Device.serial).where(Device.client_id.in_(chunk)).order_by(Device.id)):
            clients[device.client_id].devices.append(DeviceRow(
                kind=device.kind, brand=device.brand, model=device.model,
                serial=device.serial, id=device.id))
    return matched


def _merge_devices(plan: _Plan, known: _Existing, row: ClientRow) -> None:
    for device in row.devices:
        match = next((d for d in known.devices if d.same_as(device)), None)
        if match is None:
            known.devices.append(device)
            plan.devices.append((known.id, device))
            continue
        plan.devices_known += 1
        if not match.serial and device.serial:
            match.serial = device.serial
            if match.id is not None:
                plan.serials[match.id] = match


async def _plan(session: AsyncSession, parsed: ParsedFile) -> _Plan:
    existing = await _existing(session, list(parsed.clients))
    plan = _Plan()
    for phone, row in parsed.clients.items():
        known = existing.get(phone)
        if known is None:
            plan.new.append(row)
            plan.devices.extend((phone, device) for device in row.devices)
            continue
        plan.merged_rows += 1
        known.absorb(row)
        plan.merged[known.id] = known
        _merge_devices(plan, known, row)
    return plan


def _summary(parsed: ParsedFile, plan: _Plan) -> ImportSummary:
    owners_of_new_devices = {owner for owner, _d in plan.devices if isinstance(owner, int)}
    filled = sum(1 for c in plan.merged.values()
                 if c.changed or c.id in owners_of_new_devices
                 or any(d.id in plan.serials for d in c.devices))
    return ImportSummary(
        rows=parsed.rows, blank=parsed.blank, refused=parsed.refused, folded=parsed.folded,
        clients_new=len(plan.new), clients_merged=plan.merged_rows, clients_filled=filled,
        devices_new=len(plan.devices), devices_known=plan.devices_known)


async def preview_import(session: AsyncSession, parsed: ParsedFile) -> ImportSummary:
    """What `apply_import` would do now (reads only)."""
    return _summary(parsed, await _plan(session, parsed))


def _search_name(name: str, surname: str) -> str:
    # The same folding as db.desk.clients: Python casefolds Cyrillic, SQLite's lower() not.
    return f"{name} {surname}".strip().casefold()


def _client_values(row: ClientRow | _Existing) -> dict[str, Any]:
    extra = row.extra_phone
    return {"name": row.name, "surname": row.surname, "extra_phone": extra,
            "extra_phone_rev": reversed_digits(extra) if extra else None,
            "comment": row.comment, "search_name": _search_name(row.name, row.surname)}


async def _insert_clients(session: AsyncSession, rows: list[ClientRow]) -> dict[str, int]:
    if not rows:
        return {}
    now = utcnow()
    result = await session.execute(
        insert(Client).returning(Client.id, Client.phone),
        [{**_client_values(r), "phone": r.phone, "phone_rev": reversed_digits(r.phone),
          "self_registered": False, "created_at": now} for r in rows])
    return {phone: client_id for client_id, phone in result}


async def _write(session: AsyncSession, plan: _Plan) -> None:
    ids = await _insert_clients(session, plan.new)
    fills = [{"id": c.id, **_client_values(c)} for c in plan.merged.values() if c.changed]
    if fills:
        await session.execute(update(Client), fills)
    if plan.serials:
        await session.execute(update(Device), [
            {"id": device_id, "serial": d.serial, "serial_norm": d.serial_norm}
            for device_id, d in plan.serials.items()])
    if plan.devices:
        now = utcnow()
        await session.execute(insert(Device), [
            {"client_id": owner if isinstance(owner, int) else ids[owner], "kind": d.kind,
             "brand": d.brand, "model": d.model, "serial": d.serial,
             "serial_norm": d.serial_norm, "notes": "", "created_at": now}
            for owner, d in plan.devices])


async def apply_import(session: AsyncSession, actor: Staff | None, parsed: ParsedFile, *,
                       source: str = "") -> ImportSummary:
    """Import the parsed file in the caller's transaction (the plan is made again inside it,
    so a client added since the preview is merged, not duplicated). `actor` None = the
    command line (`python -m bot import`)."""
    if actor is not None:
        require_owner(actor)
    plan = await _plan(session, parsed)
    summary = _summary(parsed, plan)
    await _write(session, plan)
    audit(session, actor, "client.import", "client", None, source=source[:200],
          rows=summary.rows, refused=len(summary.refused), clients_new=summary.clients_new,
          clients_merged=summary.clients_merged, devices_new=summary.devices_new)
    return summary
