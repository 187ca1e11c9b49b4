"""Receipts and their lines: the quote at intake, "Новый чек", lines by service or free.

Rules
- A receipt is a sale (this module) or a refund (db.money.refunds). A sale is unpaid 🟡 until
  db.money.payments marks it paid 🟢. Paid receipts and refunds are immutable: every function
  here that would change one raises ReceiptPaid, whoever calls it.
- `total` is kept equal to Σ line amounts (recomputed by SQL SUM on every change); a line's
  amount is price × quantity / 1000, rounded half up to the kopeck.
- A receipt with `ticket_id=None` is a quick sale from the drawer.
- Closed tickets get no new receipts and their unpaid receipts are not edited (reopen the
  ticket first); such a leftover unpaid receipt can still be paid (a debt collected later),
  and only an owner or manager may delete it (a debt written off).
- Every change locks the ticket row, then the receipt row (the order db.money.payments and
  db.money.closing use too), so an edit cannot interleave with a payment or a closing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from db.access import require_active, require_manager
from db.audit import audit
from db.base import utcnow
from db.desk.models import Client, Staff, Status, Ticket
from db.desk.tickets import get_status, get_ticket, lock_open_ticket, staff_names
from db.errors import InvalidValue, NotFound, TicketClosed, required_line
from db.money.amounts import AMOUNT_MAX, check_quantity, line_amount
from db.money.errors import InvalidAmount, ReceiptPaid
from db.money.models import (
    FiscalState,
    PaymentType,
    Receipt,
    ReceiptKind,
    ReceiptLine,
    ReceiptStatus,
    Service,
)
from db.money.payment_types import payment_types_by_id
from db.money.price_list import (
    CODE_MAX,
    NAME_MAX,
    check_price,
    get_service,
    get_service_by_code,
    normalize_code,
)

LINES_MAX = 100
FREE_LINE_CODE = "FREE"  # PRRO goods need a code; free lines share this one


# Built once: every payment and every change of a receipt locks it (building the statements
# and their cache keys cost about as much as running them on SQLite).
# The receipt's ticket, locked in the same statement that finds it: ticket_id never changes,
# so the subquery's answer holds after the wait (PostgreSQL re-checks only the ticket's row).
_LOCK_TICKET_OF = (
    select(Ticket).where(Ticket.id == select(Receipt.ticket_id)
                         .where(Receipt.id == bindparam("receipt_id")).scalar_subquery())
    .with_for_update(of=Ticket).execution_options(populate_existing=True))
# Lines and payments are reloaded with the row, so the object the caller holds is current
# after the wait (populate_existing would otherwise reset them to unloaded).
_LOCK_RECEIPT = (
    select(Receipt).where(Receipt.id == bindparam("receipt_id")).with_for_update()
    .options(selectinload(Receipt.lines), selectinload(Receipt.payments))
    .execution_options(populate_existing=True))


async def lock_receipt(
    session: AsyncSession, receipt_id: int
) -> tuple[Receipt, Ticket | None, Status | None]:
    """Lock the receipt's ticket (if any), then the receipt; re-read both after the wait."""
    ticket = await session.scalar(_LOCK_TICKET_OF, {"receipt_id": receipt_id})
    status = None if ticket is None else await get_status(session, ticket.status_id)
    receipt = await session.scalar(_LOCK_RECEIPT, {"receipt_id": receipt_id})
    if receipt is None:  # there is none, or it was deleted while we waited
        raise NotFound("receipt", receipt_id=receipt_id)
    return receipt, ticket, status


def require_unpaid_sale(receipt: Receipt) -> None:
    """Paid receipts and refunds are immutable and cannot be paid (again): ReceiptPaid."""
    if receipt.status != ReceiptStatus.UNPAID or receipt.kind != ReceiptKind.SALE:
        raise ReceiptPaid(receipt.id)


async def _editable(session: AsyncSession, actor: Staff, receipt_id: int) -> Receipt:
    require_active(actor)
    receipt, ticket, status = await lock_receipt(session, receipt_id)
    require_unpaid_sale(receipt)
    if ticket is not None and status is not None and status.kind.is_closed:
        raise TicketClosed("closed", number=ticket.number)
    return receipt


async def _recalc_total(session: AsyncSession, receipt: Receipt) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(ReceiptLine.amount), 0))
        .where(ReceiptLine.receipt_id == receipt.id)
    )
    receipt.total = int(total or 0)
    return receipt.total


