"""Phone numbers: any spelling a person types → E.164, and reversed digits for tail search."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from db.errors import InvalidPhone

_ALLOWED = re.compile(r"^[\d\s()+\-./]+$")
TAIL_MIN = 4


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def parse_phone(text: str, region: str = "UA") -> str:
    """Return E.164 or raise InvalidPhone with a reason a person can act on."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidPhone("empty", raw)
    if not _ALLOWED.match(raw):
        raise InvalidPhone("not_a_number", raw)
    only = digits(raw)
    candidate = raw
    if region == "UA" and not raw.startswith("+"):
        # Old habit "8 067 ..." and "380..." typed without the plus.
        if len(only) == 11 and only.startswith("80"):
            candidate = "+3" + only
        elif len(only) == 12 and only.startswith("380"):
            candidate = "+" + only
    if len(only) < 7:
        raise InvalidPhone("too_short", raw)
    if len(only) > 15:
        raise InvalidPhone("too_long", raw)
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException as exc:
        reason = {
            NumberParseException.TOO_SHORT_NSN: "too_short",
            NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
            NumberParseException.TOO_LONG: "too_long",
        }.get(exc.error_type, "not_a_number")
        raise InvalidPhone(reason, raw) from None
    if not phonenumbers.is_valid_number(number):
        length = phonenumbers.is_possible_number_with_reason(number)
        reason = {
            phonenumbers.ValidationResult.TOO_SHORT: "too_short",
            phonenumbers.ValidationResult.TOO_LONG: "too_long",
        }.get(length, "invalid")
        raise InvalidPhone(reason, raw)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def reversed_digits(e164: str) -> str:
    return digits(e164)[::-1]


def format_phone(e164: str) -> str:
    """Human form for cards: +380 67 123 4567."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def looks_like_phone(text: str) -> bool:
    return bool(_ALLOWED.match(text.strip())) and len(digits(text)) >= TAIL_MIN
