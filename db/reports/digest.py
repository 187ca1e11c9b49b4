"""The owners' daily digest: when it is due, for which day, to whom, and its numbers. The job
(scheduler/digest.py) runs every few minutes and only renders and sends what this decides.

When, from the owner's setting `reports.digest` (db.reports.settings):

- "shift" (default): after a cash shift closes (by hand or by the auto-close job). The digest
  covers the local day the shift was opened (a shift closed the next morning still recaps its
  own day). Each closure gets one digest; a second closure the same day sends the updated day.
- "HH:MM": every day at that local time. From 12:00 on it covers that day; before 12:00 it
  covers the day before (a morning recap).
- "off": never.

A digest is due only within CATCH_UP of its moment (a bot that was down longer skips it
rather than sending a stale one, and turning the digest on never sends yesterday's at once).
It is claimed in the database (`reports.digest_last`, under a row lock) in the same
transaction that reads the numbers, before anything is sent: two schedulers or a retry
never send it twice (at most once; a failed send is the job's to log, not to retry).

To whom: every active owner, in their own language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Role, Staff
from db.money.models import Shift, ShiftStatus
from db.reports.periods import Period
from db.reports.queries import Line, Report, daily_series, day_report
from db.reports.settings import (
    DIGEST_OFF,
    DIGEST_SHIFT,
    ReportSettings,
    get_report_settings,
    lock_digest_marker,
    mark_digest,
)

CATCH_UP = timedelta(hours=3)
CHART_DAYS = 14
MORNING_BEFORE = 12  # a digest time before noon recaps the previous day


@dataclass(frozen=True, slots=True)
class Recipient:
    chat_id: int
    language: str | None  # None: the shop's default


@dataclass(frozen=True, slots=True)
class DigestNumbers:
    day: date
    report: Report  # the day's totals and the drawer
    series: list[Line]  # the CHART_DAYS days up to `day`, one line each


async def _last_closed_shift(session: AsyncSession, now: datetime) -> Shift | None:
    return await session.scalar(
        select(Shift).where(Shift.status == ShiftStatus.CLOSED, Shift.closed_at <= now)
        .order_by(Shift.closed_at.desc()).limit(1))


async def _due_after_shift(session: AsyncSession, conf: ReportSettings, now: datetime,
                           tz: ZoneInfo) -> date | None:
    shift = await _last_closed_shift(session, now)
    if shift is None or shift.closed_at is None or now - shift.closed_at > CATCH_UP:
        return None
    if conf.last_at is not None and shift.closed_at <= conf.last_at:
        return None  # this closure already had its digest
    return shift.opened_at.astimezone(tz).date()


def _due_at_time(conf: ReportSettings, now: datetime, tz: ZoneInfo) -> date | None:
    at = conf.digest_time
    if at is None:
        return None
    local_day = now.astimezone(tz).date()
    moment = datetime.combine(local_day, at, tzinfo=tz)
    if moment > now:  # today's moment is still ahead: the latest one was yesterday's
        moment = datetime.combine(local_day - timedelta(days=1), at, tzinfo=tz)
    if now - moment > CATCH_UP:
        return None
    day = moment.date() - timedelta(days=1 if at.hour < MORNING_BEFORE else 0)
    if conf.last_day is not None and conf.last_day >= day:
        return None
    return day


async def due_day(session: AsyncSession, conf: ReportSettings, now: datetime, tz: ZoneInfo
                  ) -> date | None:
    """The day whose digest is due now under `conf`, or None (nothing is claimed)."""
    if conf.digest == DIGEST_OFF:
        return None
    if conf.digest == DIGEST_SHIFT:
        return await _due_after_shift(session, conf, now, tz)
    return _due_at_time(conf, now, tz)


async def claim_due_digest(session: AsyncSession, now: datetime, tz: ZoneInfo) -> date | None:
    """The day whose digest is due now, marked as sent in this transaction; None when none is
    due. Send only after this transaction commits."""
    # The cheap check first: the lock is taken only when a digest looks due (every 5 min).
    if await due_day(session, await get_report_settings(session), now, tz) is None:
        return None
    await lock_digest_marker(session)
    # Again under the lock: another scheduler may have claimed it in between.
    day = await due_day(session, await get_report_settings(session), now, tz)
    if day is not None:
        await mark_digest(session, day, now)
    return day


async def digest_recipients(session: AsyncSession) -> list[Recipient]:
    owners = await session.scalars(
        select(Staff).where(Staff.role == Role.OWNER, Staff.active.is_(True)).order_by(Staff.id))
    return [Recipient(owner.tg_user_id, owner.language) for owner in owners]


async def digest_numbers(session: AsyncSession, day: date, tz: ZoneInfo, now: datetime
                         ) -> DigestNumbers:
    report = await day_report(session, day, tz, now=now)
    series = await daily_series(session, Period(day - timedelta(days=CHART_DAYS - 1), day), tz)
    return DigestNumbers(day=day, report=report, series=series)