async def create_receipt(
    session: AsyncSession, actor: Staff, ticket_id: int | None = None,
    now: datetime | None = None,
) -> Receipt:
    """A new empty unpaid sale receipt on a ticket, or a quick sale (`ticket_id=None`)."""
    require_active(actor)
    if ticket_id is not None:
        await lock_open_ticket(session, ticket_id)
    receipt = Receipt(kind=ReceiptKind.SALE, status=ReceiptStatus.UNPAID, ticket_id=ticket_id,
                      total=0, change=0, created_at=now or utcnow(), created_by_id=actor.id,
                      fiscal_state=FiscalState.NOT_FISCAL, fiscal_attempts=0, lines=[],
                      payments=[])
    session.add(receipt)
    await session.flush()
    audit(session, actor, "receipt.create", "receipt", receipt.id, ticket_id=ticket_id)
    return receipt


async def _add_line(
    session: AsyncSession, actor: Staff, receipt: Receipt, *, service_id: int | None,
    code: str, name: str, price: int, quantity: int,
) -> ReceiptLine:
    check_price(price)
    check_quantity(quantity)
    if len(receipt.lines) >= LINES_MAX:
        raise InvalidValue("lines", reason="too_many", limit=LINES_MAX)
    amount = line_amount(price, quantity)
    if receipt.total + amount > AMOUNT_MAX:  # refuse before writing anything
        raise InvalidAmount("too_large", str(receipt.total + amount), field="total",
                            limit=AMOUNT_MAX)
    line = ReceiptLine(service_id=service_id, code=code, name=name, price=price,
                       quantity=quantity, amount=amount)
    receipt.lines.append(line)
    await session.flush()
    await _recalc_total(session, receipt)
    audit(session, actor, "receipt.line_add", "receipt", receipt.id, line_id=line.id,
          service_id=service_id, code=code, price=price, quantity=quantity, amount=line.amount,
          total=receipt.total)
    return line


async def _service(session: AsyncSession, service: int | str) -> Service:
    found = (await get_service(session, service) if isinstance(service, int)
             else await get_service_by_code(session, service))
    if found is None:
        raise NotFound("service", code=str(service))
    if found.archived:
        raise InvalidValue("service", reason="archived", service_id=found.id)
    return found


async def add_service_line(
    session: AsyncSession, actor: Staff, receipt_id: int, service: int | str,
    quantity: int = 1000,
) -> ReceiptLine:
    """Add a price-list service by id (int) or code (str) at its current price."""
    receipt = await _editable(session, actor, receipt_id)
    found = await _service(session, service)
    return await _add_line(session, actor, receipt, service_id=found.id, code=found.code,
                           name=found.name, price=found.price, quantity=quantity)


async def add_free_line(
    session: AsyncSession, actor: Staff, receipt_id: int, name: str, price: int,
    quantity: int = 1000, code: str = "",
) -> ReceiptLine:
    """A line not from the price list: a name and a price typed at the desk."""
    receipt = await _editable(session, actor, receipt_id)
    clean = required_line(name, "name", NAME_MAX)
    line_code = normalize_code(code)[:CODE_MAX] or FREE_LINE_CODE
    return await _add_line(session, actor, receipt, service_id=None, code=line_code,
                           name=clean, price=price, quantity=quantity)


async def remove_line(session: AsyncSession, actor: Staff, line_id: int, *,
                      receipt_id: int | None = None) -> Receipt:
    """Remove a line; with `receipt_id`, only a line of that receipt (a button names both)."""
    owner_id = await session.scalar(
        select(ReceiptLine.receipt_id).where(ReceiptLine.id == line_id)
    )
    if owner_id is None or (receipt_id is not None and owner_id != receipt_id):
        raise NotFound("receipt_line", line_id=line_id)
    receipt_id = owner_id
    receipt = await _editable(session, actor, receipt_id)
    line = next((x for x in receipt.lines if x.id == line_id), None)
    if line is None:  # removed while we waited
        raise NotFound("receipt_line", line_id=line_id)
    receipt.lines.remove(line)  # delete-orphan
    await session.flush()
    await _recalc_total(session, receipt)
    audit(session, actor, "receipt.line_remove", "receipt", receipt.id, line_id=line_id,
          total=receipt.total)
    return receipt


async def start_receipt(session: AsyncSession, actor: Staff, ticket_id: int,
                            now: datetime | None = None) -> Receipt:
    """"Новый чек" on an open ticket: an empty unpaid receipt left from a previous try is
    reused, not multiplied; otherwise a new one."""
    require_active(actor)
    await lock_open_ticket(session, ticket_id)
    empty = await session.scalar(
        select(Receipt).where(Receipt.ticket_id == ticket_id, Receipt.kind == ReceiptKind.SALE,
                              Receipt.status == ReceiptStatus.UNPAID, ~Receipt.lines.any())
        .order_by(Receipt.id).limit(1))
    return empty or await create_receipt(session, actor, ticket_id, now)


