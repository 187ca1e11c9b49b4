"""Closing a cash shift: the one path for the scheduler (auto-close, catch-up) and /shift.

1. The fiscal queue is flushed (every pending receipt is tried once more, backoff ignored).
2. The PRRO shift is closed and its Z-report taken (when fiscal and a PRRO shift is open).
3. The internal Z-report is made (db.money.shifts.close_shift) and the PRRO's is kept with it.
4. Owners get the summary in chat.
A failure at 2 or 3 leaves the internal shift open, is reported (owners are told when it was
automatic) and is simply retried by the next run: every step is safe to repeat.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.usecases.fiscalize import Clock, Fiscalizer, RunStats
from db.base import utcnow
from db.desk.models import Staff
from db.fiscal import queue
from db.fiscal.queue import Backlog
from db.money.errors import NoOpenShift
from db.money.shifts import STALE_AFTER, ShiftReport, close_shift, current_shift
from fiscal import FiscalError, FiscalProvider, FiscalShiftNotOpen, Report

logger = logging.getLogger("bot.fiscalization")

Reason = Literal["manual", "auto", "catch_up"]
Status = Literal["closed", "nothing_open", "already_closed", "failed"]


@dataclass
class CloseResult:
    status: Status
    reason: Reason = "manual"
    report: ShiftReport | None = None  # the internal Z-report
    fiscal_z: Report | None = None  # the PRRO's Z-report
    error: str | None = None
    shift_number: int | None = None
    actor_id: int | None = None
    actor_name: str | None = None
    flush: RunStats | None = None
    backlog: Backlog | None = None

    @property
    def closed(self) -> bool:
        return self.status == "closed"


class CloseNotifier(Protocol):
    async def shift_closed(self, result: CloseResult) -> None: ...

    async def shift_close_failed(self, result: CloseResult) -> None: ...


def close_due_at(opened_at: datetime, autoclose: time | None, tz: ZoneInfo) -> datetime:
    """When a shift opened at `opened_at` must be closed: at the first auto-close time after it
    opened (the shop-day ends there), and in any case before it is 24 h old."""
    limit = opened_at + STALE_AFTER
    if autoclose is None:
        return limit
    local = opened_at.astimezone(tz)
    candidate = datetime.combine(local.date(), autoclose, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), autoclose, tzinfo=tz)
    return min(candidate.astimezone(UTC), limit)


class ShiftCloser:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        provider: FiscalProvider,
        fiscalizer: Fiscalizer,
        *,
        clock: Clock = utcnow,
        notifier: CloseNotifier | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.provider = provider
        self.fiscalizer = fiscalizer
        self.clock = clock
        self.notifier = notifier

    @property
    def lock(self) -> asyncio.Lock:
        return self.fiscalizer.lock  # one lock: no receipt is sent while a shift closes

    async def close(
        self,
        *,
        now: datetime | None = None,
        actor_id: int | None = None,
        reason: Reason = "manual",
        expected_shift_id: int | None = None,
        notify: bool = True,
    ) -> CloseResult:
        """Close the open shift (and the PRRO's). `expected_shift_id`: only that one (a Z
        confirmation must not close a shift opened after it was shown)."""
        now = now or self.clock()
        async with self.lock:
            result = await self._close(now, actor_id, reason, expected_shift_id)
        if notify and self.notifier is not None:
            try:
                if result.status == "closed":
                    await self.notifier.shift_closed(result)
                elif result.status == "failed":
                    await self.notifier.shift_close_failed(result)
            except Exception:
                logger.exception("could not tell the owners about the shift closing")
        return result

    async def _close(self, now: datetime, actor_id: int | None, reason: Reason,
                     expected_shift_id: int | None) -> CloseResult:
        result = CloseResult(status="closed", reason=reason, actor_id=actor_id)
        async with self.session_factory() as session:
            shift = await current_shift(session)
            if actor_id is not None:
                actor = await session.get(Staff, actor_id)
                result.actor_name = actor.name if actor else None
        if expected_shift_id is not None and (shift is None or shift.id != expected_shift_id):
            result.status = "already_closed"
            return result
        result.shift_number = shift.number if shift else None

        fiscal_shift_id = None
        if self.provider.is_fiscal:
            result.flush = await self.fiscalizer.run_locked(now, force=True)
            fiscal_shift_id = await self._close_fiscal_shift(result)
            if result.status == "failed":
                return result
        if shift is None and result.fiscal_z is None:
            result.status = "nothing_open"
            return result
        if not await self._close_internal_shift(result, now, actor_id, fiscal_shift_id):
            return result
        if result.report is None and result.fiscal_z is None:
            result.status = "already_closed"
            return result
        async with self.session_factory() as session:
            result.backlog = await queue.backlog(session)
        return result

    async def _close_fiscal_shift(self, result: CloseResult) -> uuid.UUID | None:
        """Close the PRRO's shift, its Z-report into `result.fiscal_z`; returns that shift's
        id (None when none was open). A PRRO error marks `result` failed."""
        try:
            fiscal_shift = await self.provider.current_shift()
            if fiscal_shift is None:
                return None
            if not fiscal_shift.is_open:
                raise FiscalError(f"the PRRO shift is {fiscal_shift.status}; "
                                  "it will be closed on the next try")
            result.fiscal_z = await self.provider.close_shift()
            return fiscal_shift.id
        except FiscalShiftNotOpen:
            return None  # closed meanwhile (another device): nothing to close there
        except FiscalError as exc:
            logger.warning("PRRO shift not closed: %s", exc.message)
            result.status, result.error = "failed", exc.message
            return None

    async def _close_internal_shift(self, result: CloseResult, now: datetime,
                                    actor_id: int | None,
                                    fiscal_shift_id: uuid.UUID | None) -> bool:
        """The internal Z-report into `result.report`, with the PRRO's kept beside it. False
        (and `result` failed) when it could not be made."""
        try:
            async with self.session_factory() as session, session.begin():
                actor = await session.get(Staff, actor_id) if actor_id is not None else None
                try:
                    result.report = await close_shift(session, actor, now)
                except NoOpenShift:
                    result.report = None  # closed meanwhile by someone else
                if result.report is not None and result.fiscal_z is not None:
                    await queue.attach_fiscal_z(session, result.report.shift_id,
                                                fiscal_shift_id, _fiscal_z_json(result.fiscal_z))
        except Exception as exc:
            logger.exception("internal Z-report failed")
            result.status, result.error = "failed", str(exc) or type(exc).__name__
            return False
        return True

    async def shift_due(self, now: datetime, autoclose: time | None, tz: ZoneInfo
                        ) -> tuple[bool, str]:
        """Is a shift (internal, or a stray PRRO one) from a previous shop-day or 24 h old?"""
        async with self.session_factory() as session:
            shift = await current_shift(session)
        if shift is not None:
            return now >= close_due_at(shift.opened_at, autoclose, tz), "internal"
        if self.provider.is_fiscal:
            try:
                fiscal_shift = await self.provider.current_shift()
            except FiscalError as exc:
                logger.warning("catch-up could not read the PRRO shift: %s", exc.message)
                return False, "unknown"
            if fiscal_shift is not None and fiscal_shift.opened_at is not None:
                return now >= close_due_at(fiscal_shift.opened_at, autoclose, tz), "fiscal"
        return False, "none"


def _fiscal_z_json(report: Report) -> dict[str, Any]:
    """What is kept of the PRRO's Z-report on the shift row."""
    return {
        "id": str(report.id) if report.id else None,
        "shift_id": str(report.shift_id) if report.shift_id else None,
        "serial": report.serial,
        "fiscal_code": report.fiscal_code,
        "sell_receipts_count": report.sell_receipts_count,
        "return_receipts_count": report.return_receipts_count,
        "sell_sum": report.sell_sum,
        "return_sum": report.return_sum,
        "service_in": report.service_in,
        "service_out": report.service_out,
        "initial": report.initial,
        "balance": report.balance,
        "created_at": report.created_at.isoformat() if report.created_at else None,
    }
