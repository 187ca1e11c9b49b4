"""Sending recorded payments to the PRRO: the fiscal queue's worker.

The payment is already committed (`pending`, with its client-generated `fiscal_id`); this use
case makes the PRRO receipt for it, exactly once:

* Each item is claimed in a short transaction, sent with no transaction open, and its outcome
  is stored in another short transaction (db.fiscal.queue).
* First try: POST under the stored id. Any later try first READS the receipt by that id and
  POSTs again only when the PRRO answers "no such receipt" — so a lost answer, a timeout or a
  crash after the sale was made never produces a second fiscal receipt.
* DONE → fiscal code, date and tax URL stored. ERROR or a refusal → `error`, with the text;
  the staff member who took the payment and the owners are told (notifier) and may put it
  back with "Повторить". Timeout, 5xx, broken connection, the polling bound → still pending,
  tried again after a backoff.
* A PRRO shift is opened before the first sale when none is open; "Зміну не відкрито" on a
  sale opens one and sends the same receipt (same id) once more.
* A claim's lease is short (45 s); a heartbeat renews it every `heartbeat` seconds while the
  worker holds items, so a dead worker's items are taken over within a minute. An item the
  heartbeat finds taken over is not sent by this worker. `last_beat`: the last loop or
  heartbeat (/healthz).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.waiting import beating, wait_any
from db.base import utcnow
from db.fiscal import queue
from db.fiscal.queue import FiscalJob, FiscalKind
from db.money.models import PaymentKind, ReceiptKind
from db.money.receipts import FREE_LINE_CODE
from fiscal import (
    Discount,
    FiscalAuthError,
    FiscalError,
    FiscalProvider,
    FiscalReceiptNotFound,
    FiscalRejected,
    FiscalShiftNotOpen,
    FiscalTransientError,
    Good,
    PaymentPart,
    ReceiptResult,
    SellReceipt,
    line_total,
)

logger = logging.getLogger("bot.fiscalization")

Clock = Callable[[], datetime]
ROUNDING_NAME = "Округлення"


class FiscalNotifier(Protocol):
    """Who hears about fiscal trouble (bot.workers.staff_notices implements it for Telegram)."""

    async def fiscal_failed(self, job: FiscalJob, error: str) -> None: ...

    async def provider_unavailable(self, error: str, *, auth: bool) -> None: ...


@dataclass(frozen=True)
class FiscalPolicy:
    """Knobs of the worker; tests shrink the times."""

    batch_size: int = 20
    concurrency: int = 8  # items in flight at once (see _Gate); 1 = one after another
    lease: timedelta = queue.DEFAULT_LEASE  # renewed by the heartbeat while held
    heartbeat: float = 10.0  # seconds between lease renewals
    backoff_base: float = 10.0  # seconds after the first transient failure, doubling
    backoff_max: float = 900.0
    max_consecutive_transient: int = 3  # then the PRRO is down: stop this run, keep the rest
    poll_interval: float = 30.0  # run_forever's idle wait when nothing is due sooner
    min_wait: float = 1.0  # run_forever never loops faster than this

    def backoff(self, attempts: int) -> timedelta:
        seconds = self.backoff_base * 2 ** max(0, attempts - 1)
        return timedelta(seconds=min(self.backoff_max, seconds))


@dataclass
class RunStats:
    """What one run did (counters for logs, tests and the benchmark)."""

    claimed: int = 0
    done: int = 0
    errors: int = 0
    transient: int = 0
    posts: int = 0  # receipts sent (POST)
    reads: int = 0  # receipts read back by id before deciding to send
    adopted: int = 0  # found DONE by reading: the earlier send had worked
    reissued: int = 0  # sent again under a new id after staff retry of an ERROR receipt
    shifts_opened: int = 0
    released: int = 0
    stopped_early: bool = False
    error_texts: list[str] = field(default_factory=list)

    def add(self, other: RunStats) -> None:
        for name in ("claimed", "done", "errors", "transient", "posts", "reads", "adopted",
                     "reissued", "shifts_opened", "released"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.stopped_early = self.stopped_early or other.stopped_early
        self.error_texts.extend(other.error_texts)


class _Gate:
    """How many items may be in flight, and when a run stops. The window opens like TCP's slow
    start: one item at a time until one is done, then 2, 4, … up to `policy.concurrency`, so
    an outage is still found by a few items tried one after another (not a whole window at
    once), while a late answer no longer holds up the rest once the PRRO has answered."""

    def __init__(self, policy: FiscalPolicy) -> None:
        self.policy = policy
        self.done = 0
        self.consecutive = 0  # transient outcomes in a row, in completion order
        self.halted = False

    @property
    def window(self) -> int:
        return max(1, min(self.policy.concurrency, 1 << min(self.done, 16)))

    @property
    def stopped(self) -> bool:
        return self.halted or self.consecutive >= self.policy.max_consecutive_transient

    def record(self, outcome: str) -> None:
        if outcome == "transient":
            self.consecutive += 1
        elif outcome == "halt":
            self.halted = True
        elif outcome != "lost":
            self.consecutive = 0
            self.done += outcome == "done"


@dataclass
class _Run:
    """One run's items: claimed and not started, in flight, and all it has claimed."""

    policy: FiscalPolicy
    now: datetime | None
    pending: list[FiscalJob] = field(default_factory=list)
    running: dict[asyncio.Task[str], FiscalJob] = field(default_factory=dict)
    seen: set[tuple[FiscalKind, int]] = field(default_factory=set)
    exhausted: bool = False  # the last claim found nothing more

    def __post_init__(self) -> None:
        self.gate = _Gate(self.policy)

    async def cancel(self) -> None:
        for task in self.running:
            task.cancel()
        if self.running:
            await asyncio.gather(*self.running, return_exceptions=True)


