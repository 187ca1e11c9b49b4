"""Phone spellings people really type, and the ones we refuse."""

from __future__ import annotations

import pytest

from db.desk.phones import format_phone, parse_phone, reversed_digits
from db.errors import InvalidPhone

SAME_NUMBER = [
    "+38 (067) 123-45-67",
    "0671234567",
    "380671234567",
    "067-123-45-67",
    "+380 67 123 4567",
    "+380671234567",
    "8 067 123 45 67",
    "80671234567",
    "00380671234567",
    "067 123 45 67",
    "(067)1234567",
    "(067) 123 45 67",
    "067.123.45.67",
    "38 067 123 4567",
    "+38-067-123-45-67",
    "671234567",
    "  0671234567  ",
    "+38 067 1234567",
    "38(067)123-45-67",
]


@pytest.mark.parametrize("text", SAME_NUMBER)
def test_spellings_of_one_number(text: str) -> None:
    assert parse_phone(text, "UA") == "+380671234567"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("044 123 45 67", "+380441234567"),  # Kyiv landline
        ("+48 512 345 678", "+48512345678"),  # Polish mobile
        ("+1 202 555 0143", "+12025550143"),
        ("093 000 00 01", "+380930000001"),
    ],
)
def test_other_valid_numbers(text: str, expected: str) -> None:
    assert parse_phone(text, "UA") == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "not_a_number"),
        ("067 123 45 6x", "not_a_number"),
        ("123", "too_short"),
        ("067123", "too_short"),
        ("+380 67 123 45 678 90", "too_long"),
        ("0001234567", "invalid"),
    ],
)
def test_invalid_numbers_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        parse_phone(text, "UA")
    assert info.value.reason == reason


def test_helpers() -> None:
    assert reversed_digits("+380671234567") == "765432176083"
    assert format_phone("+380671234567") == "+380 67 123 4567"
