"""One slow receipt does not hold up the rest: the fiscal worker sends several receipts at
once (bounded), claims more while one hangs, and still fiscalizes each exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.usecases.fiscalize import Fiscalizer, FiscalPolicy, _Gate
from db.money.models import FiscalState, Receipt
from tests.emulators.checkbox import CheckboxEmulator, _read_json
from tests.test_fiscal_pipeline import LATER, LICENSE, PIN, T0, make_provider, paid_sale


class HoldingEmulator(CheckboxEmulator):
    """Holds the sale POSTs of `hold` until `release` is set; counts sale POSTs in flight."""

    def __init__(self) -> None:
        super().__init__(license_key=LICENSE, pin_code=PIN, receipt_polls=1, shift_polls=1)
        self.hold: set[str] = set()
        self.release = asyncio.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.progress = asyncio.Event()  # set after every status read (receipts get DONE)

    async def h_get_receipt(self, request: web.Request) -> web.Response:
        try:
            return await super().h_get_receipt(request)
        finally:
            self.progress.set()

    async def h_sell(self, request: web.Request) -> web.Response:
        _, body = await _read_json(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if isinstance(body, dict) and body.get("id") in self.hold:
                await self.release.wait()
            return await super().h_sell(request)
        finally:
            self.in_flight -= 1


async def until(emu: HoldingEmulator, condition: Callable[[], bool]) -> None:
    while True:
        emu.progress.clear()
        if condition():
            return
        await emu.progress.wait()


async def test_a_hanging_receipt_does_not_hold_up_the_others(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    sales = [await paid_sale(session_factory, 10000 + i) for i in range(10)]
    ids = [str(r.fiscal_id) for r in sales]
    emu = HoldingEmulator()
    emu.hold.add(ids[1])
    policy = FiscalPolicy(batch_size=4, backoff_base=5.0, concurrency=3)
    async with emu.serve() as url, make_provider(url, timeout=60) as provider:
        worker = Fiscalizer(session_factory, provider, clock=lambda: T0, policy=policy)
        run = asyncio.create_task(worker.run_once())
        others = [i for i in ids if i != ids[1]]
        # every other sale is fiscalized while the second one still hangs (claimed in
        # batches of 4, so the worker claimed more behind it)
        await asyncio.wait_for(until(emu, lambda: all(
            emu.receipts.get(i, {}).get("status") == "DONE" for i in others)), 60)
        assert ids[1] not in emu.receipts and not run.done()
        emu.release.set()
        stats = await asyncio.wait_for(run, 60)
    assert (stats.claimed, stats.done, stats.posts, stats.transient) == (10, 10, 10, 0)
    assert 2 <= emu.max_in_flight <= 3  # several at once, never more than the bound
    assert all(emu.fiscalized[i] == 1 and emu.post_attempts[i] == 1 for i in ids)
    async with session_factory() as session:
        states = set(await session.scalars(select(Receipt.fiscal_state)))
    assert states == {FiscalState.DONE}


async def test_a_late_answer_is_read_back_never_sent_twice(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    sales = [await paid_sale(session_factory, 20000 + i) for i in range(6)]
    late = str(sales[2].fiscal_id)
    emu = CheckboxEmulator(license_key=LICENSE, pin_code=PIN, receipt_polls=1, shift_polls=1)
    # the sale is made, its answer never comes while the client waits (the client's timeout
    # is long enough for every other request even on a busy machine: 0.5 s was not)
    emu.delay_next("/receipts/sell", 3600.0, method="POST", receipt_id=late)
    policy = FiscalPolicy(backoff_base=5.0)
    async with emu.serve() as url, make_provider(url, timeout=5.0) as provider:
        worker = Fiscalizer(session_factory, provider, clock=lambda: T0, policy=policy)
        first = await worker.run_once()
        assert (first.done, first.transient, first.stopped_early) == (5, 1, False)
        second = await worker.run_once(T0 + LATER)
    assert (second.claimed, second.reads, second.adopted, second.posts) == (1, 1, 1, 0)
    assert emu.post_attempts[late] == 1 and emu.fiscalized[late] == 1
    assert all(emu.fiscalized[str(r.fiscal_id)] == 1 for r in sales)


def test_the_window_opens_after_successes_and_an_outage_stops_the_run() -> None:
    gate = _Gate(FiscalPolicy(concurrency=8, max_consecutive_transient=3))
    widths = []
    for _ in range(5):
        widths.append(gate.window)
        gate.record("done")
    assert widths == [1, 2, 4, 8, 8]
    gate.record("transient")
    gate.record("transient")
    gate.record("lost")  # neither a success nor a failure
    assert not gate.stopped
    gate.record("error")  # the PRRO answered: not an outage
    gate.record("transient")
    gate.record("transient")
    assert not gate.stopped
    gate.record("transient")
    assert gate.stopped and not gate.halted
    halted = _Gate(FiscalPolicy())
    halted.record("halt")
    assert halted.stopped and halted.halted and halted.window == 1
