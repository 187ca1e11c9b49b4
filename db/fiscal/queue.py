"""The fiscal queue: paid receipts and service cash moves waiting for the PRRO.

A row is queued when it is written with `fiscal_state = 'pending'` (db.money.payments,
db.money.refunds, db.money.cash). Its `fiscal_id` (a UUID made before any PRRO call) is the
idempotency key. This module only moves rows through the states; the PRRO calls are made by
the use case (bot.fiscalization), outside any transaction.

Columns, while a row is `pending`
- `fiscal_updated_at` is when the row is next due: the payment time at first, then the end of
  a claim's lease, then the end of a retry's backoff. (There is no separate column for it;
  once the row is done or failed it is again simply the time of the last change.)
- `fiscal_attempts` counts claims. It is also the claim's version: every write made for a
  claim is conditional on it, so a worker whose lease ran out cannot overwrite the outcome of
  the one that took the row over.
- `fiscal_error` is NULL, except right after staff asked to retry a failed row: then it still
  holds the old error, which tells the worker to read the old receipt first and to send a new
  one under a fresh id only if the PRRO has that old one in ERROR. The claim clears it.

A claim's lease is short; the worker renews it with a heartbeat (`renew`) while it holds the
item, so the items of a worker that died are taken over within a minute. A taken-over item is
safe to try again: a later try reads the receipt by its id first, and the PRRO refuses a
second receipt under the same id.

Claiming is a conditional UPDATE of rows first selected `FOR UPDATE SKIP LOCKED` on
PostgreSQL (SQLite serializes writers with BEGIN IMMEDIATE), so a row belongs to one worker at
a time. A refund is claimed only once its sale is fiscalized (a return needs the sale's fiscal
receipt); until then it waits in the queue.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from db import signals
from db.audit import audit
from db.base import rowcount
from db.desk.models import Staff, Ticket
from db.money.models import (
    CashMove,
    FiscalState,
    PaymentKind,
    PaymentType,
    Receipt,
    ReceiptKind,
    Shift,
    ShiftStatus,
)

DEFAULT_LEASE = timedelta(seconds=45)  # the worker's heartbeat renews it while it holds the item


class FiscalKind(enum.StrEnum):
    """Which table a queued item lives in; short values fit in callback data."""

    RECEIPT = "r"
    CASH_MOVE = "m"


def _model(kind: FiscalKind) -> type[Receipt] | type[CashMove]:
    return Receipt if kind == FiscalKind.RECEIPT else CashMove


@dataclass(frozen=True, slots=True)
class JobLine:
    code: str
    name: str
    price: int  # kopecks per item
    quantity: int  # thousandths
    amount: int  # kopecks charged for the line


@dataclass(frozen=True, slots=True)
class JobPayment:
    kind: PaymentKind
    amount: int  # what the receipt gets from this part
    received: int | None  # cash handed over (amount + change), None for cashless
    label: str  # the payment type's name (Ukrainian: it is printed on the fiscal receipt)


@dataclass(frozen=True, slots=True)
class FiscalJob:
    """A claimed item with everything needed to build its PRRO receipt (plain data)."""

    kind: FiscalKind
    row_id: int
    fiscal_id: str
    attempts: int  # after this claim: 1 on the first try
    retry_requested: bool  # staff put it back after an error (see the module docstring)
    at: datetime  # when the money moved
    staff_id: int | None  # who took the payment / made the move
    receipt_kind: ReceiptKind | None = None
    total: int = 0  # kopecks (a cash move: its signed amount)
    lines: tuple[JobLine, ...] = ()
    payments: tuple[JobPayment, ...] = ()
    related_receipt_id: int | None = None  # a refund's sale
    related_fiscal_id: str | None = None  # the sale's fiscal id
    ticket_number: int | None = None
    previous_error: str | None = None

    @property
    def is_first_try(self) -> bool:
        return self.attempts <= 1 and not self.retry_requested


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int = 0
    errors: int = 0
    oldest_pending_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FailedItem:
    kind: FiscalKind
    row_id: int
    at: datetime
    amount: int
    error: str
    receipt_kind: ReceiptKind | None
    ticket_number: int | None
    staff_id: int | None


# -- claiming -------------------------------------------------------------------------------

def _claimable_receipts() -> tuple[Any, Any]:
    """(the sale alias to outer-join on `related_receipt_id`, the WHERE clause): pending
    receipts whose refund, if they are one, has its sale fiscalized."""
    original = aliased(Receipt)
    return original, and_(
        Receipt.fiscal_state == FiscalState.PENDING,
        or_(Receipt.kind == ReceiptKind.SALE, original.fiscal_state == FiscalState.DONE),
    )


def _is_pg(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def claim_due(
    session: AsyncSession,
    now: datetime,
    *,
    limit: int = 20,
    lease: timedelta = DEFAULT_LEASE,
    force: bool = False,
    exclude: Collection[tuple[FiscalKind, int]] = (),
) -> list[FiscalJob]:
    """Claim up to `limit` due items, oldest money first, for `lease`; returns them loaded.

    `force` ignores backoff and leases (used to flush the queue before a Z-report; safe because
    an item tried before is always read back by id before anything is sent again). `exclude`
    skips items this run has already handled. Call in its own short transaction and commit
    before talking to the PRRO.
    """
    skip_receipts = [row_id for kind, row_id in exclude if kind == FiscalKind.RECEIPT]
    skip_moves = [row_id for kind, row_id in exclude if kind == FiscalKind.CASH_MOVE]
    skip_locked = _is_pg(session)

    original, claimable = _claimable_receipts()
    receipts = (
        select(Receipt.id, Receipt.paid_at, Receipt.fiscal_attempts, Receipt.fiscal_error)
        .outerjoin(original, original.id == Receipt.related_receipt_id).where(claimable)
        .order_by(Receipt.paid_at, Receipt.id).limit(limit)
    )
    moves = (
        select(CashMove.id, CashMove.created_at, CashMove.fiscal_attempts, CashMove.fiscal_error)
        .where(CashMove.fiscal_state == FiscalState.PENDING)
        .order_by(CashMove.created_at, CashMove.id).limit(limit)
    )
    if not force:
        receipts = receipts.where(Receipt.fiscal_updated_at <= now)
        moves = moves.where(CashMove.fiscal_updated_at <= now)
    if skip_receipts:
        receipts = receipts.where(Receipt.id.not_in(skip_receipts))
    if skip_moves:
        moves = moves.where(CashMove.id.not_in(skip_moves))
    if skip_locked:
        receipts = receipts.with_for_update(of=Receipt, skip_locked=True)
        moves = moves.with_for_update(skip_locked=True)

    candidates: list[tuple[datetime, FiscalKind, int, int, str | None]] = []
    for row_id, paid_at, attempts, error in await session.execute(receipts):
        assert paid_at is not None  # only paid receipts are queued (CHECK "paid_at")
        candidates.append((paid_at, FiscalKind.RECEIPT, row_id, attempts, error))
    for row_id, at, attempts, error in await session.execute(moves):
        candidates.append((at, FiscalKind.CASH_MOVE, row_id, attempts, error))
    candidates.sort(key=lambda c: (c[0], c[1] == FiscalKind.CASH_MOVE, c[2]))

    claimed: dict[tuple[FiscalKind, int], tuple[int, bool, str | None]] = {}
    for _at, kind, row_id, attempts, error in candidates[:limit]:
        model = _model(kind)
        result = await session.execute(
            update(model)
            .where(model.id == row_id, model.fiscal_state == FiscalState.PENDING,
                   model.fiscal_attempts == attempts)
            .values(fiscal_attempts=attempts + 1, fiscal_updated_at=now + lease,
                    fiscal_error=None)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            claimed[(kind, row_id)] = (attempts + 1, error is not None, error)
    if not claimed:
        return []
    return await _load_jobs(session, claimed, [(c[1], c[2]) for c in candidates])


async def _load_jobs(
    session: AsyncSession,
    claimed: dict[tuple[FiscalKind, int], tuple[int, bool, str | None]],
    order: Sequence[tuple[FiscalKind, int]],
) -> list[FiscalJob]:
    receipt_ids = [row_id for kind, row_id in claimed if kind == FiscalKind.RECEIPT]
    move_ids = [row_id for kind, row_id in claimed if kind == FiscalKind.CASH_MOVE]
    jobs: dict[tuple[FiscalKind, int], FiscalJob] = {}
    if receipt_ids:
        rows = list(await session.scalars(
            select(Receipt).where(Receipt.id.in_(receipt_ids))
            .options(selectinload(Receipt.lines), selectinload(Receipt.payments))
            .execution_options(populate_existing=True)
        ))
        type_ids = {p.payment_type_id for r in rows for p in r.payments}
        labels = {t.id: t.name_uk for t in await session.scalars(
            select(PaymentType).where(PaymentType.id.in_(type_ids)))} if type_ids else {}
        related_ids = {r.related_receipt_id for r in rows if r.related_receipt_id}
        related = dict((await session.execute(
            select(Receipt.id, Receipt.fiscal_id).where(Receipt.id.in_(related_ids))
        )).all()) if related_ids else {}
        ticket_ids = {r.ticket_id for r in rows if r.ticket_id}
        numbers = dict((await session.execute(
            select(Ticket.id, Ticket.number).where(Ticket.id.in_(ticket_ids))
        )).all()) if ticket_ids else {}
        for r in rows:
            attempts, retry, error = claimed[(FiscalKind.RECEIPT, r.id)]
            jobs[(FiscalKind.RECEIPT, r.id)] = FiscalJob(
                kind=FiscalKind.RECEIPT, row_id=r.id, fiscal_id=str(r.fiscal_id),
                attempts=attempts, retry_requested=retry, previous_error=error,
                at=r.paid_at or r.created_at, staff_id=r.paid_by_id, receipt_kind=r.kind,
                total=r.total,
                lines=tuple(JobLine(line.code, line.name, line.price, line.quantity, line.amount)
                            for line in r.lines),
                payments=tuple(JobPayment(PaymentKind(p.kind), p.amount, p.received,
                                          labels.get(p.payment_type_id, ""))
                               for p in r.payments),
                related_receipt_id=r.related_receipt_id,
                related_fiscal_id=(related.get(r.related_receipt_id)
                                   if r.related_receipt_id else None),
                ticket_number=numbers.get(r.ticket_id) if r.ticket_id else None,
            )
    if move_ids:
        for m in await session.scalars(select(CashMove).where(CashMove.id.in_(move_ids))
                                       .execution_options(populate_existing=True)):
            attempts, retry, error = claimed[(FiscalKind.CASH_MOVE, m.id)]
            jobs[(FiscalKind.CASH_MOVE, m.id)] = FiscalJob(
                kind=FiscalKind.CASH_MOVE, row_id=m.id, fiscal_id=str(m.fiscal_id),
                attempts=attempts, retry_requested=retry, previous_error=error,
                at=m.created_at, staff_id=m.staff_id, total=m.amount,
            )
    return [jobs[key] for key in order if key in jobs]


# -- settling (each in its own short transaction) --------------------------------------------

def _claimed(job: FiscalJob) -> Any:
    model = _model(job.kind)
    return and_(model.id == job.row_id, model.fiscal_state == FiscalState.PENDING,
                model.fiscal_attempts == job.attempts)


async def _update(session: AsyncSession, job: FiscalJob, where: Any, **values: Any) -> bool:
    model = _model(job.kind)
    result = await session.execute(
        update(model).where(where).values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def settle_done(
    session: AsyncSession, job: FiscalJob, fiscal_id: str, now: datetime, *,
    fiscal_code: str | None, fiscal_date: datetime | None, tax_url: str | None,
) -> bool:
    """Store the PRRO's DONE. Not conditional on the claim: DONE for this id is the final
    truth whoever learned it, only the id must still be the row's."""
    model = _model(job.kind)
    where = and_(model.id == job.row_id, model.fiscal_id == fiscal_id,
                 model.fiscal_state != FiscalState.DONE)
    return await _update(session, job, where, fiscal_state=FiscalState.DONE,
                         fiscal_code=(fiscal_code or "")[:64] or None,
                         fiscal_date=fiscal_date or now, tax_url=(tax_url or "")[:512] or None,
                         fiscal_error=None, fiscal_updated_at=now)


