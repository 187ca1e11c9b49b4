"""Receipts: lines and totals, the quote, deletion, closed tickets, paid is immutable."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Role
from db.errors import InvalidValue, NotFound, PermissionDenied, TicketClosed
from db.money.closing import close_ticket
from db.money.errors import InvalidQuantity, ReceiptEmpty, ReceiptPaid
from db.money.models import FiscalState, Receipt, ReceiptKind, ReceiptLine, ReceiptStatus
from db.money.payments import pay_receipt
from db.money.price_list import add_service, archive_service
from db.money.receipts import (
    FREE_LINE_CODE,
    add_free_line,
    add_service_line,
    create_receipt,
    delete_receipt,
    get_receipt,
    quote_from_services,
    receipt_facts,
    remove_line,
    start_receipt,
    ticket_receipts,
)
from db.money.refunds import refund
from tests.factories import make_staff, make_ticket
from tests.test_money_support import T0, cash_type, receipt_for, ticket_at


async def test_lines_and_totals(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER)
    screen = await add_service(session, owner, "SCR", "Замена экрана", 150000)
    await add_service(session, owner, "GLUE", "Клей", 999)
    ticket = await make_ticket(session, master)
    receipt = await create_receipt(session, master, ticket.id, now=T0)
    assert (receipt.kind, receipt.status, receipt.total) == (
        ReceiptKind.SALE, ReceiptStatus.UNPAID, 0)
    assert receipt.fiscal_state == FiscalState.NOT_FISCAL and receipt.fiscal_id is None

    by_id = await add_service_line(session, master, receipt.id, screen.id)
    by_code = await add_service_line(session, master, receipt.id, "glue", quantity=1500)
    free = await add_free_line(session, master, receipt.id, " Чехол ", 25050, 2000)
    assert (by_id.code, by_id.amount) == ("SCR", 150000)
    assert (by_code.code, by_code.price, by_code.amount) == ("GLUE", 999, 1499)  # 1498.5 → up
    assert (free.service_id, free.code, free.name, free.amount) == (
        None, FREE_LINE_CODE, "Чехол", 50100)
    assert receipt.total == 150000 + 1499 + 50100

    await remove_line(session, master, by_code.id)
    loaded = await get_receipt(session, receipt.id)
    assert [line.id for line in loaded.lines] == [by_id.id, free.id]
    assert loaded.total == 200100


async def test_line_validation(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    service = await add_service(session, owner, "OLD", "Старое", 100)
    await archive_service(session, owner, service.id)
    receipt = await create_receipt(session, owner, None, now=T0)
    with pytest.raises(InvalidValue) as err:
        await add_service_line(session, owner, receipt.id, service.id)
    assert err.value.params["reason"] == "archived"
    with pytest.raises(NotFound):
        await add_service_line(session, owner, receipt.id, "NOPE")
    with pytest.raises(InvalidQuantity):
        await add_free_line(session, owner, receipt.id, "x", 100, 0)
    with pytest.raises(InvalidValue):
        await add_free_line(session, owner, receipt.id, "  ", 100)
    with pytest.raises(NotFound):
        await remove_line(session, owner, 999_999)
    with pytest.raises(ReceiptEmpty):
        await pay_receipt(session, owner, receipt.id, [((await cash_type(session)).id, 1, None)])


async def test_quote_from_services_and_delete_unpaid(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    a = await add_service(session, owner, "A", "Диагностика", 20000)
    b = await add_service(session, owner, "B", "Чистка", 45000)
    ticket = await make_ticket(session, owner)
    quote = await quote_from_services(session, owner, ticket.id, [a.id, b.id], now=T0)
    assert quote.total == 65000 and quote.ticket_id == ticket.id
    assert [r.id for r in await ticket_receipts(session, ticket.id)] == [quote.id]
    with pytest.raises(InvalidValue):
        await quote_from_services(session, owner, ticket.id, [])

    await delete_receipt(session, owner, quote.id)
    assert await ticket_receipts(session, ticket.id) == []
    assert await session.scalar(select(func.count()).select_from(ReceiptLine)) == 0


async def test_paid_receipt_is_immutable(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    service = await add_service(session, owner, "S", "Услуга", 1000)
    receipt = await receipt_for(session, owner, 10000)
    line_id = (await get_receipt(session, receipt.id)).lines[0].id
    cash = await cash_type(session)
    await pay_receipt(session, owner, receipt.id, [(cash.id, 10000, None)], now=T0)

    for attempt in (
        lambda: add_service_line(session, owner, receipt.id, service.id),
        lambda: add_free_line(session, owner, receipt.id, "x", 1),
        lambda: remove_line(session, owner, line_id),
        lambda: delete_receipt(session, owner, receipt.id),
        lambda: pay_receipt(session, owner, receipt.id, [(cash.id, 10000, None)], now=T0),
    ):
        with pytest.raises(ReceiptPaid) as err:
            await attempt()
        assert err.value.params == {"receipt_id": receipt.id}
    loaded = await get_receipt(session, receipt.id)
    assert (loaded.total, len(loaded.lines), loaded.status) == (10000, 1, ReceiptStatus.PAID)

    # A refund is born paid: it cannot be edited, paid or deleted either.
    back = await refund(session, owner, receipt.id, None, cash.id, now=T0)
    for attempt in (
        lambda: add_free_line(session, owner, back.receipt.id, "x", 1),
        lambda: delete_receipt(session, owner, back.receipt.id),
        lambda: pay_receipt(session, owner, back.receipt.id, [(cash.id, 1, None)], now=T0),
    ):
        with pytest.raises(ReceiptPaid):
            await attempt()


async def test_closed_ticket_takes_no_new_receipts(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    master = await make_staff(session, Role.MASTER)
    ticket = await ticket_at(session, owner, "ready")
    debt = await receipt_for(session, owner, 30000, ticket)
    await close_ticket(session, owner, ticket.id, confirm_unpaid=True, now=T0)

    with pytest.raises(TicketClosed):
        await create_receipt(session, owner, ticket.id)
    with pytest.raises(TicketClosed):
        await add_free_line(session, owner, debt.id, "ещё", 100)
    with pytest.raises(PermissionDenied):
        await delete_receipt(session, master, debt.id)  # writing off a debt is a manager's call
    # ...but the debt can be collected later.
    paid = await pay_receipt(session, master, debt.id,
                             [((await cash_type(session)).id, 30000, None)], now=T0)
    assert paid.receipt.status == ReceiptStatus.PAID


async def test_inactive_staff_cannot_touch_money(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    master.active = False
    with pytest.raises(PermissionDenied):
        await create_receipt(session, master, None)
    assert await session.scalar(select(func.count()).select_from(Receipt)) == 0


async def test_new_receipt_reuses_an_empty_one(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    ticket = await make_ticket(session, owner)
    with_lines = await receipt_for(session, owner, 100, ticket)
    first = await start_receipt(session, owner, ticket.id)
    assert first.id != with_lines.id
    assert (await start_receipt(session, owner, ticket.id)).id == first.id  # not multiplied
    await add_free_line(session, owner, first.id, "x", 1)
    assert (await start_receipt(session, owner, ticket.id)).id not in {first.id, with_lines.id}


async def test_a_line_is_removed_only_from_its_receipt(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    mine, other = await receipt_for(session, owner, 100), await receipt_for(session, owner, 200)
    other_line = (await get_receipt(session, other.id)).lines[0]
    with pytest.raises(NotFound):
        await remove_line(session, owner, other_line.id, receipt_id=mine.id)
    assert (await remove_line(session, owner, other_line.id, receipt_id=other.id)).total == 0


async def test_receipt_facts_for_people_staff_and_reports(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER, name="Олег")
    master = await make_staff(session, Role.MASTER, name="Петя")
    ticket = await make_ticket(session, owner, master_id=master.id)
    receipt = await receipt_for(session, owner, 30000, ticket)
    unpaid = await receipt_facts(session, receipt.id)
    assert (unpaid.cashier_name, unpaid.refunds, unpaid.master_name) == (None, [], "Петя")
    assert unpaid.ticket_number == ticket.number and unpaid.device
    cash = await cash_type(session)
    await pay_receipt(session, owner, receipt.id, [(cash.id, 30000, None)], now=T0)
    back = await refund(session, owner, receipt.id, None, cash.id, now=T0)
    facts = await receipt_facts(session, receipt.id)
    assert facts.cashier_name == "Олег" and [r.id for r in facts.refunds] == [back.receipt.id]
    assert cash.id in facts.payment_types and facts.client_chat_id is None
    assert (await receipt_facts(session, back.receipt.id)).refunds == []