async def delete_receipt(session: AsyncSession, actor: Staff, receipt_id: int) -> None:
    """Delete an unpaid receipt with its lines (a closed ticket's: owner or manager only)."""
    require_active(actor)
    receipt, ticket, status = await lock_receipt(session, receipt_id)
    require_unpaid_sale(receipt)
    if status is not None and status.kind.is_closed:
        require_manager(actor)
    await session.delete(receipt)  # lines go with it (loaded by the lock, delete-orphan)
    await session.flush()
    audit(session, actor, "receipt.delete", "receipt", receipt_id,
          ticket_id=ticket.id if ticket else None, total=receipt.total)


async def quote_from_services(
    session: AsyncSession, actor: Staff, ticket_id: int, service_ids: Sequence[int],
    now: datetime | None = None,
) -> Receipt:
    """The first unpaid receipt of a ticket from the services chosen at intake (the quote)."""
    if not service_ids:
        raise InvalidValue("services", reason="required")
    receipt = await create_receipt(session, actor, ticket_id, now)
    for service_id in service_ids:
        found = await _service(session, service_id)
        await _add_line(session, actor, receipt, service_id=found.id, code=found.code,
                        name=found.name, price=found.price, quantity=1000)
    return receipt


# Built once: every payment step. Lines and payments joined in: one statement, not three
# (a receipt has a few of each). Not so for `_LOCK_RECEIPT`: on PostgreSQL rows joined to a
# row locked after a wait would come from before the wait.
_RECEIPT = (select(Receipt).where(Receipt.id == bindparam("receipt_id"))
            .options(joinedload(Receipt.lines), joinedload(Receipt.payments))
            .execution_options(populate_existing=True))


async def get_receipt(session: AsyncSession, receipt_id: int) -> Receipt:
    """The receipt with lines and payments loaded (fresh from the database)."""
    result = await session.execute(_RECEIPT, {"receipt_id": receipt_id})
    receipt = result.unique().scalar_one_or_none()
    if receipt is None:
        raise NotFound("receipt", receipt_id=receipt_id)
    return receipt


async def unpaid_quick_sales(session: AsyncSession, limit: int) -> list[Receipt]:
    """Sales without a ticket still waiting for payment, newest first (the drawer screen)."""
    return list(await session.scalars(
        select(Receipt).where(Receipt.ticket_id.is_(None), Receipt.kind == ReceiptKind.SALE,
                              Receipt.status == ReceiptStatus.UNPAID)
        .order_by(Receipt.id.desc()).limit(limit)))


async def ticket_receipts(session: AsyncSession, ticket_id: int) -> list[Receipt]:
    """All receipts of a ticket (sales and refunds), oldest first, with lines and payments."""
    return list(await session.scalars(
        select(Receipt).where(Receipt.ticket_id == ticket_id).order_by(Receipt.id)
        .options(selectinload(Receipt.lines), selectinload(Receipt.payments))
        .execution_options(populate_existing=True)
    ))


async def refunds_of(session: AsyncSession, receipt_id: int) -> list[Receipt]:
    """The returns made against a sale receipt, oldest first, with lines and payments."""
    return list(await session.scalars(
        select(Receipt).where(Receipt.related_receipt_id == receipt_id).order_by(Receipt.id)
        .options(selectinload(Receipt.lines), selectinload(Receipt.payments))
    ))


@dataclass(frozen=True, slots=True)
class ReceiptFacts:
    """A receipt with what it is shown with (the staff screen, people's copy, the reports)."""

    receipt: Receipt  # lines and payments loaded
    payment_types: Mapping[int, PaymentType]  # at least those of its and its returns' payments
    refunds: Sequence[Receipt] = ()  # returns against a sale, oldest first
    ticket_number: int | None = None
    device: str = ""
    master_name: str | None = None
    cashier_name: str | None = None  # who took the money (made the return)
    client: Client | None = None

    @property
    def client_chat_id(self) -> int | None:
        return self.client.tg_chat_id if self.client is not None else None


async def receipt_facts(session: AsyncSession, receipt_id: int) -> ReceiptFacts:
    """Raises NotFound for an unknown id."""
    receipt = await get_receipt(session, receipt_id)
    refunds = await refunds_of(session, receipt.id) if receipt.kind == ReceiptKind.SALE else []
    ticket = await get_ticket(session, receipt.ticket_id) if receipt.ticket_id else None
    names = await staff_names(session, [receipt.paid_by_id] if receipt.paid_by_id else [])
    return ReceiptFacts(
        receipt=receipt, payment_types=await payment_types_by_id(session), refunds=refunds,
        ticket_number=ticket.number if ticket else None,
        device=ticket.device.title if ticket else "",
        master_name=ticket.master.name if ticket and ticket.master else None,
        cashier_name=names.get(receipt.paid_by_id or 0), client=ticket.client if ticket else None)
