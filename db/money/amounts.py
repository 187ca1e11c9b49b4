"""Amounts and quantities typed by people, and the integer rounding rules for money.

Money is integer kopecks, quantities integer thousandths (1000 = one item), as Checkbox takes
them. Rounding is always half up, done on integers (never floats).

What `parse_amount` understands (all → kopecks):

    "1200" → 120000            "1 200,50" → 120050        "1200.5" → 120050
    "1 200 грн" → 120000       "1 200,50 ₴" → 120050      "1\u00a0200" → 120000 (any space)
    "1200 uah", "₴1200", "1200грн." → 120000
    "1,200.50" / "1.200,50" → 120050 (both separators: the last one is the decimal one)
    "1.200.000" → 1 200 000,00 (one separator repeated: thousands grouping)

Ambiguous input is refused rather than guessed, because a wrong guess costs money:

    "1,200" / "1.200" (one separator, three digits after it) is 1,2 in Ukraine and 1200 in
    the US: refused with reason "decimals" (more than 2 digits after the separator).
    Grouping must be real thousands: "12 34" and "1.20.000" are "format".
    ",5", "12,", "+5", "1e3", "5-", letters and other currencies are "format".

Reasons, in the order they are checked: empty, format, decimals, zero, negative, too_large.
"-0" is "zero"; "-5" is "negative".
"""

from __future__ import annotations

import re

from db.money.errors import InvalidAmount, InvalidQuantity

AMOUNT_MAX = 10_000_000_00  # 10 million hryvnias, in kopecks
QUANTITY_MAX = 100_000_000  # 100 000 items, in thousandths
_TEXT_MAX = 64

_CURRENCY = re.compile(r"(грн\.?|гривень|гривен|гривні|гривны|гривна|гривня|uah|hrn|₴)$")
_UNIT = re.compile(r"(шт\.?|pcs\.?|pc\.?)$")
_MINUS = ("-", "\u2212", "\u2013")  # hyphen, minus sign, en dash (phones autocorrect)
_DIGITS = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:[ .,][0-9]{3})+")


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _scaled(text: str, places: int, suffix: re.Pattern[str], prefix: str = "") -> int:
    """Signed integer of `text` × 10**places; raises _Bad(reason)."""
    if not isinstance(text, str) or not text.strip():
        raise _Bad("empty")
    if len(text) > _TEXT_MAX:
        raise _Bad("format")
    s = text.strip().casefold()
    s = suffix.sub("", s).strip()
    if prefix and s.startswith(prefix):
        s = s[len(prefix):].strip()
    negative = s.startswith(_MINUS)
    if negative:
        s = s[1:].strip()
    s = " ".join(s.split())  # every Unicode space (NBSP, narrow NBSP, thin) → one " "
    if not s:
        raise _Bad("format")

    dots, commas = s.count("."), s.count(",")
    decimal: str | None = None
    if dots and commas:
        decimal = "." if s.rfind(".") > s.rfind(",") else ","
        if s.count(decimal) != 1:
            raise _Bad("format")
    elif dots == 1 or commas == 1:
        decimal = "." if dots else ","
    whole, frac = s.rsplit(decimal, 1) if decimal else (s, "")
    if decimal and _DIGITS.fullmatch(frac) is None:
        raise _Bad("format")  # "12,", "12, 5", "1,5a"
    if _DIGITS.fullmatch(whole) is None:  # "" (",5"), "12 " ("12 ,5") and grouped numbers
        if _GROUPED.fullmatch(whole) is None or len({c for c in whole if not c.isdigit()}) != 1:
            raise _Bad("format")
        whole = "".join(c for c in whole if c.isdigit())
    if len(frac) > places:
        raise _Bad("decimals")
    if len(whole.lstrip("0")) > 15:
        raise _Bad("too_large")
    value = int(whole) * 10**places + int(frac.ljust(places, "0") or 0)
    if value == 0:
        raise _Bad("zero")
    if negative:
        raise _Bad("negative")
    return value


def parse_amount(text: str) -> int:
    """Kopecks from what a person typed; raises InvalidAmount (see the module docstring)."""
    try:
        value = _scaled(text, 2, _CURRENCY, prefix="₴")
    except _Bad as bad:
        if bad.reason == "too_large":
            raise InvalidAmount("too_large", str(text), limit=AMOUNT_MAX) from None
        raise InvalidAmount(bad.reason, str(text)) from None
    if value > AMOUNT_MAX:
        raise InvalidAmount("too_large", text, limit=AMOUNT_MAX)
    return value


def parse_quantity(text: str) -> int:
    """Thousandths from "2", "1,5", "0.25", "3 шт"; up to 3 decimals; raises InvalidQuantity."""
    try:
        value = _scaled(text, 3, _UNIT)
    except _Bad as bad:
        if bad.reason == "too_large":
            raise InvalidQuantity("too_large", str(text), limit=QUANTITY_MAX) from None
        raise InvalidQuantity(bad.reason, str(text)) from None
    if value > QUANTITY_MAX:
        raise InvalidQuantity("too_large", text, limit=QUANTITY_MAX)
    return value


def check_amount(value: int, field: str = "amount") -> int:
    """Guard for amounts that arrive as integers (from buttons, use cases)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidAmount("format", repr(value), field=field)
    if value == 0:
        raise InvalidAmount("zero", str(value), field=field)
    if value < 0:
        raise InvalidAmount("negative", str(value), field=field)
    if value > AMOUNT_MAX:
        raise InvalidAmount("too_large", str(value), field=field, limit=AMOUNT_MAX)
    return value


def check_quantity(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidQuantity("format", repr(value))
    if value == 0:
        raise InvalidQuantity("zero", str(value))
    if value < 0:
        raise InvalidQuantity("negative", str(value))
    if value > QUANTITY_MAX:
        raise InvalidQuantity("too_large", str(value), limit=QUANTITY_MAX)
    return value


def line_amount(price: int, quantity: int) -> int:
    """Kopecks for `quantity` thousandths at `price` kopecks per item, half up (like a till)."""
    return (price * quantity + 500) // 1000


def percent_of(base: int, basis_points: int) -> int:
    """`basis_points` (30 % = 3000) of a non-negative `base` in kopecks, half up."""
    return (base * basis_points + 5000) // 10000
