"""What an intake accepts, field by field. The review screen checks each value as it is typed,
so the person hears about a mistake at once and not at "✅ Принять"; the intake use case checks
the whole draft again before saving, and open_ticket/add_device keep the same limits."""

from __future__ import annotations

from collections.abc import Sequence

from db.desk.clients import BRAND_MAX, KIND_MAX, MODEL_MAX, SERIAL_MAX
from db.desk.tickets import LOCK_CODE_MAX, TEXT_MAX
from db.errors import InvalidValue

DEVICE_LINE_MAX = 190  # brand and model typed as one line
NOTE_MAX = 500  # condition or kit typed by hand: the option buttons give far less
PHOTOS_MAX = 30
SERVICES_MAX = 20  # lines of the intake's quote


def device_kind(text: str) -> str:
    """A device type typed instead of picked: one line, cut to what a device keeps."""
    return " ".join(text.split())[:KIND_MAX]


def brand_and_model(text: str) -> tuple[str, str]:
    """'Apple iPhone 12' → ('Apple', 'iPhone 12'): the first word is the brand."""
    words = text.split()
    if not words:
        raise InvalidValue("model", reason="required")
    if len(text) > DEVICE_LINE_MAX:
        raise InvalidValue("model", reason="too_long", limit=DEVICE_LINE_MAX)
    return words[0][:BRAND_MAX], " ".join(words[1:])[:MODEL_MAX]


def defect_text(text: str) -> str:
    value = text.strip()
    if not value:
        raise InvalidValue("defect", reason="required")
    if len(value) > TEXT_MAX:
        raise InvalidValue("defect", reason="too_long", limit=TEXT_MAX)
    return value


def _short(text: str, field: str, limit: int) -> str:
    value = text.strip()
    if len(value) > limit:
        raise InvalidValue(field, reason="too_long", limit=limit)
    return value


def serial_text(text: str) -> str:
    return _short(text, "serial", SERIAL_MAX)


def lock_code_text(text: str) -> str:
    return _short(text, "lock_code", LOCK_CODE_MAX)


def note_text(text: str) -> str:
    return text.strip()[:NOTE_MAX]


def check_photos(count: int) -> None:
    if count > PHOTOS_MAX:
        raise InvalidValue("photos", reason="too_many", most=PHOTOS_MAX)


def check_services(count: int) -> None:
    if count > SERVICES_MAX:
        raise InvalidValue("services", reason="too_many", most=SERVICES_MAX)


def toggle_service(ids: Sequence[int], service_id: int) -> list[int]:
    """Take a service off the quote, or put it on while there is room."""
    out = list(ids)
    if service_id in out:
        out.remove(service_id)
    elif len(out) < SERVICES_MAX:
        out.append(service_id)
    return out