async def settle_error(session: AsyncSession, job: FiscalJob, error: str, now: datetime) -> bool:
    """The PRRO refused for good: a person must look (staff may put it back with retry)."""
    return await _update(session, job, _claimed(job), fiscal_state=FiscalState.ERROR,
                         fiscal_error=(error or "?")[:2000], fiscal_updated_at=now)


async def settle_retry(session: AsyncSession, job: FiscalJob, due_at: datetime) -> bool:
    """Still pending (PRRO unreachable, answer lost, still processing): try again at `due_at`."""
    return await _update(session, job, _claimed(job), fiscal_updated_at=due_at)


async def renew(
    session: AsyncSession, jobs: Sequence[FiscalJob], until: datetime
) -> set[tuple[FiscalKind, int]]:
    """The heartbeat: extend the lease of claimed items still held by these claims to
    `until`; returns the ones renewed (a missing one was settled or taken over)."""
    renewed: set[tuple[FiscalKind, int]] = set()
    for job in jobs:
        if await _update(session, job, _claimed(job), fiscal_updated_at=until):
            renewed.add((job.kind, job.row_id))
    return renewed


async def release(session: AsyncSession, jobs: Sequence[FiscalJob], now: datetime) -> int:
    """Give claimed but untried items back at once (a run stopped early)."""
    released = 0
    for job in jobs:
        released += await _update(session, job, _claimed(job), fiscal_updated_at=now)
    return released