def _may_start(job: FiscalJob, running: dict[asyncio.Task[str], FiscalJob], gate: _Gate
               ) -> bool:
    if len(running) >= gate.window:
        return False
    if not running:
        return True
    alone = FiscalKind.CASH_MOVE
    return job.kind != alone and all(other.kind != alone for other in running.values())


class _Transient(Exception):
    """Stay pending (carries the reason)."""


class _BadReceipt(Exception):
    """Our data cannot make a valid PRRO receipt (nothing was sent)."""


class _ShiftRefused(Exception):
    """The PRRO would not open a shift: not this receipt's fault; owners must look."""


def build_sell_receipt(job: FiscalJob, receipt_id: uuid.UUID) -> SellReceipt:
    """The PRRO receipt for a sale or refund: goods from the lines (kopecks, thousandths), a
    payment per part by its kind; cash `value` is what was handed over (the PRRO prints the
    change). When the lines' rounding at the PRRO differs from the amounts the shop charged
    (a partial return that took the rest of a line), a receipt-level discount or extra charge
    makes the PRRO total equal to ours to the kopeck."""
    goods = [Good(code=line.code or FREE_LINE_CODE, name=line.name, price=line.price,
                  quantity=line.quantity) for line in job.lines]
    diff = sum(line_total(g.price, g.quantity) for g in goods) - job.total
    discounts = []
    if diff > 0:
        discounts.append(Discount(value=diff, name=ROUNDING_NAME))
    elif diff < 0:
        discounts.append(Discount(value=-diff, name=ROUNDING_NAME, type="EXTRA_CHARGE"))
    payments = []
    for p in job.payments:
        cash = p.kind == PaymentKind.CASH
        value = (p.received or p.amount) if cash else p.amount
        payments.append(PaymentPart(type="CASH" if cash else "CASHLESS", value=value,
                                    label=p.label or None))
    if not payments:  # a free return moves no money
        payments.append(PaymentPart(type="CASH", value=0))
    related = None
    if job.receipt_kind == ReceiptKind.REFUND:
        if not job.related_fiscal_id:
            raise ValueError("the refunded sale has no fiscal id")
        related = uuid.UUID(job.related_fiscal_id)
    return SellReceipt(id=receipt_id, goods=goods, payments=payments,
                       related_receipt_id=related, discounts=discounts)


