"""A client base from another system, row by row: raw texts → validated, merged records.

Rules (what db.desk.clients applies to one client, applied to a file):
* the phone is required and stored as E.164 (db.desk.phones); a phone cell holding two numbers
  ("067…, 050…") gives the second one as the extra phone when there is none;
* texts are one line each and limited as in the client card; the comment is cut at 2000;
* rows with the same phone are one client: the first non-empty value of each field wins,
  devices are collected without repeats (same serial, or same type/brand/model);
* a row that breaks a rule is refused with a reason, the others go on; a blank row is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from db.desk.clients import normalize_serial
from db.desk.phones import parse_phone
from db.errors import InvalidPhone

FIELDS = ("phone", "name", "surname", "extra_phone", "comment", "kind", "brand", "model",
          "serial")
LIMITS = {"name": 128, "surname": 128, "kind": 64, "brand": 64, "model": 128, "serial": 64}
COMMENT_MAX = 2000
_PHONE_SPLIT = re.compile(r"[,;\n]+")


@dataclass(frozen=True)
class SourceRow:
    line: int  # the row's number as the owner sees it in the file
    values: Mapping[str, str]  # field (FIELDS) -> raw text


@dataclass(frozen=True)
class Refusal:
    line: int
    reason: str  # phone_missing, phone_<InvalidPhone reason>, extra_phone_<…>, too_long
    field: str
    value: str


@dataclass
class DeviceRow:
    kind: str
    brand: str
    model: str
    serial: str | None
    id: int | None = None  # set for a device already in the database

    @property
    def serial_norm(self) -> str | None:
        return normalize_serial(self.serial) if self.serial else None

    def same_as(self, other: DeviceRow) -> bool:
        """One device: the same serial; or, when either has none, the same brand and model,
        and the same type when both name one (letter case aside)."""
        mine, theirs = self.serial_norm, other.serial_norm
        if mine and theirs:
            return mine == theirs
        kinds = {self.kind.casefold(), other.kind.casefold()} - {""}
        return len(kinds) <= 1 and ((self.brand.casefold(), self.model.casefold())
                                    == (other.brand.casefold(), other.model.casefold()))


@dataclass
class ClientRow:
    phone: str  # E.164
    name: str = ""
    surname: str = ""
    extra_phone: str | None = None
    comment: str = ""
    devices: list[DeviceRow] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def fold(self, other: ClientRow) -> None:
        """Take what this row lacks from a later row of the same phone."""
        self.name = self.name or other.name
        self.surname = self.surname or other.surname
        if self.extra_phone is None and other.extra_phone != self.phone:
            self.extra_phone = other.extra_phone
        self.comment = self.comment or other.comment
        for device in other.devices:
            add_device(self.devices, device)
        self.lines.extend(other.lines)


def add_device(devices: list[DeviceRow], device: DeviceRow) -> DeviceRow | None:
    """Add `device` unless it is there; a known device without a serial learns it. Returns the
    device it matched, if any."""
    for known in devices:
        if known.same_as(device):
            if not known.serial and device.serial:
                known.serial = device.serial
            return known
    devices.append(device)
    return None


@dataclass
class ParsedFile:
    clients: dict[str, ClientRow] = field(default_factory=dict)  # by phone, in file order
    refused: list[Refusal] = field(default_factory=list)
    rows: int = 0  # data rows read (blank ones too)
    blank: int = 0
    folded: int = 0  # rows that were the same client as an earlier row


class _Refused(Exception):
    def __init__(self, reason: str, field_name: str, value: str) -> None:
        super().__init__(reason)
        self.refusal = (reason, field_name, value)


def _line(values: Mapping[str, str], name: str) -> str:
    text = " ".join((values.get(name) or "").split())
    if len(text) > LIMITS[name]:
        raise _Refused("too_long", name, text)
    return text


def _phone(text: str, name: str, region: str) -> str:
    try:
        return parse_phone(text, region)
    except InvalidPhone as exc:
        raise _Refused(f"{name}_{exc.reason}", name, text.strip()) from None


def _phones(values: Mapping[str, str], region: str) -> tuple[str, str | None]:
    parts = [p.strip() for p in _PHONE_SPLIT.split(values.get("phone") or "") if p.strip()]
    if not parts:
        raise _Refused("phone_missing", "phone", "")
    main = _phone(parts[0], "phone", region)
    extra_text = (values.get("extra_phone") or "").strip() or (
        parts[1] if len(parts) > 1 else "")
    extra = _phone(extra_text, "extra_phone", region) if extra_text else None
    return main, (extra if extra != main else None)


def _device(values: Mapping[str, str]) -> DeviceRow | None:
    kind, brand, model = _line(values, "kind"), _line(values, "brand"), _line(values, "model")
    serial = _line(values, "serial") or None
    if not (kind or brand or model or serial):
        return None
    return DeviceRow(kind=kind, brand=brand, model=model, serial=serial)


def parse_row(row: SourceRow, region: str) -> ClientRow:
    """One row → one client with its device; raises _Refused."""
    phone, extra = _phones(row.values, region)
    device = _device(row.values)
    return ClientRow(
        phone=phone, name=_line(row.values, "name"), surname=_line(row.values, "surname"),
        extra_phone=extra, comment=(row.values.get("comment") or "").strip()[:COMMENT_MAX],
        devices=[device] if device else [], lines=[row.line])


def parse_rows(rows: Iterable[SourceRow], region: str = "UA") -> ParsedFile:
    """Validate and merge the file's rows (no database involved)."""
    parsed = ParsedFile()
    for row in rows:
        parsed.rows += 1
        if not any((value or "").strip() for value in row.values.values()):
            parsed.blank += 1
            continue
        try:
            client = parse_row(row, region)
        except _Refused as exc:
            parsed.refused.append(Refusal(row.line, *exc.refusal))
            continue
        earlier = parsed.clients.get(client.phone)
        if earlier is None:
            parsed.clients[client.phone] = client
        else:
            earlier.fold(client)
            parsed.folded += 1
    return parsed
