"""bench.generate, bench.interactions and bench.update_costs at a tiny scale: the rows are what
the app writes and reads, and one iteration goes through the real app (and through its
Dispatcher in process). No timing assertions."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import update_costs
from bench.chain_data import STATUS
from bench.generate import generate
from bench.interactions import INTERACTIONS, measure, national, prepare
from db.desk.clients import _search_name, create_client, normalize_serial, search_clients
from db.desk.models import Client, Counter, Device, StatusChange, StatusTransition, Ticket
from db.desk.phones import reversed_digits
from db.desk.tickets import get_ticket_by_number, next_number
from db.engine import create_engine, create_session_factory
from db.money.models import Payment, Receipt, ReceiptLine, ReceiptStatus
from db.reports.queries import day_report
from handlers import ticket_card

NOW = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)
OWNER = 5_000_001


async def _generated(db_url: str) -> async_sessionmaker[AsyncSession]:
    counts = await generate(db_url, 0.002, 3, NOW, quiet=True)
    assert counts["tickets"] >= 590 and counts["status_history"] > counts["tickets"] * 3
    assert counts["receipts"] > counts["tickets"] and counts["payments"] > 0
    return create_session_factory(create_engine(db_url))


async def _check_derived_columns(s: AsyncSession) -> None:
    for client in await s.scalars(select(Client)):
        assert client.phone.startswith("+380") and len(client.phone) == 13
        assert client.phone_rev == reversed_digits(client.phone)
        assert client.search_name == _search_name(client.name, client.surname)
    for device in await s.scalars(select(Device).where(Device.serial.is_not(None))):
        assert device.serial_norm == normalize_serial(device.serial or "")


async def _check_tickets(s: AsyncSession) -> None:
    numbers = list(await s.scalars(select(Ticket.number).order_by(Ticket.number)))
    assert numbers == list(range(1, len(numbers) + 1))  # gap-free
    assert await s.scalar(select(Counter.value).where(Counter.name == "ticket")) == len(numbers)
    allowed = set((await s.execute(select(StatusTransition.from_status_id,
                                          StatusTransition.to_status_id))).all())
    for move in await s.scalars(select(StatusChange)):
        assert (move.from_status_id is None and move.to_status_id == STATUS["accepted"]) or \
            (move.from_status_id, move.to_status_id) in allowed


async def _check_money(s: AsyncSession) -> None:
    lines = dict((await s.execute(select(ReceiptLine.receipt_id, func.sum(ReceiptLine.amount))
                                  .group_by(ReceiptLine.receipt_id))).all())
    paid = dict((await s.execute(select(Payment.receipt_id, func.sum(Payment.amount))
                                 .group_by(Payment.receipt_id))).all())
    for receipt in await s.scalars(select(Receipt)):
        assert lines[receipt.id] == receipt.total
        assert paid.get(receipt.id) == (receipt.total if receipt.status == ReceiptStatus.PAID
                                        else None)


async def test_generated_rows_are_what_the_app_writes(db_url: str) -> None:
    factory = await _generated(db_url)
    async with factory() as s, s.begin():
        await _check_derived_columns(s)
        await _check_tickets(s)
        await _check_money(s)
        client = await s.scalar(select(Client).order_by(Client.id.desc()).limit(1))
        assert client is not None
        hits = await search_clients(s, national(client.phone))
        assert [h.client.id for h in hits] == [client.id]
        assert client.id in [h.client.id for h in await search_clients(s, client.phone[-4:])]
        assert (await get_ticket_by_number(s, 5)).number == 5
        assert (await day_report(s, NOW.date(), ZoneInfo("Europe/Kyiv"), now=NOW)).total.sales_count
        # Sequences and counters continue after the generated ids.
        fresh = await create_client(s, None, phone="+380441234567", name="Новий")
        assert fresh.id > client.id
        top = await s.scalar(select(func.max(Ticket.number)))
        assert await next_number(s) == (top or 0) + 1
    await factory.kw["bind"].dispose()


async def test_one_iteration_through_the_real_app(db_url: str, tmp_path: Path) -> None:
    factory = await _generated(db_url)
    await factory.kw["bind"].dispose()
    prepared = await prepare(db_url, OWNER, 1, seed=2)
    args = argparse.Namespace(url=db_url, owner=OWNER, n=1, warmup=0, sql_log=None,
                              profile=None, quiet=True)
    report = await measure(args, prepared, tmp_path, "smoke")
    assert [r.interaction for r in report.rows] == list(INTERACTIONS)
    assert all(r.queries != "—" for r in report.rows)
    assert report.processes["app"]["VmRSS"] > 0 and report.processes["echo"]["cold_start"] > 0
    assert "| /today |" in report.markdown()


async def test_update_costs_in_process(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    factory = await _generated(db_url)
    await factory.kw["bind"].dispose()
    args = argparse.Namespace(url=db_url, owner=OWNER, n=2, seed=2, parts=True)
    await update_costs.run(args)
    printed = capsys.readouterr().out
    for name in ("phone", "last 4 digits", "IMEI part", "#N", "/ticket N", "/today"):
        assert f"\n{name} " in printed
    assert "render_ticket" in printed and "_applied_before" in printed
    assert not hasattr(ticket_card.render_ticket, "__wrapped__")  # the wrappers are gone
