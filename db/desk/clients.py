"""Clients and their devices: create, find by any phone spelling, search."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from db.access import require_active, require_owner
from db.audit import audit
from db.base import utcnow
from db.desk.models import Client, Device, DeviceType, Staff, Ticket
from db.desk.phones import TAIL_MIN, digits, parse_phone, reversed_digits
from db.desk.substring_search import CLIENT_NAMES, DEVICE_SERIALS, id_in, served_by_index
from db.errors import DuplicateClient, InvalidPhone, InvalidValue, NotFound, required_line

NAME_MAX = 128
# What a device keeps (db.desk.intake checks them as the intake is typed).
KIND_MAX = 64
BRAND_MAX = 64
MODEL_MAX = 128
SERIAL_MAX = 64
_PHONEISH = re.compile(r"[\d\s()+\-./#]+")
SEARCH_LIMIT = 20


def _clean(text: str | None, field: str, limit: int) -> str:
    value = " ".join((text or "").split())
    if len(value) > limit:
        raise InvalidValue(field, limit=limit)
    return value


def _search_name(name: str, surname: str) -> str:
    return f"{name} {surname}".strip().casefold()


def normalize_serial(serial: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", serial).upper()


async def get_client(session: AsyncSession, client_id: int) -> Client:
    client = await session.get(Client, client_id)
    if client is None:
        raise NotFound("client", client_id=client_id)
    return client


# The client card after every search that finds one: built once, not per card; the devices
# joined in (one statement; a client has a handful).
_WITH_DEVICES = (select(Client).where(Client.id == bindparam("client_id"))
                 .options(joinedload(Client.devices)))


async def get_client_with_devices(session: AsyncSession, client_id: int) -> Client:
    result = await session.execute(_WITH_DEVICES, {"client_id": client_id})
    client = result.unique().scalar_one_or_none()
    if client is None:
        raise NotFound("client", client_id=client_id)
    return client


def _has_phone(e164: str | ColumnElement[str]) -> ColumnElement[bool]:
    return or_(Client.phone == e164, Client.extra_phone == e164)


# A typed phone's owner (the search's first step): built once, not per search.
_BY_NUMBER = select(Client).where(_has_phone(bindparam("e164", type_=String)))


async def find_client_by_phone(
    session: AsyncSession, text: str, region: str = "UA"
) -> Client | None:
    """Exact match on the main or the extra phone, typed in any format."""
    e164 = parse_phone(text, region)
    return await session.scalar(select(Client).where(_has_phone(e164)).limit(1))


async def create_client(
    session: AsyncSession,
    actor: Staff | None,
    *,
    phone: str,
    name: str = "",
    surname: str = "",
    extra_phone: str | None = None,
    comment: str = "",
    region: str = "UA",
    self_registered: bool = False,
) -> Client:
    """`actor` None: the client registers themselves (or a test builds one)."""
    if actor is not None:
        require_active(actor)
    e164 = parse_phone(phone, region)
    extra = parse_phone(extra_phone, region) if extra_phone else None
    if extra == e164:
        extra = None
    existing = await session.scalar(select(Client.id).where(Client.phone == e164))
    if existing is not None:
        raise DuplicateClient(e164, existing)
    name = _clean(name, "name", NAME_MAX)
    surname = _clean(surname, "surname", NAME_MAX)
    client = Client(
        name=name, surname=surname, phone=e164, phone_rev=reversed_digits(e164),
        extra_phone=extra, extra_phone_rev=reversed_digits(extra) if extra else None,
        comment=(comment or "").strip()[:2000], search_name=_search_name(name, surname),
        self_registered=self_registered, created_at=utcnow(),
    )
    session.add(client)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # Somebody created the same phone a moment ago.
        existing = await session.scalar(select(Client.id).where(Client.phone == e164))
        raise DuplicateClient(e164, existing or 0) from None
    audit(session, actor, "client.create", "client", client.id, phone=e164)
    return client


async def update_client(
    session: AsyncSession,
    actor: Staff,
    client_id: int,
    *,
    name: str | None = None,
    surname: str | None = None,
    extra_phone: str | None = None,
    comment: str | None = None,
    region: str = "UA",
) -> Client:
    require_active(actor)
    client = await get_client(session, client_id)
    changes: dict[str, str | None] = {}
    if name is not None:
        client.name = changes["name"] = _clean(name, "name", NAME_MAX)
    if surname is not None:
        client.surname = changes["surname"] = _clean(surname, "surname", NAME_MAX)
    if extra_phone is not None:
        extra = parse_phone(extra_phone, region) if extra_phone.strip() else None
        client.extra_phone = changes["extra_phone"] = extra
        client.extra_phone_rev = reversed_digits(extra) if extra else None
    if comment is not None:
        client.comment = changes["comment"] = comment.strip()[:2000]
    client.search_name = _search_name(client.name, client.surname)
    audit(session, actor, "client.update", "client", client.id, **changes)
    return client


@dataclass(frozen=True)
class SearchHit:
    client: Client
    reason: str  # phone | name | serial | ticket


async def search_clients(
    session: AsyncSession, text: str, region: str = "UA", limit: int = SEARCH_LIMIT
) -> list[SearchHit]:
    """Find clients by a full phone, its last ≥4 digits, name/surname, serial/IMEI or ticket N
    ("#N" is that ticket's client and nobody else)."""
    query = text.strip()
    if not query:
        return []
    ticket_client = await _by_ticket_number(session, query)
    if ticket_client is not None and query.startswith("#"):
        return [SearchHit(ticket_client, "ticket")]
    hits: dict[int, SearchHit] = {}
    by_phone, is_phone = await _by_phone(session, query, region, limit)
    # A serial is matched anywhere inside (a scan of every device): not for what is clearly
    # a phone (a valid number), nor for digits that already found a phone's owner.
    serials = [] if is_phone or by_phone else await _by_serial(session, query, limit)
    groups = (
        ("phone", by_phone),
        ("name", await _by_name(session, query, limit)),
        ("serial", serials),
        ("ticket", [ticket_client] if ticket_client is not None else []),
    )
    for reason, clients in groups:
        for client in clients:
            hits.setdefault(client.id, SearchHit(client, reason))
    return list(hits.values())[:limit]


_OF_TICKET = (select(Client).join(Ticket, Ticket.client_id == Client.id)
              .where(Ticket.number == bindparam("number")))  # built once: every search


async def _by_ticket_number(session: AsyncSession, query: str) -> Client | None:
    number = query.lstrip("#").strip()
    if not number.isdigit() or len(number) > 9:
        return None
    return await session.scalar(_OF_TICKET, {"number": int(number)})


async def _by_phone(session: AsyncSession, query: str, region: str, limit: int
                    ) -> tuple[list[Client], bool]:
    """The owners of the typed number if it is a valid one and somebody has it, else the
    numbers ending in the typed digits; and whether the query is a valid phone number."""
    only = digits(query)
    if not _PHONEISH.fullmatch(query) or len(only) < TAIL_MIN:
        return [], False
    try:
        e164 = parse_phone(query, region)
    except InvalidPhone:
        e164 = None
    if e164 and (owners := list(await session.scalars(_BY_NUMBER, {"e164": e164}))):
        # A whole number typed: other numbers that end in its digits are other numbers.
        return owners, True
    sqlite = session.get_bind().dialect.name == "sqlite"
    tail = only[::-1]
    found = list(await session.scalars(
        select(Client).where(or_(_starts(Client.phone_rev, tail, sqlite),
                                 _starts(Client.extra_phone_rev, tail, sqlite)))
        .order_by(Client.id.desc()).limit(limit)
    ))
    return found, e164 is not None


def _starts(column: Any, prefix: str, sqlite: bool
            ) -> ColumnElement[bool]:
    """`column` starts with the digits `prefix`, in a form the column's index serves.

    SQLite never uses an index for `LIKE ? || '%'` (LIKE is case-insensitive there and the
    pattern is an expression), so it gets the equivalent range; PostgreSQL's index is built
    with varchar_pattern_ops for LIKE (a range would follow the database's collation).
    """
    if not sqlite:
        return column.startswith(prefix, autoescape=True)
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # digits: '9' + 1 is ':'
    return (column >= prefix) & (column < upper)


async def _by_name(session: AsyncSession, query: str, limit: int) -> list[Client]:
    folded = query.casefold()
    if len(folded) < 2 or _PHONEISH.fullmatch(query):
        return []
    if served_by_index(session, folded):  # the newest `limit` matches, from the index
        where = id_in(Client.id, CLIENT_NAMES, folded, limit)
    else:
        where = Client.search_name.contains(folded, autoescape=True)
    return list(await session.scalars(
        select(Client).where(where).order_by(Client.id.desc()).limit(limit)))


async def _by_serial(session: AsyncSession, query: str, limit: int) -> list[Client]:
    serial = normalize_serial(query)
    if len(serial) < TAIL_MIN:
        return []
    if served_by_index(session, serial):
        where = id_in(Device.id, DEVICE_SERIALS, serial)
    else:
        where = Device.serial_norm.contains(serial, autoescape=True)
    return list(await session.scalars(
        select(Client).join(Device, Device.client_id == Client.id).where(where)
        .distinct().limit(limit)))


async def list_device_types(session: AsyncSession, *, active_only: bool = True) -> list[DeviceType]:
    query = select(DeviceType).order_by(DeviceType.position, DeviceType.id)
    if active_only:
        query = query.where(DeviceType.active.is_(True))
    return list(await session.scalars(query))


async def find_device_type(session: AsyncSession, device_type_id: int) -> DeviceType | None:
    """A device type by id, hidden ones too (None for a forged id)."""
    return await session.get(DeviceType, device_type_id)


DEVICE_TYPE_MAX = 40


async def add_device_type(session: AsyncSession, actor: Staff, name: str) -> DeviceType:
    """A new intake button (owner): the same name in both languages, last on the board."""
    require_owner(actor)
    name = required_line(name, "device_type", DEVICE_TYPE_MAX)
    position = (await session.scalar(select(func.max(DeviceType.position))) or 0) + 10
    device_type = DeviceType(code=f"c_{secrets.token_hex(6)}", name_ru=name, name_uk=name,
                             position=position, active=True)
    session.add(device_type)
    await session.flush()
    audit(session, actor, "device_type.add", "device_type", device_type.id, name=name)
    return device_type


async def set_device_type_active(
    session: AsyncSession, actor: Staff, device_type_id: int, active: bool
) -> DeviceType:
    """Hide a type from intake or bring it back (owner); devices keep their kind text."""
    require_owner(actor)
    device_type = await session.get(DeviceType, device_type_id)
    if device_type is None:
        raise NotFound("device_type", device_type_id=device_type_id)
    device_type.active = active
    audit(session, actor, "device_type.active", "device_type", device_type.id, active=active)
    return device_type


async def add_device(
    session: AsyncSession,
    actor: Staff,
    client_id: int,
    *,
    kind: str,
    brand: str = "",
    model: str = "",
    serial: str | None = None,
    notes: str = "",
) -> Device:
    require_active(actor)
    await get_client(session, client_id)
    kind = _clean(kind, "kind", KIND_MAX)
    brand = _clean(brand, "brand", BRAND_MAX)
    model = _clean(model, "model", MODEL_MAX)
    serial_value = _clean(serial, "serial", SERIAL_MAX) or None
    if not (kind or brand or model):
        raise InvalidValue("device")
    device = Device(
        client_id=client_id, kind=kind, brand=brand, model=model, serial=serial_value,
        serial_norm=normalize_serial(serial_value) if serial_value else None,
        notes=(notes or "").strip()[:2000], created_at=utcnow(),
    )
    session.add(device)
    await session.flush()
    audit(session, actor, "device.create", "device", device.id, client_id=client_id)
    return device


async def fill_serial(session: AsyncSession, actor: Staff, device_id: int, serial: str) -> Device:
    """Record a serial/IMEI learned on a later visit; a known one is never overwritten."""
    require_active(actor)
    device = await get_device(session, device_id)
    value = _clean(serial, "serial", SERIAL_MAX)
    if value and not device.serial:
        device.serial, device.serial_norm = value, normalize_serial(value)
        audit(session, actor, "device.serial", "device", device.id, serial=value)
    return device


async def get_device(session: AsyncSession, device_id: int) -> Device:
    device = await session.get(Device, device_id)
    if device is None:
        raise NotFound("device", device_id=device_id)
    return device
