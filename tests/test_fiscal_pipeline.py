"""The fiscal pipeline (bot.fiscalization.Fiscalizer) against the Checkbox emulator over real
HTTP: payments recorded first, fiscalized exactly once, whatever the PRRO or the network does.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.usecases.fiscalize import Fiscalizer, FiscalPolicy, RunStats, build_sell_receipt
from db.desk.models import Role, Staff
from db.fiscal import queue
from db.fiscal.queue import FiscalJob, FiscalKind, JobLine, JobPayment
from db.money.amounts import line_amount
from db.money.cash import service_cash
from db.money.drawer import drawer_balance
from db.money.errors import NotRefundable
from db.money.models import (
    CashMove,
    FiscalState,
    Payment,
    PaymentKind,
    PaymentType,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    ReceiptStatus,
    Shift,
)
from db.money.payments import PayPart, pay_receipt
from db.money.refunds import refund
from db.money.shifts import current_shift
from fiscal import CheckboxProvider, NoneProvider
from tests.emulators.checkbox import CheckboxEmulator, _Fault
from tests.factories import make_staff
from tests.test_money_support import T0, card_type, cash_type, receipt_for

LICENSE = "lic-fiscal-1"
PIN = "2468"
TIMEOUT = 0.3  # the client timeout of the tests about timeouts, and only of those
# Every other test's client waits this long: a loaded CI machine can stall a local answer past
# a short timeout, and the run then counts a transient failure that the test did not inject.
PATIENT = 30.0
LATER = timedelta(hours=1)  # past any backoff


# -- shared kit (also used by test_fiscal_jobs and test_handlers_fiscal) --------------------------

@dataclass
class RecordingNotifier:
    failed: list[tuple[FiscalJob, str]] = field(default_factory=list)
    unavailable: list[tuple[str, bool]] = field(default_factory=list)

    async def fiscal_failed(self, job: FiscalJob, error: str) -> None:
        self.failed.append((job, error))

    async def provider_unavailable(self, error: str, *, auth: bool) -> None:
        self.unavailable.append((error, auth))


def make_provider(url: str, **overrides: Any) -> CheckboxProvider:
    kwargs: dict[str, Any] = {"api_url": url, "license_key": LICENSE, "pin_code": PIN,
                              "client_version": "1.0.0", "timeout": PATIENT,
                              "poll_interval": 0.001, "poll_attempts": 5}
    kwargs.update(overrides)
    return CheckboxProvider(**kwargs)


FAST = FiscalPolicy(batch_size=20, backoff_base=5.0, max_consecutive_transient=3)


@pytest.fixture
def emu() -> CheckboxEmulator:
    return CheckboxEmulator(license_key=LICENSE, pin_code=PIN, receipt_polls=1, shift_polls=1)


@pytest.fixture
async def emu_url(emu: CheckboxEmulator) -> AsyncIterator[str]:
    async with emu.serve() as url:
        yield url


@pytest.fixture
async def provider(emu_url: str) -> AsyncIterator[CheckboxProvider]:
    async with make_provider(emu_url) as p:
        yield p


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def fiscalizer(session_factory: async_sessionmaker[AsyncSession], provider: CheckboxProvider,
               notifier: RecordingNotifier) -> Fiscalizer:
    return Fiscalizer(session_factory, provider, clock=lambda: T0, policy=FAST,
                      notifier=notifier)


async def paid_sale(
    session_factory: async_sessionmaker[AsyncSession], price: int = 25000, *,
    parts: list[tuple[str, int, int | None]] | None = None, quantity: int = 1000,
    actor: Staff | None = None, name: str = "Заміна екрана",
) -> Receipt:
    """A committed, paid quick sale waiting for the PRRO (fiscal=True)."""
    async with session_factory() as session, session.begin():
        actor = actor or await make_staff(session, Role.MASTER)
        receipt = await receipt_for(session, actor, price, quantity=quantity, name=name)
        types = {"cash": await cash_type(session), "card": await card_type(session)}
        total = receipt.total
        pay = [PayPart(types[k].id, a, r) for k, a, r in (parts or [("cash", total, None)])]
        result = await pay_receipt(session, actor, receipt.id, pay, now=T0, fiscal=True)
        return result.receipt


async def row(session_factory: async_sessionmaker[AsyncSession], model: Any, row_id: int) -> Any:
    async with session_factory() as session:
        return await session.get(model, row_id)


# -- the happy path and the wire ------------------------------------------------------------------

async def test_sale_is_fiscalized_with_the_stored_id(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    receipt = await paid_sale(session_factory, 25000,
                              parts=[("cash", 15000, 20000), ("card", 10000, None)])
    stats = await fiscalizer.run_once()

    assert (stats.claimed, stats.done, stats.posts, stats.shifts_opened) == (1, 1, 1, 1)
    stored = await row(session_factory, Receipt, receipt.id)
    assert stored.fiscal_state == FiscalState.DONE
    assert stored.fiscal_code and stored.fiscal_code.startswith("TEST-")
    assert stored.tax_url and "cabinet.tax.gov.ua" in stored.tax_url
    assert stored.fiscal_date is not None and stored.fiscal_attempts == 1
    # the shift was opened before the first sale, and the sale went under the stored UUID
    paths = [(r.method, r.path) for r in emu.requests]
    assert paths.index(("POST", "/shifts")) < paths.index(("POST", "/receipts/sell"))
    sell = emu.requests_to("POST", "/receipts/sell")[0]
    assert sell.json == {
        "id": receipt.fiscal_id,
        "goods": [{"good": {"code": "FREE", "name": "Заміна екрана", "price": 25000},
                   "quantity": 1000}],
        "payments": [{"type": "CASH", "value": 20000, "label": "Готівка"},
                     {"type": "CASHLESS", "value": 10000, "label": "Картка"}],
    }
    assert sell.headers["X-License-Key"] == LICENSE and sell.headers["X-Client-Name"]
    assert sell.headers["Authorization"].startswith("Bearer ")
    served = emu.receipts[receipt.fiscal_id]
    assert served["total_sum"] == 25000 and served["total_rest"] == 5000  # change 50,00
    assert served["fiscal_code"] == stored.fiscal_code
    assert emu.fiscalized[receipt.fiscal_id] == 1


async def test_quantities_in_thousandths(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    receipt = await paid_sale(session_factory, 1001, quantity=1500)  # 15,015 → 15,02
    await fiscalizer.run_once()
    body = emu.requests_to("POST", "/receipts/sell")[0].json
    assert body["goods"][0]["quantity"] == 1500 and body["goods"][0]["good"]["price"] == 1001
    assert emu.receipts[receipt.fiscal_id]["total_sum"] == receipt.total == 1502


async def test_nothing_due_nothing_sent(fiscalizer: Fiscalizer, emu: CheckboxEmulator) -> None:
    stats = await fiscalizer.run_once()
    assert stats.claimed == 0 and emu.requests == []


async def test_none_provider_leaves_the_queue_alone(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    receipt = await paid_sale(session_factory)
    stats = await Fiscalizer(session_factory, NoneProvider(), clock=lambda: T0).run_once()
    assert stats.claimed == 0
    assert (await row(session_factory, Receipt, receipt.id)).fiscal_state == FiscalState.PENDING


# -- transient faults: stay pending, then read by the same id, post again only if unknown ---------

async def test_5xx_stays_pending_then_reads_before_posting(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    receipt = await paid_sale(session_factory)
    emu.open_shift_now()
    emu.fail_next("/receipts/sell", status=502)
    stats = await fiscalizer.run_once()
    assert (stats.transient, stats.done) == (1, 0)
    pending = await row(session_factory, Receipt, receipt.id)
    assert pending.fiscal_state == FiscalState.PENDING and pending.fiscal_attempts == 1
    assert pending.fiscal_updated_at == T0 + FAST.backoff(1)  # backoff, not due yet

    assert (await fiscalizer.run_once()).claimed == 0  # still backing off
    emu.requests.clear()
    stats = await fiscalizer.run_once(T0 + LATER)
    assert (stats.reads, stats.posts, stats.done) == (1, 1, 1)
    receipt_calls = [r for r in emu.requests if r.path.startswith("/receipts")]
    assert [(r.method, r.path, r.status) for r in receipt_calls[:2]] == [
        ("GET", f"/receipts/{receipt.fiscal_id}", 404),
        ("POST", "/receipts/sell", 201),
    ]
    assert emu.fiscalized[receipt.fiscal_id] == 1
    assert (await row(session_factory, Receipt, receipt.id)).fiscal_state == FiscalState.DONE


async def test_lost_response_after_the_sale_is_found_not_resent(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    receipt = await paid_sale(session_factory)
    emu.open_shift_now()
    emu.lose_response_next("/receipts/sell")  # made at Checkbox, the answer never arrives
    stats = await fiscalizer.run_once()
    assert stats.transient == 1 and emu.fiscalized[receipt.fiscal_id] == 1

    stats = await fiscalizer.run_once(T0 + LATER)
    assert (stats.reads, stats.adopted, stats.posts, stats.done) == (1, 1, 0, 1)
    assert emu.post_attempts[receipt.fiscal_id] == 1
    assert emu.fiscalized[receipt.fiscal_id] == 1
    stored = await row(session_factory, Receipt, receipt.id)
    assert stored.fiscal_state == FiscalState.DONE
    assert stored.fiscal_code == emu.receipts[receipt.fiscal_id]["fiscal_code"]


async def test_timeout_after_the_sale_is_found_not_resent(
    session_factory: async_sessionmaker[AsyncSession], emu: CheckboxEmulator, emu_url: str,
) -> None:
    receipt = await paid_sale(session_factory)
    emu.open_shift_now()
    emu.delay_next("/receipts/sell", TIMEOUT * 2)  # processed, then too slow to answer
    async with make_provider(emu_url, timeout=TIMEOUT) as provider:
        fiscalizer = Fiscalizer(session_factory, provider, clock=lambda: T0, policy=FAST)
        assert (await fiscalizer.run_once()).transient == 1
        stats = await fiscalizer.run_once(T0 + LATER)
    assert (stats.adopted, stats.posts) == (1, 0)
    assert emu.post_attempts[receipt.fiscal_id] == 1 and emu.fiscalized[receipt.fiscal_id] == 1


async def test_still_processing_at_checkbox_stays_pending(
    session_factory: async_sessionmaker[AsyncSession], emu: CheckboxEmulator, emu_url: str,
) -> None:
    emu.receipt_polls = 50  # Checkbox keeps it CREATED longer than the provider polls
    receipt = await paid_sale(session_factory)
    async with make_provider(emu_url, poll_attempts=2) as provider:
        fz = Fiscalizer(session_factory, provider, clock=lambda: T0, policy=FAST)
        assert (await fz.run_once()).transient == 1
        assert (await fz.run_once(T0 + LATER)).transient == 1  # read: still CREATED
        emu.receipt_polls = 0
        stats = await fz.run_once(T0 + 2 * LATER)
    assert (stats.adopted, stats.posts) == (1, 0)
    assert emu.fiscalized[receipt.fiscal_id] == 1


async def test_crash_after_claim_is_recovered_by_reading(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    receipt = await paid_sale(session_factory)
    async with session_factory() as session, session.begin():  # a worker claims and dies
        assert len(await queue.claim_due(session, T0, lease=FAST.lease)) == 1
    leased = T0 + FAST.lease - timedelta(seconds=1)
    assert (await fiscalizer.run_once(leased)).claimed == 0
    stats = await fiscalizer.run_once(T0 + FAST.lease + timedelta(seconds=1))
    assert (stats.reads, stats.posts, stats.done) == (1, 1, 1)
    assert emu.fiscalized[receipt.fiscal_id] == 1


async def test_outage_stops_the_run_and_keeps_everything(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    receipts = [await paid_sale(session_factory, 1000 + i) for i in range(6)]
    emu.open_shift_now()
    emu.fail_next("/receipts/sell", times=100, status=503)
    stats = await fiscalizer.run_once()
    assert stats.stopped_early and stats.transient == FAST.max_consecutive_transient
    assert stats.released == 6 - FAST.max_consecutive_transient  # given back, not lost
    emu._faults.clear()
    stats = await fiscalizer.run_once(T0 + LATER)
    assert stats.done == 6
    assert all(emu.fiscalized[r.fiscal_id] == 1 for r in receipts)


# -- refusals: stored, staff told, retried by staff -----------------------------------------------

async def test_error_status_is_stored_and_staff_told_then_retried(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator, notifier: RecordingNotifier,
) -> None:
    receipt = await paid_sale(session_factory)
    emu.force_error(receipt.fiscal_id, "Помилка ДПС: невірний код товару")
    stats = await fiscalizer.run_once()
    assert stats.errors == 1
    failed = await row(session_factory, Receipt, receipt.id)
    assert failed.fiscal_state == FiscalState.ERROR
    assert failed.fiscal_error == "Помилка ДПС: невірний код товару"
    [(job, text)] = notifier.failed
    assert job.row_id == receipt.id and job.staff_id == receipt.paid_by_id and "ДПС" in text

    # not retried on its own
    assert (await fiscalizer.run_once(T0 + LATER)).claimed == 0
    async with session_factory() as session, session.begin():
        assert await queue.request_retry(session, FiscalKind.RECEIPT, receipt.id, T0)
        assert not await queue.request_retry(session, FiscalKind.RECEIPT, receipt.id, T0)
    stats = await fiscalizer.run_once(T0 + LATER)
    # the old receipt is read (ERROR, no fiscal number) and the sale goes again under a new id
    assert (stats.reads, stats.reissued, stats.posts, stats.done) == (1, 1, 1, 1)
    done = await row(session_factory, Receipt, receipt.id)
    assert done.fiscal_state == FiscalState.DONE and done.fiscal_error is None
    assert done.fiscal_id != receipt.fiscal_id
    assert emu.receipts[receipt.fiscal_id]["status"] == "ERROR"
    assert emu.fiscalized[done.fiscal_id] == 1
    done_ids = [rid for rid, r in emu.receipts.items() if r["status"] == "DONE"]
    assert done_ids == [done.fiscal_id]  # exactly one fiscal receipt for the payment


async def test_retry_of_a_refused_post_keeps_the_id(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator, notifier: RecordingNotifier,
) -> None:
    receipt = await paid_sale(session_factory)
    emu.open_shift_now()
    emu.fail_next("/receipts/sell", status=400, body={"message": "Касу заблоковано"})
    assert (await fiscalizer.run_once()).errors == 1
    assert "Касу заблоковано" in notifier.failed[0][1]
    async with session_factory() as session, session.begin():
        await queue.request_retry(session, FiscalKind.RECEIPT, receipt.id, T0)
    stats = await fiscalizer.run_once(T0 + LATER)
    assert (stats.reads, stats.reissued, stats.done) == (1, 0, 1)
    assert (await row(session_factory, Receipt, receipt.id)).fiscal_id == receipt.fiscal_id


async def test_retry_finds_it_done_after_all(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    """A refusal recorded although Checkbox made the receipt (e.g. an odd 4xx on the way back):
    the retry reads it and keeps it, no second sale."""
    receipt = await paid_sale(session_factory)
    await fiscalizer.run_once()
    async with session_factory() as session, session.begin():
        stored = await session.get(Receipt, receipt.id)
        stored.fiscal_state, stored.fiscal_error = FiscalState.ERROR, "odd answer"
    async with session_factory() as session, session.begin():
        await queue.request_retry(session, FiscalKind.RECEIPT, receipt.id, T0)
    stats = await fiscalizer.run_once(T0 + LATER)
    assert (stats.adopted, stats.posts) == (1, 0)
    assert emu.fiscalized[receipt.fiscal_id] == 1


async def test_data_that_cannot_make_a_receipt_is_an_error_without_a_call(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator, notifier: RecordingNotifier,
) -> None:
    receipt = await paid_sale(session_factory)
    async with session_factory() as session, session.begin():
        await session.execute(update(ReceiptLine).where(ReceiptLine.receipt_id == receipt.id)
                              .values(name=""))
    assert (await fiscalizer.run_once()).errors == 1
    assert emu.requests == []
    assert notifier.failed[0][1].startswith("invalid receipt data")


async def test_expired_token_signs_in_again(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    first = await paid_sale(session_factory)
    await fiscalizer.run_once()
    emu.expire_tokens()
    second = await paid_sale(session_factory)
    assert (await fiscalizer.run_once()).done == 1
    assert emu.count("POST", "/cashier/signinPinCode") == 2
    assert emu.fiscalized[first.fiscal_id] == emu.fiscalized[second.fiscal_id] == 1


async def test_wrong_pin_keeps_receipts_pending_and_tells_owners(
    session_factory: async_sessionmaker[AsyncSession], emu_url: str,
    notifier: RecordingNotifier,
) -> None:
    receipt = await paid_sale(session_factory)
    async with make_provider(emu_url, pin_code="0000") as provider:
        stats = await Fiscalizer(session_factory, provider, clock=lambda: T0, policy=FAST,
                                 notifier=notifier).run_once()
    assert stats.stopped_early and stats.errors == 0
    assert (await row(session_factory, Receipt, receipt.id)).fiscal_state == FiscalState.PENDING
    assert notifier.unavailable and notifier.unavailable[0][1] is True


async def test_shift_closed_behind_our_back_is_reopened_and_the_sale_resent(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator, provider: CheckboxProvider, monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await paid_sale(session_factory)
    second = await paid_sale(session_factory)
    sell = provider.sell
    closed: list[bool] = []

    async def closing_sell(receipt: Any) -> Any:
        if str(receipt.id) == second.fiscal_id and not closed:
            closed.append(bool(emu.close_shift_now()))  # a Z from another device, mid-run
        return await sell(receipt)

    monkeypatch.setattr(provider, "sell", closing_sell)
    stats = await fiscalizer.run_once()
    assert stats.done == 2 and stats.shifts_opened == 2 and emu.count("POST", "/shifts") == 2
    sells = emu.requests_to("POST", "/receipts/sell")
    assert [(r.json["id"], r.status) for r in sells] == [
        (first.fiscal_id, 201), (second.fiscal_id, 400), (second.fiscal_id, 201)]
    assert emu.fiscalized[second.fiscal_id] == 1


# -- refunds and service cash ---------------------------------------------------------------------

async def test_refund_waits_for_its_sale_and_points_at_it(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    sale = await paid_sale(session_factory, 30000, parts=[("card", 30000, None)])
    async with session_factory() as session, session.begin():
        owner = await make_staff(session, Role.OWNER)
        result = await refund(session, owner, sale.id, None,
                              (await card_type(session)).id, now=T0 + timedelta(minutes=5),
                              fiscal=True)
        refund_id = result.receipt.id
    emu.open_shift_now()
    emu.fail_next("/receipts/sell", status=500)  # the sale's first try fails
    stats = await fiscalizer.run_once()
    assert stats.claimed == 1  # the refund is not even claimed while its sale is pending
    stats = await fiscalizer.run_once(T0 + LATER)
    assert stats.done == 2
    stored = await row(session_factory, Receipt, refund_id)
    assert stored.fiscal_state == FiscalState.DONE
    body = emu.requests_to("POST", "/receipts/sell")[-1].json
    assert body["related_receipt_id"] == sale.fiscal_id
    assert body["goods"][0]["is_return"] is True
    assert body["payments"] == [{"type": "CASHLESS", "value": 30000, "label": "Картка"}]
    assert emu.receipts[stored.fiscal_id]["type"] == "RETURN"


async def test_a_refund_of_a_refused_sale_waits_and_is_not_due(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    sale = await paid_sale(session_factory, 30000, parts=[("card", 30000, None)])
    async with session_factory() as session, session.begin():
        owner = await make_staff(session, Role.OWNER)
        back = await refund(session, owner, sale.id, None, (await card_type(session)).id,
                            now=T0, fiscal=True)
    emu.force_error(sale.fiscal_id)
    assert (await fiscalizer.run_once()).errors == 1
    async with session_factory() as session:
        assert await queue.next_due_at(session) is None  # the retry loop has nothing to wait for
        assert (await queue.backlog(session)).pending == 1
    async with session_factory() as session, session.begin():
        await queue.request_retry(session, FiscalKind.RECEIPT, sale.id, T0)
    assert (await fiscalizer.run_once(T0 + LATER)).done == 2  # the sale, then its refund
    assert (await row(session_factory, Receipt, back.receipt.id)).fiscal_state == \
        FiscalState.DONE


async def test_service_cash_in_and_out(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator,
) -> None:
    async with session_factory() as session, session.begin():
        owner = await make_staff(session, Role.OWNER)
        cash_in = await service_cash(session, owner, 50000, "Размен", now=T0, fiscal=True)
        cash_out = await service_cash(session, owner, -20000, "Инкассация",
                                      now=T0 + timedelta(minutes=1), fiscal=True)
    assert (await fiscalizer.run_once(T0 + LATER)).done == 2
    bodies = [r.json for r in emu.requests_to("POST", "/receipts/service")]
    assert bodies == [
        {"id": cash_in.fiscal_id, "payment": {"type": "CASH", "value": 50000}},
        {"id": cash_out.fiscal_id, "payment": {"type": "CASH", "value": -20000}},
    ]
    for move in (cash_in, cash_out):
        assert (await row(session_factory, CashMove, move.id)).fiscal_state == FiscalState.DONE


def test_rounding_difference_becomes_a_discount_or_extra_charge() -> None:
    def job(total: int, kind: ReceiptKind = ReceiptKind.SALE) -> FiscalJob:
        return FiscalJob(
            kind=FiscalKind.RECEIPT, row_id=1, fiscal_id=str(uuid.uuid4()), attempts=1,
            retry_requested=False, at=T0, staff_id=None, receipt_kind=kind, total=total,
            lines=(JobLine("SRV", "Робота", 1, 1500, total),),
            payments=(JobPayment(PaymentKind.CASH, total, total, "Готівка"),),
            related_fiscal_id=str(uuid.uuid4()) if kind == ReceiptKind.REFUND else None,
        )

    assert build_sell_receipt(job(2), uuid.uuid4()).discounts == ()
    less = build_sell_receipt(job(1, ReceiptKind.REFUND), uuid.uuid4())  # 1.5 kop → 2 at PRRO
    assert [(d.type, d.value) for d in less.discounts] == [("DISCOUNT", 1)]
    assert less.total == 1 and less.related_receipt_id is not None
    more = build_sell_receipt(job(3), uuid.uuid4())
    assert [(d.type, d.value) for d in more.discounts] == [("EXTRA_CHARGE", 1)]


# -- concurrency ----------------------------------------------------------------------------------

def _start_together(workers: list[Fiscalizer], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker handles its first claimed item only once every worker has claimed (after
    the claim's commit). Without it, on SQLite one worker's quick claims may take everything
    while the other's BEGIN IMMEDIATE sleeps in its busy wait: whether both take part would
    depend on the load. After the start they race freely."""
    start = asyncio.Barrier(len(workers))
    for worker in workers:
        monkeypatch.setattr(worker, "_process", _after(start, worker._process))


