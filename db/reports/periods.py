"""Days and periods for reports: what people type, and the shop's local days as UTC ranges.

Time is stored in UTC; a report day is a day on the shop's wall clock (TIMEZONE, default
Europe/Kyiv). A local day is turned into the half-open UTC range [lo, hi) here, in Python,
with zoneinfo: the database only compares timestamps, so SQLite and PostgreSQL agree, and
DST is handled by construction — the last Sunday of March is 23 hours long, the last Sunday
of October 25, and a payment at 23:30 Kyiv time belongs to its own day all year round.
Consecutive days share their boundary (day N's `hi` is day N+1's `lo`), so every instant
belongs to exactly one day.

What people type (Russian and Ukrainian words, any case, "ё" = "е"):

    20.11  20.11.2026  20.11.26  20/11/2026  2026-11-20      one day
    сегодня/сьогодні  вчера/вчора  позавчера/позавчора        one day
    неделя/тиждень (this week, Monday…today), прошлая неделя/минулий тиждень
    месяц/місяць (1st…today), прошлый месяц/минулий місяць
    год/рік (1 January…today), прошлый год/минулий рік
    two dates, "from to" or "from-to" / "from – to"             a period, both days included

A day without a year ("20.11") is the latest such day not after today (in January, "20.11"
is last November). Dates out of order are swapped. Errors are BadPeriod with a `reason`:
format (not a date), no_such_day (31.02), too_many (three dates), too_long (over MAX_DAYS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from db.errors import DomainError

MAX_DAYS = 732  # two years, leap day included: enough to compare a year with the last one


class BadPeriod(DomainError):
    """`reason`: format, no_such_day, too_many, too_long; `text` is what was not understood."""

    code = "bad_period"

    def __init__(self, reason: str, text: str = "", **params: object) -> None:
        super().__init__(f"bad period {text!r}: {reason}", reason=reason, text=text, **params)
        self.reason = reason
        self.text = text


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # first day, included
    end: date  # last day, included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def is_day(self) -> bool:
        return self.start == self.end


@dataclass(frozen=True, slots=True)
class Bucket:
    """A run of whole local days [start, end] and its UTC range [lo, hi)."""

    index: int
    start: date
    end: date
    lo: datetime
    hi: datetime


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant the local day begins."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_range(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def period_range(period: Period, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(period.start, tz), local_midnight(period.end + timedelta(days=1), tz)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def day_buckets(period: Period, tz: ZoneInfo) -> list[Bucket]:
    """One bucket per local day of the period."""
    edges = [local_midnight(period.start + timedelta(days=i), tz) for i in range(period.days + 1)]
    return [
        Bucket(i, period.start + timedelta(days=i), period.start + timedelta(days=i),
               edges[i], edges[i + 1])
        for i in range(period.days)
    ]


def month_buckets(period: Period, tz: ZoneInfo) -> list[Bucket]:
    """One bucket per calendar month the period touches, cut to the period."""
    out: list[Bucket] = []
    start = period.start
    while start <= period.end:
        next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        end = min(period.end, next_month - timedelta(days=1))
        out.append(Bucket(len(out), start, end, local_midnight(start, tz),
                          local_midnight(end + timedelta(days=1), tz)))
        start = end + timedelta(days=1)
    return out


def whole_bucket(period: Period, tz: ZoneInfo) -> Bucket:
    lo, hi = period_range(period, tz)
    return Bucket(0, period.start, period.end, lo, hi)


# ---- parsing -----------------------------------------------------------------------------

def _words() -> dict[str, object]:
    return {
        "сегодня": 0, "сьогодні": 0, "today": 0,
        "вчера": 1, "вчора": 1, "yesterday": 1,
        "позавчера": 2, "позавчора": 2,
        "неделя": "week", "эта неделя": "week", "тиждень": "week", "цей тиждень": "week",
        "week": "week",
        "прошлая неделя": "last_week", "минулий тиждень": "last_week",
        "месяц": "month", "этот месяц": "month", "місяць": "month", "цей місяць": "month",
        "month": "month",
        "прошлый месяц": "last_month", "минулий місяць": "last_month",
        "год": "year", "этот год": "year", "рік": "year", "цей рік": "year", "year": "year",
        "прошлый год": "last_year", "минулий рік": "last_year",
    }


WORDS = _words()
_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{2}|\d{4}))?\.?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SPLIT = re.compile(r"\s*[—–]\s*|\s+-\s+|\s+")


def _normalize(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise BadPeriod("no_such_day", text) from None


def parse_date(text: str, today: date) -> date:
    """One date: dd.mm, dd.mm.yy, dd.mm.yyyy (also with "/"), ISO yyyy-mm-dd, or a word for a
    day (сегодня, вчера, позавчера)."""
    token = _normalize(text)
    word = WORDS.get(token)
    if isinstance(word, int):
        return today - timedelta(days=word)
    if m := _ISO.match(token):
        return _make(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _DMY.match(token):
        day, month = int(m[1]), int(m[2])
        if m[3] is None:
            if month == 2 and day == 29:  # the latest 29 February not after today
                year = today.year
                while not _leap(year) or date(year, 2, 29) > today:
                    year -= 1
                return date(year, 2, 29)
            found = _make(today.year, month, day, text)
            return found if found <= today else _make(today.year - 1, month, day, text)
        year = int(m[3])
        if year < 100:
            year += 2000
        return _make(year, month, day, text)
    raise BadPeriod("format", text)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _named(name: str, today: date) -> Period:
    if name == "week":
        return Period(today - timedelta(days=today.weekday()), today)
    if name == "last_week":
        monday = today - timedelta(days=today.weekday() + 7)
        return Period(monday, monday + timedelta(days=6))
    if name == "month":
        return Period(today.replace(day=1), today)
    if name == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if name == "year":
        return Period(today.replace(month=1, day=1), today)
    if name == "last_year":
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    raise BadPeriod("format", name)


def _tokens(text: str) -> list[str]:
    """Split into date tokens, keeping two-word names ("прошлый месяц") together and
    splitting "01.11-15.11" (but never an ISO date) at its dash."""
    parts = [p for p in _SPLIT.split(_normalize(text)) if p]
    out: list[str] = []
    i = 0
    while i < len(parts):
        pair = " ".join(parts[i:i + 2])
        if i + 1 < len(parts) and pair in WORDS:
            out.append(pair)
            i += 2
            continue
        part = parts[i]
        if "-" in part and not _ISO.match(part):
            out.extend(p for p in part.split("-") if p)
        else:
            out.append(part)
        i += 1
    return out


def parse_period(text: str, today: date, *, max_days: int = MAX_DAYS) -> Period:
    """A period from what was typed after /report (see the module docstring)."""
    tokens = _tokens(text or "")
    if not tokens:
        raise BadPeriod("format", text or "")
    if len(tokens) > 2:
        raise BadPeriod("too_many", text)
    if len(tokens) == 1 and isinstance(WORDS.get(tokens[0]), str):
        period = _named(str(WORDS[tokens[0]]), today)
    else:
        for token in tokens:
            if isinstance(WORDS.get(token), str):
                raise BadPeriod("format", token)  # "месяц 20.11": a name takes no second date
        days = [parse_date(token, today) for token in tokens]
        first, last = min(days), max(days)
        period = Period(first, last)
    if period.days > max_days:
        raise BadPeriod("too_long", text, max_days=max_days)
    return period


def parse_day(text: str, today: date) -> date:
    """One day for /today: a date or сегодня/вчера/позавчера (a period word is refused)."""
    tokens = _tokens(text or "")
    if len(tokens) != 1:
        raise BadPeriod("too_many" if tokens else "format", text or "")
    return parse_date(tokens[0], today)


def _month_end(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def adjacent(period: Period, today: date) -> tuple[Period, Period | None]:
    """The periods before and after, for ◀ ▶ buttons: whole months step by month (the
    current month counts as whole up to today), anything else by its own length. There is
    no "after" once it would start after today; an "after" reaching past today ends today."""
    starts_month = period.start.day == 1
    month_like = starts_month and period.start.replace(day=1) == period.end.replace(day=1) and (
        period.end == _month_end(period.end) or period.end == today)
    if month_like:
        prev_end = period.start - timedelta(days=1)
        previous = Period(prev_end.replace(day=1), prev_end)
        next_start = _month_end(period.start) + timedelta(days=1)
        following = (Period(next_start, min(_month_end(next_start), today))
                     if next_start <= today else None)
        return previous, following
    length = timedelta(days=period.days)
    previous = Period(period.start - length, period.end - length)
    next_start = period.start + length
    following = Period(next_start, min(period.end + length, today)) if next_start <= today else None
    return previous, following