class Fiscalizer:
    """The fiscal queue's worker. One per process (share `lock` with the shift closer)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        provider: FiscalProvider,
        *,
        clock: Clock = utcnow,
        policy: FiscalPolicy | None = None,
        notifier: FiscalNotifier | None = None,
        lock: asyncio.Lock | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.provider = provider
        self.clock = clock
        self.policy = policy or FiscalPolicy()
        self.notifier = notifier
        self.lock = lock or asyncio.Lock()
        self._shift_ready = False
        self._shift_lock = asyncio.Lock()  # items sent together open one PRRO shift
        self._held: dict[tuple[FiscalKind, int], FiscalJob] = {}  # claimed, not yet settled
        self._lost: set[tuple[FiscalKind, int]] = set()  # taken over by another worker
        self.last_beat: datetime | None = None  # the last loop or heartbeat (UTC)

    # -- public ---------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None, *, force: bool = False) -> RunStats:
        """Process every due item (all pending ones with `force`), oldest money first."""
        async with self.lock:
            return await self.run_locked(now, force=force)

    async def run_locked(self, now: datetime | None = None, *, force: bool = False) -> RunStats:
        """`run_once` for a caller that already holds `lock` (the shift closer's flush)."""
        stats = RunStats()
        if not self.provider.is_fiscal:
            return stats  # internal receipts only: nothing goes to a PRRO
        self._shift_ready = False
        run = _Run(self.policy, now)
        try:
            async with beating(lambda: self.heartbeat(now), self.policy.heartbeat,
                               "fiscal heartbeat"):
                while await self._step(run, force, stats):
                    pass
        finally:
            await run.cancel()  # only when cancelled: a claim left behind is leased, safe
            self._held.clear()
            self._lost.clear()
        if run.gate.stopped:
            if run.pending:
                async with self.session_factory() as session, session.begin():
                    stats.released += await queue.release(session, run.pending,
                                                          now or self.clock())
            # an outage (or a refusal of access) cut the run short; transients at the very
            # end of the work with nothing left behind them are just backoffs
            stats.stopped_early = run.gate.halted or bool(run.pending)
        return stats

    async def heartbeat(self, now: datetime | None = None) -> None:
        """Renew the leases of the items in hand (every `policy.heartbeat` seconds during a
        run). `now`: the run's fixed time, if it has one (tests)."""
        self.last_beat = self.clock()
        jobs = list(self._held.values())
        if not jobs:
            return
        async with self.session_factory() as session, session.begin():
            renewed = await queue.renew(session, jobs, (now or self.clock()) + self.policy.lease)
        for job in jobs:
            key = (job.kind, job.row_id)
            if key not in renewed and key in self._held:
                self._lost.add(key)

    async def _step(self, run: _Run, force: bool, stats: RunStats) -> bool:
        """Start what the window allows (claiming more when the claimed ones are all
        started), then wait for one to finish. False when the run is over."""
        gate = run.gate
        if not run.pending and not run.exhausted and not gate.stopped:
            async with self.session_factory() as session, session.begin():
                jobs = await queue.claim_due(session, run.now or self.clock(),
                                             limit=self.policy.batch_size,
                                             lease=self.policy.lease, force=force,
                                             exclude=run.seen)
            stats.claimed += len(jobs)
            run.exhausted = not jobs
            run.seen.update((job.kind, job.row_id) for job in jobs)
            self._held.update({(job.kind, job.row_id): job for job in jobs})
            run.pending.extend(jobs)
        while run.pending and not gate.stopped and _may_start(run.pending[0], run.running, gate):
            job = run.pending.pop(0)
            task = asyncio.create_task(self._process_held(job, run.now or self.clock(), stats))
            run.running[task] = job
        if not run.running:
            return bool(run.pending) and not gate.stopped
        finished, _ = await asyncio.wait(run.running, return_when=asyncio.FIRST_COMPLETED)
        for task in finished:
            del run.running[task]
            gate.record(task.result())
        return True

    async def _process_held(self, job: FiscalJob, now: datetime, stats: RunStats) -> str:
        """One claimed item, unless the heartbeat found it taken over by another worker."""
        key = (job.kind, job.row_id)
        try:
            if key in self._lost:
                return "lost"
            return await self._process(job, now, stats)
        finally:
            self._held.pop(key, None)

    async def run_forever(
        self, stop: asyncio.Event, wakeup: asyncio.Event | None = None
    ) -> None:
        """Run until `stop` is set: after every `wakeup` (set after commits that queued
        fiscal work), when the earliest backoff ends, or every `poll_interval` seconds. After
        a run cut short by an outage it waits the full `poll_interval`."""
        wakeup = wakeup or asyncio.Event()
        while not stop.is_set():
            self.last_beat = self.clock()
            wakeup.clear()
            delay = self.policy.poll_interval
            try:
                stats = await self.run_once()
                if stats.claimed:
                    logger.info("fiscal run: %s", stats)
                if not stats.stopped_early:
                    async with self.session_factory() as session:
                        due = await queue.next_due_at(session)
                    if due is not None:
                        ahead = (due - self.clock()).total_seconds()
                        delay = min(delay, max(self.policy.min_wait, ahead))
            except Exception:
                logger.exception("fiscal run failed; retrying in %ss", delay)
            await wait_any(stop, wakeup, timeout=delay)

    # -- one item -------------------------------------------------------------------------

    async def _process(self, job: FiscalJob, now: datetime, stats: RunStats) -> str:
        """Returns done | error | transient | halt (PRRO refuses access or a shift: stop the
        run) | lost (the claim was taken over)."""
        try:
            result = await self._fiscalize(job, stats)
        except FiscalRejected as exc:
            text = (exc.result.error if exc.result and exc.result.error else exc.message)
            return await self._store_error(job, text, now, stats)
        except _BadReceipt as exc:
            return await self._store_error(job, f"invalid receipt data: {exc}", now, stats)
        except FiscalAuthError as exc:
            await self._store_retry(job, now, stats, exc.message)
            await self._tell_provider_unavailable(exc.message, auth=True)
            return "halt"
        except _ShiftRefused as exc:
            await self._store_retry(job, now, stats, str(exc))
            await self._tell_provider_unavailable(str(exc), auth=False)
            return "halt"
        except (FiscalTransientError, FiscalShiftNotOpen, FiscalReceiptNotFound,
                _Transient) as exc:
            return await self._store_retry(job, now, stats, str(exc))
        except FiscalError as exc:  # any other PRRO failure: keep it, try later
            return await self._store_retry(job, now, stats, exc.message)
        except Exception as exc:
            logger.exception("fiscal item %s %s failed unexpectedly", job.kind, job.row_id)
            return await self._store_retry(job, now, stats, repr(exc))
        if result is None:
            return "lost"
        fiscal_id, found = result
        async with self.session_factory() as session, session.begin():
            stored = await queue.settle_done(
                session, job, fiscal_id, now, fiscal_code=found.fiscal_code,
                fiscal_date=found.fiscal_date, tax_url=found.tax_url)
        stats.done += 1
        if not stored:
            logger.info("fiscal item %s %s: DONE already stored", job.kind, job.row_id)
        return "done"

    async def _fiscalize(
        self, job: FiscalJob, stats: RunStats
    ) -> tuple[str, ReceiptResult] | None:
        receipt_id = uuid.UUID(job.fiscal_id)
        if not job.is_first_try:
            # It may be at the PRRO already: read it, never blindly send again.
            stats.reads += 1
            try:
                found: ReceiptResult | None = await self.provider.receipt_status(receipt_id)
            except FiscalReceiptNotFound:
                found = None
            if found is not None:
                if found.is_done:
                    stats.adopted += 1
                    return job.fiscal_id, found
                if found.status in ("ERROR", "CANCELLED"):
                    if not job.retry_requested:
                        raise FiscalRejected(found.error or f"receipt {found.status}",
                                             receipt_id=receipt_id, result=found)
                    # Staff asked again and the PRRO holds that receipt as failed (it has no
                    # fiscal number): send the same sale under a new id, saved first.
                    new_id = uuid.uuid4()
                    async with self.session_factory() as session, session.begin():
                        if not await queue.replace_fiscal_id(session, job, job.fiscal_id,
                                                             str(new_id)):
                            return None
                    stats.reissued += 1
                    receipt_id = new_id
                else:
                    raise _Transient(f"receipt {receipt_id} still {found.status} at the PRRO")
        result = await self._send_in_shift(job, receipt_id, stats)
        return str(receipt_id), result

    async def _send_in_shift(
        self, job: FiscalJob, receipt_id: uuid.UUID, stats: RunStats
    ) -> ReceiptResult:
        receipt = None
        if job.kind == FiscalKind.RECEIPT:
            try:
                receipt = build_sell_receipt(job, receipt_id)
            except ValueError as exc:
                raise _BadReceipt(str(exc)) from exc
        await self._ensure_shift(stats)
        try:
            return await self._send(job, receipt_id, receipt, stats)
        except FiscalShiftNotOpen:
            # Closed behind our back (or never opened): open one, send the same id once more.
            self._shift_ready = False
            await self._ensure_shift(stats)
            return await self._send(job, receipt_id, receipt, stats)

    async def _ensure_shift(self, stats: RunStats) -> None:
        if self._shift_ready:
            return
        async with self._shift_lock:
            if self._shift_ready:
                return
            shift = await self.provider.current_shift()
            if shift is None or not shift.is_open:
                try:
                    await self.provider.open_shift()
                except FiscalRejected as exc:
                    raise _ShiftRefused(exc.message) from exc
                stats.shifts_opened += 1
            self._shift_ready = True

    async def _send(self, job: FiscalJob, receipt_id: uuid.UUID, receipt: SellReceipt | None,
                    stats: RunStats) -> ReceiptResult:
        if (job.kind, job.row_id) in self._lost:
            raise _Transient("the claim was taken over by another worker")
        stats.posts += 1
        if receipt is None:
            return await self.provider.service(receipt_id, job.total)
        if job.receipt_kind == ReceiptKind.REFUND:
            return await self.provider.return_(receipt)
        return await self.provider.sell(receipt)

    # -- outcomes -------------------------------------------------------------------------

    async def _store_error(self, job: FiscalJob, text: str, now: datetime, stats: RunStats
                           ) -> str:
        async with self.session_factory() as session, session.begin():
            stored = await queue.settle_error(session, job, text, now)
        if not stored:
            return "lost"
        stats.errors += 1
        stats.error_texts.append(text)
        logger.warning("fiscal item %s %s refused: %s", job.kind, job.row_id, text)
        if self.notifier is not None:
            try:
                await self.notifier.fiscal_failed(job, text)
            except Exception:
                logger.exception("could not tell staff about fiscal item %s", job.row_id)
        return "error"

    async def _store_retry(self, job: FiscalJob, now: datetime, stats: RunStats, reason: str
                           ) -> str:
        due = now + self.policy.backoff(job.attempts)
        async with self.session_factory() as session, session.begin():
            stored = await queue.settle_retry(session, job, due)
        stats.transient += 1
        logger.info("fiscal item %s %s stays pending (try %s, next at %s): %s",
                    job.kind, job.row_id, job.attempts, due.isoformat(), reason)
        return "transient" if stored else "lost"

    async def _tell_provider_unavailable(self, text: str, *, auth: bool) -> None:
        if self.notifier is None:
            return
        try:
            await self.notifier.provider_unavailable(text, auth=auth)
        except Exception:
            logger.exception("could not tell owners that the PRRO refused access")

