"""The owner's report switches, stored in the `settings` table (key → JSON).

- `reports.managers` (bool, default false): managers see the totals too (/today, /report,
  payroll, exports).
- `reports.digest` ("off" | "shift" | "HH:MM", default "shift"): the daily digest to owners
  after the cash shift closes, at a local time, or never. A time before 12:00 sends the
  previous day's digest (a morning recap); from 12:00 on, that day's.
- `reports.digest_last` ({"day": ISO date, "at": ISO datetime}): the last digest, claimed in
  the database before sending, so two schedulers or a retry never send one twice.

Owners always see everything; managers always see the receipts list (they make refunds and
reprint receipts), and the totals only when the owner switches `reports.managers` on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db import settings_store
from db.access import require_owner
from db.audit import audit
from db.desk.models import Role, Staff
from db.errors import InvalidValue

MANAGERS = "reports.managers"
DIGEST = "reports.digest"
DIGEST_LAST = "reports.digest_last"
DIGEST_OFF = "off"
DIGEST_SHIFT = "shift"
DIGEST_DEFAULT = DIGEST_SHIFT
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class ReportSettings:
    managers: bool = False
    digest: str = DIGEST_DEFAULT  # off | shift | HH:MM
    last_day: date | None = None
    last_at: datetime | None = None

    @property
    def digest_time(self) -> time | None:
        m = _HHMM.match(self.digest)
        return time(int(m[1]), int(m[2])) if m else None


def check_digest(mode: str) -> str:
    mode = (mode or "").strip().lower()
    if mode in (DIGEST_OFF, DIGEST_SHIFT):
        return mode
    m = _HHMM.match(mode)
    if m is None:
        raise InvalidValue("digest", reason="format", value=mode)
    return f"{int(m[1]):02d}:{m[2]}"


def _last(value: Any) -> tuple[date | None, datetime | None]:
    if not isinstance(value, dict):
        return None, None
    try:
        day = date.fromisoformat(value["day"]) if value.get("day") else None
        at = datetime.fromisoformat(value["at"]) if value.get("at") else None
    except (TypeError, ValueError):
        return None, None
    return day, at


async def get_report_settings(session: AsyncSession) -> ReportSettings:
    values = await settings_store.get_many(session, (MANAGERS, DIGEST, DIGEST_LAST))
    digest = values.get(DIGEST)
    try:
        digest = check_digest(digest) if isinstance(digest, str) else DIGEST_DEFAULT
    except InvalidValue:  # a hand-edited bad value: the default rather than a broken job
        digest = DIGEST_DEFAULT
    day, at = _last(values.get(DIGEST_LAST))
    return ReportSettings(managers=values.get(MANAGERS) is True, digest=digest, last_day=day,
                          last_at=at)


async def set_managers_see_totals(session: AsyncSession, actor: Staff, on: bool) -> None:
    require_owner(actor)
    await settings_store.put(session, MANAGERS, bool(on))
    audit(session, actor, "settings.reports", "setting", None, key=MANAGERS, value=bool(on))


async def set_digest(session: AsyncSession, actor: Staff, mode: str) -> str:
    require_owner(actor)
    mode = check_digest(mode)
    await settings_store.put(session, DIGEST, mode)
    audit(session, actor, "settings.reports", "setting", None, key=DIGEST, value=mode)
    return mode


async def lock_digest_marker(session: AsyncSession) -> None:
    """Lock the "last digest" marker for this transaction (see db.reports.digest)."""
    await settings_store.lock(session, DIGEST_LAST)


async def mark_digest(session: AsyncSession, day: date, at: datetime) -> None:
    await settings_store.put(session, DIGEST_LAST, {"day": day.isoformat(), "at": at.isoformat()})


async def can_see_totals(session: AsyncSession, staff: Staff | None) -> bool:
    """Active owners always; active managers when `reports.managers` is on; nobody else."""
    if staff is None or not staff.active or staff.role not in (Role.OWNER, Role.MANAGER):
        return False
    if staff.role == Role.OWNER:
        return True
    return await settings_store.get(session, MANAGERS) is True
