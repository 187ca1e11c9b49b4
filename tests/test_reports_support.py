"""Helpers for the report tests: a small shop whose money and tickets are made at chosen
moments through the db/ operations (pay_receipt, refund, add_expense, service_cash,
close_ticket, change_status), so the reports are checked against the real rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import Role, Staff, Status, Ticket
from db.desk.tickets import NewDevice, TicketDraft, change_status, open_ticket
from db.money.cash import service_cash
from db.money.closing import close_ticket
from db.money.expenses import add_expense
from db.money.models import CashMove, Expense, PaymentType, Receipt
from db.money.payments import pay_receipt
from db.money.receipts import add_free_line, create_receipt, get_receipt
from db.money.refunds import refund
from db.money.shifts import close_shift, current_shift
from tests.factories import make_client, make_staff
from tests.test_money_support import card_type, cash_type

KYIV = ZoneInfo("Europe/Kyiv")


def kyiv(year: int, month: int, day: int, hour: int = 12, minute: int = 0, *,
         fold: int = 0) -> datetime:
    """A Kyiv wall-clock moment as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=KYIV, fold=fold).astimezone(UTC)


class Shop:
    """Owner, a master with a percent, the seeded payment types; money in fresh shifts."""

    def __init__(self, session: AsyncSession, owner: Staff, master: Staff, cash: PaymentType,
                 card: PaymentType) -> None:
        self.session, self.owner, self.master, self.cash, self.card = (
            session, owner, master, cash, card)
        self.receipts: list[Receipt] = []
        self.refunds: list[Receipt] = []
        self.expenses: list[Expense] = []
        self.moves: list[CashMove] = []

    @classmethod
    async def create(cls, session: AsyncSession, *, bp: int = 3000, owner_tg: int = 0,
                     master_name: str = "Петя") -> Shop:
        owner = await make_staff(session, Role.OWNER, name="Владелец", tg_user_id=owner_tg)
        master = await make_staff(session, Role.MASTER, name=master_name, commission_bp=bp)
        return cls(session, owner, master, await cash_type(session), await card_type(session))

    async def _fresh_shift(self, at: datetime) -> None:
        """Close the open shift before it turns 24 h old (money would be refused)."""
        shift = await current_shift(self.session)
        if shift is not None and at - shift.opened_at >= timedelta(hours=20):
            await close_shift(self.session, self.owner, at)

    async def ticket(self, at: datetime, *, master: Staff | bool | None = True) -> Ticket:
        master_id = (self.master.id if master is True else
                     master.id if isinstance(master, Staff) else None)
        client = await make_client(self.session)
        return await open_ticket(
            self.session, self.owner, TicketDraft(defect="Не включается", master_id=master_id),
            client_id=client.id, new_device=NewDevice(kind="Телефон", brand="Apple",
                                                      model="iPhone"), now=at)

    async def status(self, ticket: Ticket, code: str, at: datetime) -> None:
        status = await self.session.scalar(select(Status).where(Status.code == code))
        assert status is not None
        await change_status(self.session, self.owner, ticket.id, status.id, now=at)

    async def ready(self, ticket: Ticket, at: datetime) -> None:
        await self.status(ticket, "in_work", at)
        await self.status(ticket, "ready", at)

    async def sale(self, at: datetime, price: int, *, ticket: Ticket | None = None,
                   qty: int = 1000, parts: Sequence[tuple[PaymentType, int, int | None]] = (),
                   name: str = "Работа", code: str = "") -> Receipt:
        """A receipt with one free line, paid at `at` (cash by default)."""
        await self._fresh_shift(at)
        receipt = await create_receipt(self.session, self.owner, ticket.id if ticket else None,
                                       now=at)
        line = await add_free_line(self.session, self.owner, receipt.id, name, price, qty, code)
        total = line.amount
        pay = [(t.id, amount, received) for t, amount, received in parts] or [
            (self.cash.id, total, None)]
        await pay_receipt(self.session, self.owner, receipt.id, pay, now=at)
        paid = await get_receipt(self.session, receipt.id)
        self.receipts.append(paid)
        return paid

    async def refund(self, receipt: Receipt, at: datetime, *,
                     lines: Sequence[tuple[int, int]] | None = None,
                     by: PaymentType | None = None) -> Receipt:
        await self._fresh_shift(at)
        result = await refund(self.session, self.owner, receipt.id, lines,
                              (by or self.cash).id, at)
        self.refunds.append(result.receipt)
        return result.receipt

    async def expense(self, at: datetime, amount: int, *, ticket: Ticket | None = None,
                      cash: bool = True, what: str = "Запчасть") -> Expense:
        await self._fresh_shift(at)
        expense = await add_expense(self.session, self.owner, ticket.id if ticket else None,
                                    what, amount, (self.cash if cash else self.card).id, at)
        self.expenses.append(expense)
        return expense

    async def cash_move(self, at: datetime, amount: int, reason: str = "Размен") -> CashMove:
        await self._fresh_shift(at)
        move = await service_cash(self.session, self.owner, amount, reason, at)
        self.moves.append(move)
        return move

    async def close(self, ticket: Ticket, at: datetime) -> None:
        await close_ticket(self.session, self.owner, ticket.id, now=at)


async def test_shop_helper_makes_money(session: AsyncSession) -> None:
    shop = await Shop.create(session)
    receipt = await shop.sale(kyiv(2026, 3, 2, 10), 10000)
    assert receipt.is_paid and receipt.total == 10000
    ticket = await shop.ticket(kyiv(2026, 3, 2, 11))
    assert isinstance(ticket, Ticket) and ticket.master_id == shop.master.id
