"""The outbox worker: Telegram first, SMS when Telegram cannot reach the client.

Per message:
* a chat (the client's current one) and no earlier give-up → Telegram, within the limiter;
  - sent → done;
  - 429 → back to pending after `retry_after` (not counted as a failure), the chat is paused,
    the overall rate halved for a while;
  - 403 / "chat not found" → the chat is unlinked from the client and SMS is tried at once;
  - a message Telegram will never accept (400) → SMS at once;
  - transient (network, 5xx, timeout) → retry with exponential backoff; after
    `telegram_retries` failures in a row, SMS at once;
* no chat, or Telegram given up → SMS (plain text, no buttons, short):
  - ok → done; permanent error → failed with the gateway's reason; transient → backoff,
    failed after `sms_retries`;
* no phone either → failed, saying why;
* a kind the notification policy keeps off SMS (plain status updates, unless the owner turned
  that on: db.notify.policy.sms_allowed) → failed with the policy's reason, nothing paid.
Every attempt is a `delivery_attempts` row; the message row says where it stands.

Transactions: a claim is one short transaction, committed before anything is sent; each
result (attempt row + new state) is another. No DB lock is held while talking to Telegram.

Leases: a claim holds a message for `lease` (45 s); while the worker has messages in hand a
heartbeat renews their leases every `heartbeat` seconds, so a killed worker's messages are
taken over by another within a minute, and a live worker keeps what it holds however long its
queue. `last_beat` is the time of the last loop or heartbeat (/healthz).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.views.sms_text import SMS_MAX_CHARS, sms_text
from bot.waiting import beating, wait_any
from bot.workers.ratelimit import RateLimiter
from bot.workers.telegram_send import TgOutcome, TgResult, send_telegram
from db.base import utcnow
from db.notify.client_links import mark_chat_unreachable
from db.notify.models import Channel, OutboxState
from db.notify.outbox import (
    OutboxItem,
    claim_due,
    count_unfinished,
    next_due_at,
    record_attempt,
    renew_leases,
    settle,
)
from db.notify.policy import no_sms_reason
from sms.base import SmsProvider, SmsResult

logger = logging.getLogger("bot.notifications")


@dataclass(frozen=True)
class DeliveryPolicy:
    """Knobs of the worker. Defaults suit production; tests shrink the times."""

    rate: float = 25.0  # messages/s overall (Telegram allows ~30)
    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    batch_size: int = 50  # messages claimed and in flight at most
    lease: timedelta = timedelta(seconds=45)  # renewed by the heartbeat while held
    heartbeat: float = 10.0  # seconds between lease renewals
    send_timeout: float = 20.0  # seconds for one Telegram or SMS request
    telegram_retries: int = 5  # transient Telegram failures before falling back to SMS
    sms_retries: int = 5  # transient SMS failures before giving up
    backoff_base: float = 5.0  # seconds; doubles per failure
    backoff_max: float = 900.0
    poll_interval: float = 5.0  # run_forever's idle check when nothing is due
    sms_max_chars: int = SMS_MAX_CHARS

    def __post_init__(self) -> None:
        # Between two heartbeats a held message must keep enough lease to start a send (a
        # message waiting its chat's turn is kept by the renewals however long the queue).
        need = self.heartbeat + self.send_margin
        if self.lease.total_seconds() < need:
            raise ValueError(f"lease must be at least {need:.0f}s for this policy")

    @property
    def send_margin(self) -> float:
        """Lease time a send must still have left to start: its timeout plus slack."""
        return self.send_timeout + 10.0

    def backoff(self, failures: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** max(0, failures - 1))


@dataclass
class DrainStats:
    claimed: int = 0
    sent_telegram: int = 0
    sent_sms: int = 0
    failed: int = 0
    retried: int = 0  # transient failure, rescheduled with backoff
    rate_limited: int = 0  # 429s received
    deferred: int = 0  # put back untouched because its chat was paused by a 429
    interrupted: int = 0  # reclaimed from a stopped worker (expired lease)

    def __iadd__(self, other: DrainStats) -> DrainStats:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def sent(self) -> int:
        return self.sent_telegram + self.sent_sms


class OutboxWorker:
    """Delivers the outbox. `run_once()` drains what is due now (tests, a scheduler job);
    `run_forever(stop_event)` is the long-running loop; `wake()` after committing an enqueue
    makes it look at once instead of at the next poll. Any number of workers (processes) may
    run against one database; a message is claimed by one of them."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bot: Bot,
        sms: SmsProvider,
        *,
        policy: DeliveryPolicy | None = None,
        limiter: RateLimiter | None = None,
        worker_id: str | None = None,
        wakeup: asyncio.Event | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`wakeup`: an event shared with the code that enqueues (e.g. Services.outbox_wakeup),
        set after a commit that wrote outbox rows; same effect as `wake()`."""
        self.policy = policy or DeliveryPolicy()
        self._sf = session_factory
        self._bot = bot
        self._sms = sms
        self.limiter = limiter or RateLimiter(self.policy.rate, self.policy.per_chat_interval)
        self.worker_id = worker_id or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._now = clock
        self._wake = wakeup or asyncio.Event()
        # Messages in hand → their lease as last confirmed by the database.
        self._held: dict[int, datetime] = {}
        self.last_beat: datetime | None = None  # the last loop or heartbeat (UTC)

    def wake(self) -> None:
        self._wake.set()

    # -- loops -----------------------------------------------------------------------------

    async def run_once(self, stop_event: asyncio.Event | None = None) -> DrainStats:
        """Deliver every message due now (and those that fall due while it runs), keeping up
        to `batch_size` in flight; returns when a claim finds nothing due."""
        stats = DrainStats()
        inflight: set[asyncio.Task[None]] = set()
        try:
            async with beating(self.heartbeat, self.policy.heartbeat, "outbox heartbeat"):
                await self._drain_loop(stats, inflight, stop_event)
        finally:
            if inflight:
                # Cancelled from outside: unstarted messages put themselves back (_deliver).
                for task in inflight:
                    task.cancel()
                await asyncio.gather(*inflight, return_exceptions=True)
        return stats

    async def _drain_loop(self, stats: DrainStats, inflight: set[asyncio.Task[None]],
                          stop_event: asyncio.Event | None) -> None:
        """run_once's loop; `inflight` is the caller's (it cancels what is left)."""
        batch = self.policy.batch_size
        more = True
        while True:
            stop = stop_event is not None and stop_event.is_set()
            if not stop and (more or not inflight) and len(inflight) <= batch // 2:
                want = batch - len(inflight)
                items = await self._claim(want)
                stats.claimed += len(items)
                stats.interrupted += sum(item.interrupted for item in items)
                inflight |= {asyncio.create_task(self._deliver(i, stats)) for i in items}
                more = len(items) == want
            if not inflight:
                return
            done, _ = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
            inflight -= done

    async def heartbeat(self) -> None:
        """Renew the leases of the messages in hand (run every `policy.heartbeat` seconds
        while `run_once` runs). One no longer this worker's is given up: not sent."""
        now = self._now()
        self.last_beat = now
        ids = list(self._held)
        if not ids:
            return
        until = now + self.policy.lease
        async with self._sf() as session, session.begin():
            renewed = await renew_leases(session, worker_id=self.worker_id, ids=ids,
                                         until=until)
        for outbox_id in ids:
            if outbox_id in self._held:
                self._held[outbox_id] = until if outbox_id in renewed else now
        if lost := set(ids) - renewed:
            logger.info("outbox worker %s: no longer holds %s", self.worker_id, sorted(lost))

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Deliver until `stop_event` is set; then finish what is in flight and return."""
        logger.info("outbox worker %s started", self.worker_id)
        while not stop_event.is_set():
            self.last_beat = self._now()
            self._wake.clear()  # before the cycle: a wake() during it is not lost
            try:
                await self.run_once(stop_event)
                wait = await self._idle_wait()
            except Exception:  # DB down, etc.: keep the loop alive
                logger.exception("outbox worker %s: cycle failed", self.worker_id)
                wait = self.policy.poll_interval
            await wait_any(stop_event, self._wake, timeout=max(0.05, wait))
        logger.info("outbox worker %s stopped", self.worker_id)

    async def drain(self, timeout: float = 60.0) -> DrainStats:  # noqa: ASYNC109
        """run_once until nothing is pending or sending (waiting for retries that fall due);
        TimeoutError after `timeout` seconds. For tests, benchmarks and shutdown flushes."""
        stats = DrainStats()
        deadline = time.monotonic() + timeout
        while True:
            stats += await self.run_once()
            async with self._sf() as session:
                if not await count_unfinished(session):
                    return stats
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"outbox not drained in {timeout}s")
            await asyncio.sleep(min(left, max(0.02, await self._idle_wait())))

    async def _idle_wait(self) -> float:
        async with self._sf() as session:
            due = await next_due_at(session)
        if due is None:
            return self.policy.poll_interval
        return min(self.policy.poll_interval, max(0.0, (due - self._now()).total_seconds()))

    # -- one message -------------------------------------------------------------------------

    async def _claim(self, limit: int) -> list[OutboxItem]:
        async with self._sf() as session, session.begin():
            items = await claim_due(session, worker_id=self.worker_id, now=self._now(),
                                    lease=self.policy.lease, limit=limit, exclude=set(self._held))
        for item in items:
            self._held[item.id] = item.lease_until
        return items

    async def _deliver(self, item: OutboxItem, stats: DrainStats) -> None:
        try:
            await self._deliver_held(item, stats)
        finally:
            self._held.pop(item.id, None)

    async def _deliver_held(self, item: OutboxItem, stats: DrainStats) -> None:
        try:
            if item.chat_id is not None and item.channel != Channel.SMS:
                result = await self._telegram(item, item.chat_id, stats)
                if result is None:
                    return  # done, rescheduled or deferred
                await self._sms_step(item, stats, telegram_error=result.error)
            else:
                await self._sms_step(item, stats, telegram_error=None)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug or the DB went away: the lease brings the message back later.
            logger.exception("outbox %s: delivery crashed; retried after the lease", item.id)

    async def _telegram(
        self, item: OutboxItem, chat_id: int, stats: DrainStats,
    ) -> TgResult | None:
        """Try Telegram. None when the message is settled (sent, rescheduled, deferred);
        the result when SMS should be tried now."""
        policy = self.policy
        started = False
        try:
            async with self.limiter.slot(chat_id) as paused_for:
                if paused_for:
                    # Behind a 429 in the same chat: back in line, order kept, no attempt.
                    await self._settle(item, None, count_attempt=False,
                                       state=OutboxState.PENDING,
                                       next_attempt_at=self._now() + timedelta(
                                           seconds=paused_for))
                    stats.deferred += 1
                    return None
                if not self._lease_left(item):
                    await self._release(item)
                    stats.deferred += 1
                    return None
                started = True
                result = await send_telegram(self._bot, item, chat_id, policy.send_timeout)
        except asyncio.CancelledError:
            if not started:
                await asyncio.shield(self._release(item))
            raise
        now = self._now()
        tg = Channel.TELEGRAM
        if result.outcome is TgOutcome.SENT:
            self.limiter.succeeded()
            await self._settle(item, (tg, True, result.message_id, None), state=OutboxState.SENT,
                               channel=tg, sent_at=now, provider_message_id=result.message_id,
                               last_error=None)
            stats.sent_telegram += 1
            return None
        if result.outcome is TgOutcome.RETRY_AFTER:
            self.limiter.pause_chat(chat_id, result.retry_after)
            self.limiter.slow_down()
            await self._settle(item, (tg, False, None, result.error), state=OutboxState.PENDING,
                               channel=tg, last_error=result.error,
                               next_attempt_at=now + timedelta(seconds=result.retry_after))
            stats.rate_limited += 1
            return None
        if result.outcome is TgOutcome.TRANSIENT:
            failures = item.retries + 1
            if failures < policy.telegram_retries:
                await self._settle(item, (tg, False, None, result.error),
                                   state=OutboxState.PENDING, channel=tg, retries=failures,
                                   last_error=result.error,
                                   next_attempt_at=now + timedelta(
                                       seconds=policy.backoff(failures)))
                stats.retried += 1
                return None
            logger.warning("outbox %s: Telegram failed %d times, falling back to SMS",
                           item.id, failures)
        # Unreachable, rejected, or out of retries: switch to SMS (still holding the lease).
        async with self._sf() as session, session.begin():
            record_attempt(session, item.id, channel=tg, ok=False, error=result.error, now=now)
            await settle(session, item.id, worker_id=self.worker_id, channel=Channel.SMS,
                         retries=0, last_error=result.error)
            if result.outcome is TgOutcome.UNREACHABLE:
                await mark_chat_unreachable(session, chat_id, result.error or "", now)
        return result

    async def _sms_step(
        self, item: OutboxItem, stats: DrainStats, telegram_error: str | None,
    ) -> None:
        policy = self.policy
        # Failures so far on SMS (a message already switched to SMS in an earlier run).
        fresh = telegram_error is not None or item.channel != Channel.SMS
        failures_before = 0 if fresh else item.retries
        refusal = await self._no_sms_reason(item)
        if refusal is not None:
            earlier = telegram_error or item.last_error or "no Telegram chat"
            await self._settle(item, None, count_attempt=False, state=OutboxState.FAILED,
                               channel=Channel.SMS,
                               last_error=f"{earlier}; {refusal}")
            stats.failed += 1
            return
        assert item.phone is not None  # _no_sms_reason refuses a message without one
        if not self._lease_left(item):
            await self._release(item)
            stats.deferred += 1
            return
        text = sms_text(item, policy.sms_max_chars)
        try:
            result = await asyncio.wait_for(self._sms.send(item.phone, text),
                                            policy.send_timeout + 5)
        except TimeoutError:
            result = SmsResult.failed(self._sms.name, "sms: timeout", permanent=False)
        except Exception as exc:  # providers should not raise; never lose the message
            logger.exception("outbox %s: SMS provider raised", item.id)
            result = SmsResult.failed(self._sms.name, f"sms: {exc!r}", permanent=False)
        now = self._now()
        sms = Channel.SMS
        attempt = (sms, result.ok, result.message_id, result.error)
        if result.ok:
            await self._settle(item, attempt, state=OutboxState.SENT, channel=sms, sent_at=now,
                               provider_message_id=result.message_id, last_error=None)
            stats.sent_sms += 1
            return
        failures = failures_before + 1
        if result.permanent or failures >= policy.sms_retries:
            await self._settle(item, attempt, state=OutboxState.FAILED, channel=sms,
                               retries=failures, last_error=result.error)
            stats.failed += 1
            return
        await self._settle(item, attempt, state=OutboxState.PENDING, channel=sms,
                           retries=failures, last_error=result.error,
                           next_attempt_at=now + timedelta(seconds=policy.backoff(failures)))
        stats.retried += 1

    async def _no_sms_reason(self, item: OutboxItem) -> str | None:
        """Why this message cannot go by SMS (no phone; the policy keeps its kind off SMS)."""
        if not item.phone:
            return "no phone for SMS"
        async with self._sf() as session:
            return await no_sms_reason(session, item.kind)

    async def _settle(
        self, item: OutboxItem, attempt: tuple[Channel, bool, str | None, str | None] | None,
        *, count_attempt: bool = True, **values: object,
    ) -> None:
        async with self._sf() as session, session.begin():
            if attempt is not None:
                channel, ok, message_id, error = attempt
                record_attempt(session, item.id, channel=channel, ok=ok,
                               provider_message_id=message_id, error=error, now=self._now())
            held = await settle(session, item.id, worker_id=self.worker_id,
                                count_attempt=count_attempt and attempt is not None, **values)
        if not held:
            logger.warning("outbox %s: lease lost before the result was recorded", item.id)

    def _lease_left(self, item: OutboxItem) -> bool:
        until = self._held.get(item.id, item.lease_until)
        left = (until - self._now()).total_seconds()
        return left > self.policy.send_margin

    async def _release(self, item: OutboxItem) -> None:
        """Give back a claimed message that was never sent (stop or cancel)."""
        with contextlib.suppress(Exception):
            await self._settle(item, None, count_attempt=False, state=OutboxState.PENDING)
