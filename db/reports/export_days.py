"""The receipts export of closed days, kept as text (table `export_days`): a year's export
reads ~365 compressed texts instead of a million lines.

- `export_parts` yields a period's receipts in order as parts: a cached day's text
  (`CachedDay`), or pages of receipts (db.reports.export_rows) for the days without one
  (today, days not rolled up yet, days changed since). Both make the same file: the cached
  text is what the same formatter made of the same pages.
- `export_size_of` is `export_size` with the cached days' counts taken from their texts.
- `uncached_days` and `store` are the builder's (scheduler/export_days.py): it formats a
  rolled-up day's pages and stores the text on the day's marker row, in a transaction holding
  the rollups' lock (`rollups.lock_builder`), so the text is of the same books as the marker.

Freshness needs no code path to remember it: a text hangs on its day's marker row (ON DELETE
CASCADE), and the triggers of migrations 0008 and 0009 delete that row, or the texts, on any
change shown in the rows. `stamp` names the formatter's version and texts (bot.views.
receipts_file.csv_stamp): after an upgrade that changes them, old texts are ignored and
rebuilt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Container, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Role, Staff
from db.reports.export_rows import ExportReceipt, ExportSize, export_pages, export_size
from db.reports.models import ExportDay, ReportRollup
from db.reports.rollups import DAY


@dataclass(frozen=True, slots=True)
class CachedDay:
    """One day's rows as stored: compressed UTF-8 CSV rows, and what they add up to."""

    receipts: int
    lines: int
    total: int  # kopecks
    body: bytes


ExportPart = Sequence[ExportReceipt] | CachedDay


class DayToCache(NamedTuple):
    rollup_id: int  # the day's marker row
    lo: datetime
    hi: datetime


@dataclass(frozen=True, slots=True)
class TextKey:
    """Which texts fit an export: the shop's zone, the reader's language, the format."""

    tz: str
    lang: str
    stamp: str


async def _cached(session: AsyncSession, key: TextKey, lo: datetime, hi: datetime
                  ) -> dict[datetime, int]:
    """The ids of the texts of days in [lo, hi), by the day's start."""
    found = await session.execute(
        select(ReportRollup.lo, ExportDay.id)
        .join(ExportDay, ExportDay.rollup_id == ReportRollup.id)
        .where(ReportRollup.tz == key.tz, ReportRollup.measure == DAY, ReportRollup.lo >= lo,
               ReportRollup.hi <= hi, ExportDay.lang == key.lang, ExportDay.stamp == key.stamp))
    return {day: text_id for day, text_id in found}


async def _text(session: AsyncSession, text_id: int) -> CachedDay | None:
    row = (await session.execute(
        select(ExportDay.receipts, ExportDay.lines, ExportDay.total, ExportDay.body)
        .where(ExportDay.id == text_id))).first()
    return None if row is None else CachedDay(*row)


async def export_parts(session: AsyncSession, key: TextKey,
                       days: Sequence[tuple[datetime, datetime]]
                       ) -> AsyncIterator[ExportPart]:
    """The receipts paid in `days` (consecutive local days, oldest first) as parts, in order.

    A text is fetched when its day comes (one at a time in memory); one deleted meanwhile
    (a change committed during the export) is read from the books instead. Consecutive days
    without a text are read as one range of pages."""
    if not days:
        return
    cached = await _cached(session, key, days[0][0], days[-1][1])
    gap: datetime | None = None  # start of the run of days read from the books
    for lo, _hi in days:
        text_id = cached.get(lo)
        text = None if text_id is None else await _text(session, text_id)
        if text is None:
            gap = lo if gap is None else gap
            continue
        if gap is not None:
            async for page in export_pages(session, gap, lo, key.lang):
                yield page
            gap = None
        yield text
    if gap is not None:
        async for page in export_pages(session, gap, days[-1][1], key.lang):
            yield page


async def export_languages(session: AsyncSession, default: str) -> list[str]:
    """The languages the texts are kept in: those of the active owners and managers (who may
    export), a staff member without one reading the shop's default."""
    found = await session.scalars(
        select(Staff.language).where(Staff.active, Staff.role.in_((Role.OWNER, Role.MANAGER)))
        .distinct())
    return sorted({lang or default for lang in found})


def _runs(days: Sequence[tuple[datetime, datetime]], known: Container[datetime]
          ) -> list[tuple[datetime, datetime]]:
    """The ranges of consecutive days not in `known` (by start)."""
    runs: list[tuple[datetime, datetime]] = []
    for lo, hi in days:
        if lo in known:
            continue
        if runs and runs[-1][1] == lo:
            runs[-1] = (runs[-1][0], hi)
        else:
            runs.append((lo, hi))
    return runs


async def export_size_of(session: AsyncSession, tz: str,
                         days: Sequence[tuple[datetime, datetime]]) -> ExportSize:
    """What `export_size` counts, with the cached days' counts read from their texts (any
    language or format: a text exists only while its day's books are unchanged) and only the
    other days counted in the books (counting a year's million lines took ~1 s)."""
    if not days:
        return ExportSize(0, 0)
    counts = {lo: (receipts, lines) for lo, receipts, lines in await session.execute(
        select(ReportRollup.lo, func.max(ExportDay.receipts), func.max(ExportDay.lines))
        .join(ExportDay, ExportDay.rollup_id == ReportRollup.id)
        .where(ReportRollup.tz == tz, ReportRollup.measure == DAY,
               ReportRollup.lo >= days[0][0], ReportRollup.hi <= days[-1][1])
        .group_by(ReportRollup.lo))}
    receipts = sum(r for r, _ in counts.values())
    lines = sum(n for _, n in counts.values())
    for lo, hi in _runs(days, counts):
        size = await export_size(session, lo, hi)
        receipts, lines = receipts + size.receipts, lines + size.lines
    return ExportSize(receipts, lines)


async def uncached_days(session: AsyncSession, key: TextKey, limit: int) -> list[DayToCache]:
    """Rolled-up days of the zone without a text in this language and format, newest first."""
    found = await session.execute(
        select(ReportRollup.id, ReportRollup.lo, ReportRollup.hi)
        .where(ReportRollup.tz == key.tz, ReportRollup.measure == DAY,
               ~exists().where(ExportDay.rollup_id == ReportRollup.id,
                               ExportDay.lang == key.lang, ExportDay.stamp == key.stamp))
        .order_by(ReportRollup.lo.desc()).limit(limit))
    return [DayToCache(*row) for row in found]


async def store(session: AsyncSession, day: DayToCache, key: TextKey, text: CachedDay) -> None:
    """The day's text, replacing one of another format."""
    await session.execute(delete(ExportDay).where(ExportDay.rollup_id == day.rollup_id,
                                                  ExportDay.lang == key.lang))
    await session.execute(insert(ExportDay).values(
        rollup_id=day.rollup_id, lang=key.lang, stamp=key.stamp, receipts=text.receipts,
        lines=text.lines, total=text.total, body=text.body))