async def replace_fiscal_id(session: AsyncSession, job: FiscalJob, old: str, new: str) -> bool:
    """After staff asked to retry and the PRRO holds the old receipt in ERROR (it has no fiscal
    number), the item is sent again under a new id. Committed before that send."""
    model = _model(job.kind)
    return await _update(session, job, and_(_claimed(job), model.fiscal_id == old),
                         fiscal_id=new)


async def request_retry(
    session: AsyncSession, kind: FiscalKind, row_id: int, now: datetime,
    actor: Staff | None = None,
) -> bool:
    """Staff: put a failed item back in the queue. False if it is not (or no longer) failed.
    Audited when a staff member asked (`actor`)."""
    model = _model(kind)
    result = await session.execute(
        update(model)
        .where(model.id == row_id, model.fiscal_state == FiscalState.ERROR)
        # fiscal_error stays: it marks "retry after an error" for the worker (module docstring)
        .values(fiscal_state=FiscalState.PENDING, fiscal_updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False
    signals.mark(session, signals.FISCAL)
    if actor is not None:
        audit(session, actor, "fiscal.retry", model.__tablename__.removesuffix("s"), row_id)
    return True


# -- reading --------------------------------------------------------------------------------

async def backlog(session: AsyncSession) -> Backlog:
    """How many items wait for the PRRO and how many failed."""
    counts: dict[str, int] = {}
    oldest: list[datetime] = []
    for model, at in ((Receipt, Receipt.paid_at), (CashMove, CashMove.created_at)):
        for state, count, first in await session.execute(
            select(model.fiscal_state, func.count(), func.min(at))
            .where(model.fiscal_state.in_([FiscalState.PENDING, FiscalState.ERROR]))
            .group_by(model.fiscal_state)
        ):
            key = FiscalState(state).value
            counts[key] = counts.get(key, 0) + int(count)
            if key == FiscalState.PENDING.value and first is not None:
                oldest.append(first)
    return Backlog(pending=counts.get("pending", 0), errors=counts.get("error", 0),
                   oldest_pending_at=min(oldest) if oldest else None)


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest claimable pending item becomes due (None: nothing to wait for; a
    refund waiting for its sale does not count)."""
    original, claimable = _claimable_receipts()
    receipts = await session.scalar(
        select(func.min(Receipt.fiscal_updated_at))
        .outerjoin(original, original.id == Receipt.related_receipt_id).where(claimable)
    )
    moves = await session.scalar(select(func.min(CashMove.fiscal_updated_at))
                                 .where(CashMove.fiscal_state == FiscalState.PENDING))
    found = [d for d in (receipts, moves) if d is not None]
    return min(found) if found else None


async def failed_items(session: AsyncSession, limit: int = 20) -> list[FailedItem]:
    """Items the PRRO refused, newest first."""
    items: list[FailedItem] = []
    rows = await session.execute(
        select(Receipt, Ticket.number).outerjoin(Ticket, Ticket.id == Receipt.ticket_id)
        .where(Receipt.fiscal_state == FiscalState.ERROR)
        .order_by(Receipt.fiscal_updated_at.desc(), Receipt.id.desc()).limit(limit)
    )
    for receipt, number in rows:
        items.append(FailedItem(FiscalKind.RECEIPT, receipt.id, receipt.paid_at or
                                receipt.created_at, receipt.total, receipt.fiscal_error or "",
                                receipt.kind, number, receipt.paid_by_id))
    for move in await session.scalars(
        select(CashMove).where(CashMove.fiscal_state == FiscalState.ERROR)
        .order_by(CashMove.fiscal_updated_at.desc(), CashMove.id.desc()).limit(limit)
    ):
        items.append(FailedItem(FiscalKind.CASH_MOVE, move.id, move.created_at, move.amount,
                                move.fiscal_error or "", None, None, move.staff_id))
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:limit]


# -- shifts ---------------------------------------------------------------------------------

async def attach_fiscal_z(
    session: AsyncSession, shift_id: int, fiscal_shift_id: uuid.UUID | str | None,
    fiscal_z: dict[str, Any],
) -> None:
    """Keep the PRRO's Z-report with the internal one (`z_report["fiscal"]`)."""
    shift = await session.get(Shift, shift_id)
    if shift is None:
        return
    report = dict(shift.z_report or {})
    report["fiscal"] = fiscal_z
    await session.execute(
        update(Shift).where(Shift.id == shift_id)
        .values(z_report=report,
                fiscal_shift_id=str(fiscal_shift_id) if fiscal_shift_id else shift.fiscal_shift_id)
        .execution_options(synchronize_session=False)
    )


async def last_closed_shift(session: AsyncSession) -> Shift | None:
    return await session.scalar(
        select(Shift).where(Shift.status == ShiftStatus.CLOSED)
        .order_by(Shift.number.desc()).limit(1)
    )
