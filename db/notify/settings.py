"""The owner's notification switches, stored in the `settings` table (key → JSON).

Keys (a missing key means its default):

| key                      | JSON  | default | what it switches                                |
|--------------------------|-------|---------|-------------------------------------------------|
| `notify.intake`          | bool  | true    | intake confirmation with the status link        |
| `notify.ready`           | bool  | true    | "Можна забирати" (the prompt on the card)       |
| `notify.status`          | bool  | true    | other status changes the client cares about     |
| `notify.estimate`        | bool  | true    | estimate with Approve / Decline buttons         |
| `notify.reminder`        | bool  | true    | reminder for a ready device not collected       |
| `notify.reminder_days`   | int   | 3       | … after this many days, and again every N days  |
| `notify.reminder_max`    | int   | 3       | … at most this many reminders per ready period  |
| `notify.status_sms`      | bool  | false   | status updates by SMS too (to clients without a |
|                          |       |         | reachable chat); off: Telegram only              |

Kinds without a switch (receipt, custom) are always on: staff send those deliberately.
Only an owner changes them (checked here, whoever calls).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import settings_store
from db.access import require_owner
from db.audit import audit
from db.desk.models import Setting, Staff
from db.errors import InvalidValue

SWITCHES = ("intake", "ready", "status", "estimate", "reminder")
STATUS_SMS = "status_sms"  # a paid channel for a kind, not a kind: off by default
PREFIX = "notify."
REMINDER_DAYS_MAX = 60
REMINDER_MAX_MAX = 20


@dataclass(frozen=True)
class NotifySettings:
    intake: bool = True
    ready: bool = True
    status: bool = True
    estimate: bool = True
    reminder: bool = True
    reminder_days: int = 3
    reminder_max: int = 3
    status_sms: bool = False

    def enabled(self, kind: str) -> bool:
        return bool(getattr(self, kind)) if kind in SWITCHES else True


async def get_notify_settings(session: AsyncSession) -> NotifySettings:
    rows = await session.execute(select(Setting.key, Setting.value).where(
        Setting.key.startswith(PREFIX, autoescape=True)))
    values: dict[str, Any] = {key.removeprefix(PREFIX): value for key, value in rows}
    kwargs: dict[str, Any] = {}
    for name in (*SWITCHES, STATUS_SMS):
        if isinstance(values.get(name), bool):
            kwargs[name] = values[name]
    for name in ("reminder_days", "reminder_max"):
        value = values.get(name)
        # A hand-edited bad value falls back to the default rather than breaking the job.
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            kwargs[name] = value
    return replace(NotifySettings(), **kwargs)


async def notification_enabled(session: AsyncSession, kind: str) -> bool:
    return (await get_notify_settings(session)).enabled(kind)


async def set_switch(session: AsyncSession, actor: Staff, kind: str, on: bool) -> None:
    require_owner(actor)
    if kind not in SWITCHES:
        raise InvalidValue("kind", allowed=list(SWITCHES))
    await settings_store.put(session, PREFIX + kind, bool(on))
    audit(session, actor, "settings.notify", "setting", None, key=PREFIX + kind, value=bool(on))


async def toggle_switch(session: AsyncSession, actor: Staff, kind: str) -> bool:
    """Turn one switch the other way; returns whether it is now on."""
    require_owner(actor)
    if kind not in SWITCHES:
        raise InvalidValue("kind", allowed=list(SWITCHES))
    on = not (await get_notify_settings(session)).enabled(kind)
    await set_switch(session, actor, kind, on)
    return on


async def toggle_status_sms(session: AsyncSession, actor: Staff) -> bool:
    """Status updates by SMS on/off (the owner pays for them); returns whether it is now on."""
    require_owner(actor)
    on = not (await get_notify_settings(session)).status_sms
    await settings_store.put(session, PREFIX + STATUS_SMS, on)
    audit(session, actor, "settings.notify", "setting", None, key=PREFIX + STATUS_SMS, value=on)
    return on


async def set_reminder(
    session: AsyncSession, actor: Staff, *, days: int | None = None,
    max_count: int | None = None,
) -> None:
    require_owner(actor)
    if days is not None:
        if not 1 <= days <= REMINDER_DAYS_MAX:
            raise InvalidValue("reminder_days", min=1, max=REMINDER_DAYS_MAX)
        await settings_store.put(session, PREFIX + "reminder_days", days)
    if max_count is not None:
        if not 1 <= max_count <= REMINDER_MAX_MAX:
            raise InvalidValue("reminder_max", min=1, max=REMINDER_MAX_MAX)
        await settings_store.put(session, PREFIX + "reminder_max", max_count)
    audit(session, actor, "settings.notify", "setting", None, reminder_days=days,
          reminder_max=max_count)


async def step_reminder(session: AsyncSession, actor: Staff, *, days: int = 0,
                        max_count: int = 0) -> None:
    """Move "after N days" and/or "at most M times" by a step (the ➖/➕ buttons), kept within
    their bounds: a tap past the end leaves the value where it is."""
    require_owner(actor)
    current = await get_notify_settings(session)
    if days:
        await set_reminder(session, actor, days=_clamp(current.reminder_days + days,
                                                       REMINDER_DAYS_MAX))
    if max_count:
        await set_reminder(session, actor, max_count=_clamp(current.reminder_max + max_count,
                                                            REMINDER_MAX_MAX))


def _clamp(value: int, top: int) -> int:
    return min(top, max(1, value))