def _after(start: asyncio.Barrier, process: Any) -> Any:
    """`process` whose first call waits at `start`."""
    waiting = [start]

    async def together(*args: Any, **kwargs: Any) -> str:
        if waiting:
            await waiting.pop().wait()
        return await process(*args, **kwargs)

    return together


async def test_two_workers_never_send_one_receipt_twice(
    session_factory: async_sessionmaker[AsyncSession], emu: CheckboxEmulator, emu_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receipts = [await paid_sale(session_factory, 100 + i) for i in range(40)]
    emu.open_shift_now()
    policy = FiscalPolicy(batch_size=5)
    async with make_provider(emu_url) as p1, make_provider(emu_url) as p2:
        workers = [Fiscalizer(session_factory, p, clock=lambda: T0, policy=policy)
                   for p in (p1, p2)]
        _start_together(workers, monkeypatch)
        results = await asyncio.gather(*(w.run_once() for w in workers))
    assert sum(r.done for r in results) == 40
    assert all(r.done > 0 for r in results)  # both really worked
    assert all(emu.post_attempts[r.fiscal_id] == 1 for r in receipts)
    assert sum(emu.fiscalized.values()) == 40


async def test_run_forever_wakes_on_the_event_and_stops(
    session_factory: async_sessionmaker[AsyncSession], fiscalizer: Fiscalizer,
    emu: CheckboxEmulator, emu_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Idle for an hour unless woken; no client timeout on a slow (loaded) machine.
    fiscalizer.policy = FiscalPolicy(poll_interval=3600)
    cycles: asyncio.Queue[RunStats] = asyncio.Queue()
    run_once = fiscalizer.run_once

    async def counted_run_once(*args: Any, **kwargs: Any) -> RunStats:
        stats = await run_once(*args, **kwargs)
        cycles.put_nowait(stats)
        return stats

    monkeypatch.setattr(fiscalizer, "run_once", counted_run_once)  # to see each cycle end
    stop, wakeup = asyncio.Event(), asyncio.Event()
    async with make_provider(emu_url, timeout=PATIENT) as patient:
        fiscalizer.provider = patient
        task = asyncio.create_task(fiscalizer.run_forever(stop, wakeup))
        assert (await cycles.get()).claimed == 0  # the first cycle found nothing: now idle
        receipt = await paid_sale(session_factory)
        wakeup.set()
        assert await emu.wait_fiscalized(receipt.fiscal_id) == 1
        stop.set()
        await asyncio.wait_for(task, 30)  # woken by `stop`; the bound only stops a hang
    assert (await row(session_factory, Receipt, receipt.id)).fiscal_state == FiscalState.DONE
    assert emu.fiscalized[receipt.fiscal_id] == 1


# -- 1,000 payments under random faults -----------------------------------------------------------

class ChaosEmulator(CheckboxEmulator):
    """Injects faults at random (seeded) on receipt and shift calls while `chaos` is on."""

    def __init__(self, rng: random.Random, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rng = rng
        self.chaos = True
        self.injected: Counter[str] = Counter()

    def _take_fault(self, method: str, rel: str, template: str | None, body: Any
                    ) -> _Fault | None:
        planned = super()._take_fault(method, rel, template, body)
        if planned is not None or not self.chaos:
            return planned
        roll = self.rng.random()
        if method == "POST" and rel in ("/receipts/sell", "/receipts/service"):
            return self._post_fault(rel, roll)
        if method == "GET" and template == "/receipts/{receipt_id}":
            return self._read_fault(rel, roll)
        if method == "GET" and rel == "/cashier/shift" and roll < 0.05:
            self.injected["shift read 5xx"] += 1
            return _Fault("fail", rel, None, 1, status=503)
        return None

    def _post_fault(self, rel: str, roll: float) -> _Fault | None:
        if roll < 0.04:
            self.injected["post 5xx"] += 1
            return _Fault("fail", rel, None, 1, status=self.rng.choice([500, 502, 503]))
        if roll < 0.07:
            self.injected["post answer lost"] += 1
            return _Fault("lose", rel, None, 1)
        if roll < 0.085:
            self.injected["post timeout"] += 1
            return _Fault("delay", rel, None, 1, seconds=CHAOS_TIMEOUT * 1.5)
        if roll < 0.095:
            self.injected["token expired"] += 1
            self.expire_tokens()
        elif roll < 0.1:
            self.injected["shift closed"] += 1
            self.close_shift_now()
        return None

    def _read_fault(self, rel: str, roll: float) -> _Fault | None:
        if roll < 0.10:
            self.injected["read 5xx"] += 1
            return _Fault("fail", rel, None, 1, status=500)
        if roll < 0.15:
            self.injected["read answer lost"] += 1
            return _Fault("lose", rel, None, 1)
        return None


CHAOS_TIMEOUT = 0.1
N_PAYMENTS = 1000


async def _make_payments(session_factory: async_sessionmaker[AsyncSession],
                         rng: random.Random) -> tuple[list[int], list[int], list[int]]:
    """~85 % sales (cash with change, card, split), ~10 % refunds, ~5 % service cash.

    Refunds, service cash and every 10th sale go through the domain operations; the other
    sales are written directly in the exact state db.money.payments.pay_receipt leaves them in
    (paid, `pending`, a fresh UUID, payment rows with received/change) — only to keep the
    test fast: what is tested here is what happens after the commit."""
    async with session_factory() as session, session.begin():
        owner = await make_staff(session, Role.OWNER)
        master = await make_staff(session, Role.MASTER)
        maker = _PaymentMaker(rng, await cash_type(session), await card_type(session))
    made = 0
    at = T0
    while made < N_PAYMENTS:
        async with session_factory() as session, session.begin():
            batch = _Batch(session, await session.get(Staff, owner.id),
                           await session.get(Staff, master.id), at)
            for _ in range(min(50, N_PAYMENTS - made)):
                batch.at += timedelta(seconds=20)
                made += 1
                await maker.one(batch, made)
            at = batch.at
            await session.flush()
            maker.sales.extend(r.id for r in batch.direct)
    return maker.sales, maker.refunds, maker.moves


@dataclass
class _Batch:
    """One transaction of _make_payments: its session, actors and the sales written directly."""

    session: AsyncSession
    owner: Staff | None
    master: Staff | None
    at: datetime  # when the current payment happens
    direct: list[Receipt] = field(default_factory=list)
    shift: Shift | None = None


@dataclass
class _PaymentMaker:
    """Draws the payments of _make_payments from `rng` (one fixed sequence for a seed)."""

    rng: random.Random
    cash: PaymentType
    card: PaymentType
    sales: list[int] = field(default_factory=list)
    refunds: list[int] = field(default_factory=list)
    moves: list[int] = field(default_factory=list)

    async def one(self, batch: _Batch, made: int) -> None:
        roll = self.rng.random()
        if roll < 0.10 and self.sales and await self._refund(batch):
            return
        if roll > 0.95 and await self._service_cash(batch):
            return
        await self._sale(batch, made)

    async def _refund(self, batch: _Batch) -> bool:
        assert batch.owner is not None
        try:
            async with batch.session.begin_nested():
                result = await refund(batch.session, batch.owner, self.rng.choice(self.sales),
                                      None, self.card.id, now=batch.at, fiscal=True)
        except NotRefundable:  # already fully refunded: make a sale instead
            return False
        self.refunds.append(result.receipt.id)
        return True

    async def _service_cash(self, batch: _Batch) -> bool:
        assert batch.owner is not None
        amount = self.rng.choice([10000, 20000, -5000])
        if amount < 0 and await drawer_balance(batch.session) <= 100 * -amount:
            return False
        move = await service_cash(batch.session, batch.owner, amount, "Розмін", now=batch.at,
                                  fiscal=True)
        self.moves.append(move.id)
        return True

    def _parts(self, total: int) -> list[tuple[PaymentType, int, int | None]]:
        kind = self.rng.random()
        if kind < 0.5:
            return [(self.cash, total, total + self.rng.choice([0, 0, 1550, 10000]))]
        if kind < 0.85 or total < 2:
            return [(self.card, total, None)]
        return [(self.card, total // 2, None), (self.cash, total - total // 2, None)]

    async def _sale(self, batch: _Batch, made: int) -> None:
        assert batch.master is not None
        price = self.rng.randint(100, 500000)
        quantity = self.rng.choice([1000, 1000, 1000, 2000, 1500])
        total = line_amount(price, quantity)
        parts = self._parts(total)
        if made % 10 == 1:
            receipt = await receipt_for(batch.session, batch.master, price, quantity=quantity)
            await pay_receipt(batch.session, batch.master, receipt.id,
                              [PayPart(t.id, a, r) for t, a, r in parts], now=batch.at,
                              fiscal=True)
            self.sales.append(receipt.id)
            return
        if batch.shift is None:
            batch.shift = await current_shift(batch.session)
            assert batch.shift is not None
        receipt = _direct_sale(batch, price, quantity, total, parts)
        batch.session.add(receipt)
        batch.direct.append(receipt)


def _direct_sale(batch: _Batch, price: int, quantity: int, total: int,
                 parts: list[tuple[PaymentType, int, int | None]]) -> Receipt:
    """A sale in the exact state pay_receipt leaves it in (see _make_payments)."""
    at, master, shift = batch.at, batch.master, batch.shift
    assert master is not None and shift is not None
    change = sum((r - a) if r is not None else 0 for _t, a, r in parts)
    return Receipt(
        kind=ReceiptKind.SALE, status=ReceiptStatus.PAID, total=total, change=change,
        created_at=at, created_by_id=master.id, paid_at=at, paid_by_id=master.id,
        shift_id=shift.id, fiscal_id=str(uuid.uuid4()),
        fiscal_state=FiscalState.PENDING, fiscal_attempts=0, fiscal_updated_at=at,
        lines=[ReceiptLine(code="SRV", name="Ремонт", price=price,
                           quantity=quantity, amount=total)],
        payments=[Payment(payment_type_id=t.id, kind=t.kind, amount=a,
                          received=(r if r is not None else a)
                          if t.kind == PaymentKind.CASH else None,
                          change=(r - a) if r is not None else 0,
                          staff_id=master.id, created_at=at, shift_id=shift.id)
                  for t, a, r in parts])


async def test_thousand_payments_under_random_faults_fiscalized_exactly_once(
    session_factory: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    rng = random.Random(20260302)
    emu = ChaosEmulator(rng, license_key=LICENSE, pin_code=PIN, receipt_polls=0,
                        shift_polls=1)
    started, cpu = time.perf_counter(), time.process_time()
    sales, refunds, moves = await _make_payments(session_factory, rng)
    created = time.perf_counter() - started
    forced = rng.sample(sales, 10)
    async with session_factory() as session:
        forced_ids = {r.id: r.fiscal_id for r in await session.scalars(
            select(Receipt).where(Receipt.id.in_(forced)))}
    for fiscal_id in forced_ids.values():
        emu.force_error(fiscal_id, "Помилка ДПС (тест)")

    total = RunStats()
    async with emu.serve() as url, make_provider(url, timeout=CHAOS_TIMEOUT) as provider:
        fz = Fiscalizer(session_factory, provider, policy=FiscalPolicy(batch_size=25))
        now = T0 + timedelta(days=1)
        # the PRRO misbehaves for a while...
        for _ in range(6):
            total.add(await fz.run_once(now))
            now += LATER
        # ...then recovers; staff press "Повторить" on what it refused
        emu.chaos = False
        for _ in range(20):
            total.add(await fz.run_once(now))
            now += LATER
            async with session_factory() as session, session.begin():
                for item in await queue.failed_items(session, limit=N_PAYMENTS):
                    await queue.request_retry(session, item.kind, item.row_id, now)
                left = await queue.backlog(session)
            if not left.pending and not left.errors:
                break
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu

    async with session_factory() as session:
        receipts = list(await session.scalars(select(Receipt)))
        cash_moves = list(await session.scalars(select(CashMove)))
    items = [*receipts, *cash_moves]
    assert len(items) == N_PAYMENTS == len(sales) + len(refunds) + len(moves)
    served = emu.receipts
    assert Counter(i.fiscal_state for i in items) == {FiscalState.DONE: N_PAYMENTS}
    for item in items:
        assert emu.fiscalized[item.fiscal_id] == 1, item.id
        doc = served[item.fiscal_id]
        assert doc["status"] == "DONE" and doc["fiscal_code"] == item.fiscal_code
        expected = abs(item.amount) if isinstance(item, CashMove) else item.total
        assert doc["total_sum"] == expected
    by_id = {r.id: r for r in receipts}
    for refund_id in refunds:
        assert served[by_id[refund_id].fiscal_id]["related_receipt_id"] == \
            by_id[by_id[refund_id].related_receipt_id].fiscal_id
    # exactly one fiscal receipt per payment, the refused ones stay refused at Checkbox
    done_docs = [rid for rid, doc in served.items() if doc["status"] == "DONE"]
    assert len(done_docs) == N_PAYMENTS
    assert sorted(rid for rid, doc in served.items() if doc["status"] == "ERROR") == \
        sorted(forced_ids.values())
    assert all(by_id[i].fiscal_id != fid for i, fid in forced_ids.items())  # reissued
    print(f"\n1000 payments: created in {created:.1f}s, total {elapsed:.1f}s ({cpu:.1f}s CPU); "
          f"faults {dict(emu.injected)} (+{len(forced)} ERROR); "
          f"runs: posts={total.posts} reads={total.reads} adopted={total.adopted} "
          f"transient={total.transient} errors={total.errors} reissued={total.reissued} "
          f"shifts_opened={total.shifts_opened} released={total.released}")
    assert sum(emu.injected.values()) > 50  # the faults really happened



# -- leases and the heartbeat ------------------------------------------------------------------

class HeldProvider(CheckboxProvider):
    """Checkbox, with each sale held at the door until `go` is set (a send in progress)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entered = asyncio.Event()
        self.go = asyncio.Event()

    async def sell(self, receipt: Any) -> Any:
        self.entered.set()
        await self.go.wait()
        return await super().sell(receipt)


def held_provider(url: str) -> HeldProvider:
    return HeldProvider(api_url=url, license_key=LICENSE, pin_code=PIN, client_version="1.0.0",
                        timeout=PATIENT, poll_interval=0.001, poll_attempts=5)


def test_the_default_lease_lets_a_dead_workers_items_go_within_a_minute() -> None:
    policy = FiscalPolicy()
    assert policy.lease <= timedelta(seconds=45) and policy.heartbeat * 3 < 45


async def test_a_live_workers_heartbeat_keeps_its_item(
    session_factory: async_sessionmaker[AsyncSession], provider: CheckboxProvider,
    emu: CheckboxEmulator, emu_url: str,
) -> None:
    receipt = await paid_sale(session_factory)
    now = [T0]
    held = held_provider(emu_url)
    live = Fiscalizer(session_factory, held, clock=lambda: now[0], policy=FAST)
    try:
        run = asyncio.create_task(live.run_once())
        await asyncio.wait_for(held.entered.wait(), 30)  # claimed at T0, sending
        assert (await row(session_factory, Receipt, receipt.id)).fiscal_updated_at \
            == T0 + FAST.lease
        now[0] = T0 + timedelta(seconds=30)
        await live.heartbeat()
        assert live.last_beat == now[0]
        assert (await row(session_factory, Receipt, receipt.id)).fiscal_updated_at \
            == now[0] + FAST.lease
        other = Fiscalizer(session_factory, provider, clock=lambda: T0 + timedelta(seconds=60),
                           policy=FAST)
        assert (await other.run_once()).claimed == 0  # past the first lease, still held
        held.go.set()
        stats = await asyncio.wait_for(run, 30)
    finally:
        await held.aclose()
    assert (stats.posts, stats.done) == (1, 1)
    assert emu.fiscalized[str(receipt.fiscal_id)] == 1
    assert (await row(session_factory, Receipt, receipt.id)).fiscal_state == FiscalState.DONE


async def test_a_stalled_workers_items_are_taken_over_and_fiscalized_once(
    session_factory: async_sessionmaker[AsyncSession], provider: CheckboxProvider,
    emu: CheckboxEmulator, emu_url: str,
) -> None:
    """The worker stalls in its first sale past the lease; another takes both items over.
    When the first wakes up its heartbeat finds them gone: it does not send the second, and
    its late repeat of the first is refused by the PRRO (same id). One receipt each."""
    first, second = await paid_sale(session_factory, 1000), await paid_sale(session_factory, 2000)
    emu.open_shift_now()
    now = [T0]
    held = held_provider(emu_url)
    stalled = Fiscalizer(session_factory, held, clock=lambda: now[0], policy=FAST)
    try:
        run = asyncio.create_task(stalled.run_once())
        await asyncio.wait_for(held.entered.wait(), 30)
        heir = Fiscalizer(session_factory, provider, policy=FAST,
                          clock=lambda: T0 + FAST.lease + timedelta(seconds=1))
        taken = await heir.run_once()
        assert (taken.claimed, taken.done) == (2, 2)
        now[0] = T0 + timedelta(seconds=20)  # its own clock lags: the lease looks alive
        await stalled.heartbeat()
        held.go.set()
        stats = await asyncio.wait_for(run, 30)
    finally:
        await held.aclose()
    assert stats.posts == 1  # only the sale that was already on its way
    assert emu.fiscalized[str(first.fiscal_id)] == 1
    assert emu.fiscalized[str(second.fiscal_id)] == 1
    for receipt in (first, second):
        assert (await row(session_factory, Receipt, receipt.id)).fiscal_state == FiscalState.DONE
