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
ONE = 1000  # one item, in thousandths
_TEXT_MAX = 64

_CURRENCY = re.compile(r"(грн\.?|гривень|гривен|гривні|гривны|гривна|гривня|uah|hrn|₴)$")
_UNIT = re.compile(r"(шт\.?|pcs\.?|pc\.?)$")
_MINUS = ("-", "\u2212", "\u2013")  # hyphen, minus sign, en dash (phones autocorrect)
_DIGITS = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:[ .,][0-9]{3})+")
# "стекло *2", "SCR1 ×1,5", "плёнка x3 шт": a quantity at the end, after * × x or Cyrillic х.
_QTY_SUFFIX = re.compile(
    r"^(?P<rest>.*?)\s*(?:[*×]|\s[xх])\s*(?P<qty>\d+(?:[.,]\d+)?\s*(?:шт\.?)?)$", re.IGNORECASE)


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _scaled(text: str, places: int, suffix: re.Pattern[str], prefix: str = "") -> int:
    """Signed integer of `text` × 10**places; raises _Bad(reason)."""
    s, negative = _normalized(text, suffix, prefix)
    whole, frac = _whole_and_fraction(s)
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


def _normalized(text: str, suffix: re.Pattern[str], prefix: str) -> tuple[str, bool]:
    """The number's characters without unit, currency and sign, and whether it was negative."""
    if not isinstance(text, str) or not text.strip():
        raise _Bad("empty")
    if len(text) > _TEXT_MAX:
        raise _Bad("format")
    s = suffix.sub("", text.strip().casefold()).strip()
    if prefix and s.startswith(prefix):
        s = s[len(prefix):].strip()
    negative = s.startswith(_MINUS)
    if negative:
        s = s[1:].strip()
    s = " ".join(s.split())  # every Unicode space (NBSP, narrow NBSP, thin) → one " "
    if not s:
        raise _Bad("format")
    return s, negative


def _decimal_mark(s: str) -> str | None:
    """The decimal separator: the last of two kinds, or a single one (a repeated one groups)."""
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        mark = "." if s.rfind(".") > s.rfind(",") else ","
        if s.count(mark) != 1:
            raise _Bad("format")
        return mark
    if dots == 1 or commas == 1:
        return "." if dots else ","
    return None


def _whole_and_fraction(s: str) -> tuple[str, str]:
    mark = _decimal_mark(s)
    whole, frac = s.rsplit(mark, 1) if mark else (s, "")
    if mark and _DIGITS.fullmatch(frac) is None:
        raise _Bad("format")  # "12,", "12, 5", "1,5a"
    if _DIGITS.fullmatch(whole) is not None:
        return whole, frac
    # "" (",5"), "12 " ("12 ,5") and grouped numbers: grouping must be real thousands.
    if _GROUPED.fullmatch(whole) is None or len({c for c in whole if not c.isdigit()}) != 1:
        raise _Bad("format")
    return "".join(c for c in whole if c.isdigit()), frac


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


def split_quantity(text: str) -> tuple[str, int | None]:
    """("стекло", 2000) from "стекло *2"; (text, None) when there is no quantity suffix.
    Raises InvalidQuantity for a suffix that is not a valid quantity ("*0")."""
    match = _QTY_SUFFIX.match(text.strip())
    if match is None or not match.group("rest").strip():
        return text.strip(), None
    return match.group("rest").strip(), parse_quantity(match.group("qty"))


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
    return (price * quantity + ONE // 2) // ONE


def percent_of(base: int, basis_points: int) -> int:
    """`basis_points` (30 % = 3000) of a non-negative `base` in kopecks, half up."""
    return (base * basis_points + 5000) // 10000
