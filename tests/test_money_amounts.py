"""Amounts and quantities as people type them; integer rounding rules."""

from __future__ import annotations

import pytest

from db.money.amounts import (
    AMOUNT_MAX,
    check_amount,
    line_amount,
    parse_amount,
    parse_quantity,
    percent_of,
    split_quantity,
)
from db.money.errors import InvalidAmount, InvalidQuantity


@pytest.mark.parametrize(
    ("text", "kopecks"),
    [
        ("1200", 120000),
        ("1 200,50", 120050),
        ("1200.5", 120050),
        ("1200,05", 120005),
        ("1 200 грн", 120000),
        ("1 200 грн.", 120000),
        ("1200грн", 120000),
        ("1 200,50 ₴", 120050),
        ("₴ 1 200", 120000),
        ("1\u00a0200", 120000),  # NBSP from a phone keyboard
        ("1\u202f200,5", 120050),  # narrow NBSP (Babel's uk formatting)
        ("1200 uah", 120000),
        ("1200 UAH", 120000),
        ("  300  ", 30000),
        ("0,01", 1),
        ("0.5", 50),
        ("007", 700),
        ("1,200.50", 120050),
        ("1.200,50", 120050),
        ("1.200.000", 120000000),
        ("1 000 000", 100000000),
        ("10 000 000", AMOUNT_MAX),
        ("10000000,00", AMOUNT_MAX),
    ],
)
def test_parse_amount_good(text: str, kopecks: int) -> None:
    assert parse_amount(text) == kopecks


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0", "zero"),
        ("0,00", "zero"),
        ("-0", "zero"),
        ("-5", "negative"),
        ("−1 200", "negative"),  # U+2212
        ("-1200 грн", "negative"),
        ("1,200", "decimals"),  # 1,2 or 1200? refused, not guessed
        ("1.200", "decimals"),
        ("12,345", "decimals"),
        ("1200.505", "decimals"),
        ("10 000 000,01", "too_large"),
        ("99999999999999999999999", "too_large"),
        ("abc", "format"),
        ("12a", "format"),
        ("1e3", "format"),
        ("+5", "format"),
        ("5-", "format"),
        (",5", "format"),
        ("12,", "format"),
        ("12 34", "format"),
        ("1.20.000", "format"),
        ("1 200.000,5", "format"),
        ("12, 5", "format"),
        ("1,2,3.4,5", "format"),
        ("100 $", "format"),
        ("１２", "format"),  # full-width digits
        ("x" * 100, "format"),
    ],
)
def test_parse_amount_bad(text: str, reason: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(text)
    assert err.value.params["reason"] == reason
    assert err.value.code == "invalid_amount"
    if reason == "too_large":
        assert err.value.params["limit"] == AMOUNT_MAX


@pytest.mark.parametrize(
    ("text", "thousandths"),
    [("2", 2000), ("1,5", 1500), ("0.25", 250), ("0,001", 1), ("3 шт", 3000), ("1 000", 1000000)],
)
def test_parse_quantity_good(text: str, thousandths: int) -> None:
    assert parse_quantity(text) == thousandths


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty"), ("0", "zero"), ("-1", "negative"), ("0,0005", "decimals"),
     ("1000000", "too_large"), ("два", "format")],
)
def test_parse_quantity_bad(text: str, reason: str) -> None:
    with pytest.raises(InvalidQuantity) as err:
        parse_quantity(text)
    assert err.value.params["reason"] == reason


def test_check_amount_guards_integers() -> None:
    assert check_amount(1) == 1
    for value, reason in [(0, "zero"), (-1, "negative"), (AMOUNT_MAX + 1, "too_large"),
                          (True, "format"), (1.5, "format")]:
        with pytest.raises(InvalidAmount) as err:
            check_amount(value)  # type: ignore[arg-type]
        assert err.value.params["reason"] == reason


def test_rounding_is_half_up_on_integers() -> None:
    assert line_amount(150000, 1000) == 150000
    assert line_amount(999, 1500) == 1499  # 1498.5 → 1499
    assert line_amount(1, 500) == 1  # 0.5 → 1
    assert line_amount(1, 499) == 0
    assert line_amount(3333, 333) == 1110  # 1109.889
    assert percent_of(120000, 3000) == 36000
    assert percent_of(1, 5000) == 1  # 0.5 kopeck → 1
    assert percent_of(3, 1250) == 0  # 0.375 → 0
    assert percent_of(5, 1000) == 1  # 0.5 → 1
    assert percent_of(0, 10000) == 0


@pytest.mark.parametrize(("text", "split"), [
    ("стекло *2", ("стекло", 2000)), ("SCR1 ×1,5", ("SCR1", 1500)),
    ("плёнка x3 шт", ("плёнка", 3000)), ("Кабель х 2", ("Кабель", 2000)),
    ("350 *2", ("350", 2000)), ("  iPhone X  ", ("iPhone X", None)), ("*2", ("*2", None)),
])
def test_split_quantity(text: str, split: tuple[str, int | None]) -> None:
    assert split_quantity(text) == split


def test_split_quantity_refuses_a_bad_suffix() -> None:
    with pytest.raises(InvalidQuantity):
        split_quantity("стекло *0")
