"""What people type as days and periods, and the local days as UTC ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from db.reports.periods import (
    MAX_DAYS,
    BadPeriod,
    Period,
    adjacent,
    day_buckets,
    day_range,
    local_day,
    month_buckets,
    parse_day,
    parse_period,
)
from keyboards.reports import period_of

KYIV = ZoneInfo("Europe/Kyiv")
TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(("text", "day"), [
    ("20.11", date(2026, 11, 20)),
    ("20.11.2026", date(2026, 11, 20)),
    ("20.11.26", date(2026, 11, 20)),
    ("20/11/2026", date(2026, 11, 20)),
    ("2026-11-20", date(2026, 11, 20)),
    ("2026-1-5", date(2026, 1, 5)),
    ("5.1", date(2026, 1, 5)),
    ("01.12", date(2025, 12, 1)),  # no year and not yet this year: last year's
    ("25.11", TODAY),
    ("сегодня", TODAY),
    ("Вчера", date(2026, 11, 24)),
    ("вчора", date(2026, 11, 24)),
    ("позавчера", date(2026, 11, 23)),
    ("позавчора", date(2026, 11, 23)),
    ("  20.11.  ", date(2026, 11, 20)),
    ("29.02", date(2024, 2, 29)),  # the latest 29 February
])
def test_parse_day(text: str, day: date) -> None:
    assert parse_day(text, TODAY) == day


@pytest.mark.parametrize(("text", "reason"), [
    ("завтра", "format"), ("20.13", "no_such_day"), ("31.02.2026", "no_such_day"),
    ("2026-02-30", "no_such_day"), ("20 11", "too_many"), ("", "format"), ("20.11.202", "format"),
    ("неделя", "format"), ("1.2.3.4", "format"), ("20,11", "format"), ("abc", "format"),
])
def test_parse_day_refuses(text: str, reason: str) -> None:
    with pytest.raises(BadPeriod) as info:
        parse_day(text, TODAY)
    assert info.value.reason == reason and info.value.code == "bad_period"


@pytest.mark.parametrize(("text", "start", "end"), [
    ("20.11", date(2026, 11, 20), date(2026, 11, 20)),
    ("01.11 15.11", date(2026, 11, 1), date(2026, 11, 15)),
    ("15.11 01.11", date(2026, 11, 1), date(2026, 11, 15)),  # swapped
    ("01.11-15.11", date(2026, 11, 1), date(2026, 11, 15)),
    ("01.11 - 15.11", date(2026, 11, 1), date(2026, 11, 15)),
    ("01.11 — 15.11", date(2026, 11, 1), date(2026, 11, 15)),
    ("01.11.2026 30.11.2026", date(2026, 11, 1), date(2026, 11, 30)),
    ("2026-11-01 2026-11-30", date(2026, 11, 1), date(2026, 11, 30)),
    ("неделя", date(2026, 11, 23), TODAY),
    ("тиждень", date(2026, 11, 23), TODAY),
    ("прошлая неделя", date(2026, 11, 16), date(2026, 11, 22)),
    ("месяц", date(2026, 11, 1), TODAY),
    ("Прошлый  месяц", date(2026, 10, 1), date(2026, 10, 31)),
    ("минулий місяць", date(2026, 10, 1), date(2026, 10, 31)),
    ("год", date(2026, 1, 1), TODAY),
    ("прошлый год", date(2025, 1, 1), date(2025, 12, 31)),
    ("вчера сегодня", date(2026, 11, 24), TODAY),
    ("01.01.2025 31.12.2026", date(2025, 1, 1), date(2026, 12, 31)),
])
def test_parse_period(text: str, start: date, end: date) -> None:
    assert parse_period(text, TODAY) == Period(start, end)


def test_last_month_in_january_and_march() -> None:
    assert parse_period("прошлый месяц", date(2026, 1, 10)) == Period(date(2025, 12, 1),
                                                                     date(2025, 12, 31))
    assert parse_period("прошлый месяц", date(2024, 3, 31)) == Period(date(2024, 2, 1),
                                                                     date(2024, 2, 29))


@pytest.mark.parametrize(("text", "reason"), [
    ("01.11 15.11 20.11", "too_many"), ("месяц 20.11", "format"), ("вчера завтра", "format"),
    ("01.01.2020 01.01.2026", "too_long"), ("32.01", "no_such_day"), ("", "format"),
])
def test_parse_period_refuses(text: str, reason: str) -> None:
    with pytest.raises(BadPeriod) as info:
        parse_period(text, TODAY)
    assert info.value.reason == reason
    if reason == "too_long":
        assert info.value.params["max_days"] == MAX_DAYS


def test_days_are_utc_ranges_that_tile() -> None:
    lo, hi = day_range(date(2026, 11, 20), KYIV)
    assert (lo, hi) == (datetime(2026, 11, 19, 22, tzinfo=UTC), datetime(2026, 11, 20, 22,
                                                                           tzinfo=UTC))
    summer = day_range(date(2026, 7, 1), KYIV)
    assert summer[0] == datetime(2026, 6, 30, 21, tzinfo=UTC)
    # 23:30 local belongs to its day, 00:00 to the next
    late = datetime(2026, 11, 20, 23, 30, tzinfo=KYIV)
    assert lo <= late < hi and local_day(late, KYIV) == date(2026, 11, 20)
    assert datetime(2026, 11, 21, 0, 0, tzinfo=KYIV) == hi
    year = Period(date(2026, 1, 1), date(2026, 12, 31))
    days = day_buckets(year, KYIV)
    assert len(days) == 365 and all(a.hi == b.lo for a, b in pairwise(days))
    lengths = {b.start: b.hi - b.lo for b in days}
    assert lengths[date(2026, 3, 29)] == timedelta(hours=23)
    assert lengths[date(2026, 10, 25)] == timedelta(hours=25)
    assert sum(1 for v in lengths.values() if v != timedelta(hours=24)) == 2
    months = month_buckets(Period(date(2026, 1, 15), date(2026, 3, 10)), KYIV)
    assert [(m.start, m.end) for m in months] == [
        (date(2026, 1, 15), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 10))]
    assert months[0].hi == months[1].lo and months[-1].hi == day_range(date(2026, 3, 10),
                                                                       KYIV)[1]


def test_adjacent_periods() -> None:
    october = Period(date(2026, 10, 1), date(2026, 10, 31))
    assert adjacent(october, TODAY) == (Period(date(2026, 9, 1), date(2026, 9, 30)),
                                        Period(date(2026, 11, 1), TODAY))
    this_month = Period(date(2026, 11, 1), TODAY)
    assert adjacent(this_month, TODAY) == (october, None)
    week = Period(date(2026, 11, 9), date(2026, 11, 15))
    assert adjacent(week, TODAY) == (Period(date(2026, 11, 2), date(2026, 11, 8)),
                                     Period(date(2026, 11, 16), date(2026, 11, 22)))
    assert adjacent(Period(date(2026, 11, 20), date(2026, 11, 24)), TODAY)[1] == Period(
        date(2026, 11, 25), TODAY)


def test_a_forged_button_period_near_the_calendar_ends_is_refused() -> None:
    """Found by the fuzz: `rex:p:c:1:1` (0001-01-01) has no UTC midnight east of Greenwich."""
    assert period_of(1, 1) is None
    assert period_of(date.max.toordinal(), date.max.toordinal()) is None
    day = date(2026, 12, 1).toordinal()
    assert period_of(day, day) is not None
    assert period_of(day, day - 1) is None
