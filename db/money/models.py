"""Money models: price list, payment types, shifts, receipts and lines, payments, expenses,
service cash moves. Kopecks and thousandths as integers; times aware UTC.

Rows that change the drawer snapshot the payment type's kind (`kind`), so the owner renaming
or re-kinding a payment type later never rewrites the drawer's history.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import db.desk.models  # noqa: F401  (staff and tickets, which money rows reference)
from db.base import Base, BigId, BilingualName, UTCDateTime, str_enum, utcnow


class PaymentKind(enum.StrEnum):
    CASH = "cash"  # Checkbox CASH; moves the drawer
    CASHLESS = "cashless"  # Checkbox CASHLESS (card, transfer)

    @property
    def checkbox(self) -> str:
        return "CASH" if self is PaymentKind.CASH else "CASHLESS"


class ReceiptKind(enum.StrEnum):
    SALE = "sale"
    REFUND = "refund"


class ReceiptStatus(enum.StrEnum):
    UNPAID = "unpaid"  # 🟡 editable
    PAID = "paid"  # 🟢 immutable


class FiscalState(enum.StrEnum):
    NOT_FISCAL = "not_fiscal"  # internal receipt (FISCAL_PROVIDER=none), or not paid yet
    PENDING = "pending"  # paid and committed; the PRRO call comes after commit
    DONE = "done"
    ERROR = "error"


class ShiftStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class FiscalMixin:
    """Where a receipt or cash move stands with the PRRO. `fiscal_id` is generated here,
    before any call, and is the idempotency key: a retry GETs it, never POSTs a second one."""

    fiscal_state: Mapped[FiscalState] = mapped_column(
        str_enum(FiscalState, "fiscal_state"), default=FiscalState.NOT_FISCAL, index=True
    )
    fiscal_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    fiscal_code: Mapped[str | None] = mapped_column(String(64))
    fiscal_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tax_url: Mapped[str | None] = mapped_column(String(512))
    fiscal_error: Mapped[str | None] = mapped_column(Text)
    fiscal_attempts: Mapped[int] = mapped_column(Integer, default=0)
    fiscal_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Service(Base):
    """A price-list line."""

    __tablename__ = "services"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # stored upper-cased
    name: Mapped[str] = mapped_column(String(256))
    price: Mapped[int] = mapped_column(BigInteger)  # kopecks
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # casefold(name): SQLite's lower() folds ASCII only, so search compares Python-folded text.
    search_name: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("price >= 0", name="price"),)


class PaymentType(BilingualName, Base):
    """The owner's list of ways to pay (cash, card, …)."""

    __tablename__ = "payment_types"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[PaymentKind] = mapped_column(str_enum(PaymentKind, "payment_kind"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Shift(Base):
    """A cash shift. At most one is open (partial unique index on status = 'open')."""

    __tablename__ = "shifts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    status: Mapped[ShiftStatus] = mapped_column(str_enum(ShiftStatus, "shift_status"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    fiscal_shift_id: Mapped[str | None] = mapped_column(String(36))
    drawer_at_open: Mapped[int] = mapped_column(BigInteger, default=0)
    drawer_at_close: Mapped[int | None] = mapped_column(BigInteger)
    z_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index(
            "uq_shifts_one_open",
            "status",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class Receipt(FiscalMixin, Base):
    __tablename__ = "receipts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[ReceiptKind] = mapped_column(str_enum(ReceiptKind, "receipt_kind"))
    status: Mapped[ReceiptStatus] = mapped_column(str_enum(ReceiptStatus, "receipt_status"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="RESTRICT"), index=True
    )
    # For a refund: the paid sale it returns.
    related_receipt_id: Mapped[int | None] = mapped_column(
        ForeignKey("receipts.id", ondelete="RESTRICT"), index=True
    )
    total: Mapped[int] = mapped_column(BigInteger, default=0)  # kopecks, = Σ lines.amount
    change: Mapped[int] = mapped_column(BigInteger, default=0)  # cash handed back
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"), index=True)

    lines: Mapped[list[ReceiptLine]] = relationship(
        back_populates="receipt", order_by="ReceiptLine.id", lazy="raise",
        cascade="all, delete-orphan", passive_deletes=True,
    )
    payments: Mapped[list[Payment]] = relationship(order_by="Payment.id", lazy="raise")

    __table_args__ = (
        CheckConstraint("total >= 0", name="total"),
        CheckConstraint("change >= 0", name="change"),
        CheckConstraint(
            "(kind = 'refund') = (related_receipt_id IS NOT NULL)", name="refund_related"
        ),
        CheckConstraint("status = 'unpaid' OR paid_at IS NOT NULL", name="paid_at"),
        # Reports walk paid receipts by day (migration 0004).
        Index("ix_receipts_status_paid_at", "status", "paid_at"),
        # The fiscal queue's few pending receipts, in the order it sends them (migration
        # 0010): SQLite's statistics cannot tell that "pending" is rare among a chain's
        # receipts, so without it claiming and "when next" scanned them all.
        Index("ix_receipts_fiscal_due", "paid_at", "id",
              sqlite_where=text("fiscal_state = 'pending'"),
              postgresql_where=text("fiscal_state = 'pending'")),
    )

    @property
    def is_paid(self) -> bool:
        return self.status == ReceiptStatus.PAID


class ReceiptLine(Base):
    __tablename__ = "receipt_lines"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("receipts.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))  # None: free line
    # On a refund line: the sale line it returns (bounds every return of that line).
    refund_of_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("receipt_lines.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(256))
    price: Mapped[int] = mapped_column(BigInteger)  # kopecks per item
    quantity: Mapped[int] = mapped_column(BigInteger)  # thousandths
    amount: Mapped[int] = mapped_column(BigInteger)  # kopecks
    # On a refund line: money given back without goods coming back (500 of a 1 500 service).
    # It is one "item" priced at the amount (so the PRRO return receipt carries that amount)
    # and does not count against the sale line's quantity, only against its amount.
    by_amount: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    receipt: Mapped[Receipt] = relationship(back_populates="lines", lazy="raise")

    __table_args__ = (
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("amount >= 0", name="amount"),
    )


class Payment(Base):
    """One part of a receipt's payment (or the money given back on a refund receipt).

    `amount` is what the receipt gets from this part (parts sum to the total); for cash,
    `received` is what was handed over and `change` = received − amount went back.
    """

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("receipts.id", ondelete="RESTRICT"), index=True
    )
    payment_type_id: Mapped[int] = mapped_column(ForeignKey("payment_types.id"))
    kind: Mapped[PaymentKind] = mapped_column(str_enum(PaymentKind, "payment_part_kind"))
    amount: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int | None] = mapped_column(BigInteger)
    change: Mapped[int] = mapped_column(BigInteger, default=0)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("change >= 0", name="change"),
        CheckConstraint("received IS NULL OR received = amount + change", name="received"),
    )


class Expense(Base):
    """Money spent on a ticket (parts) or on the shop; a cash one leaves the drawer."""

    __tablename__ = "expenses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    payment_type_id: Mapped[int] = mapped_column(ForeignKey("payment_types.id"))
    kind: Mapped[PaymentKind] = mapped_column(str_enum(PaymentKind, "expense_kind"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)

    __table_args__ = (CheckConstraint("amount > 0", name="amount"),)


class CashMove(FiscalMixin, Base):
    """Service cash in (+) or out (−) of the drawer, with a reason (PRRO service receipt)."""

    __tablename__ = "cash_moves"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # signed kopecks
    reason: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    # Set: this row is the PRRO's service receipt for a cash expense (−) or for deleting one
    # (+). The drawer counts the expense itself, so it skips these rows; they exist so the
    # PRRO's cash equals the drawer. No foreign key: the expense may be deleted, the fiscal
    # document stays.
    expense_id: Mapped[int | None] = mapped_column(BigInteger, index=True)

    __table_args__ = (CheckConstraint("amount <> 0", name="amount"),)


class CommissionAdjustment(Base):
    """A change of a closed ticket's commission after its closing: the money the shop kept
    changed (a refund, a debt paid later), so the master's share follows it. Lands in payroll
    on `created_at`; the stamp on the ticket stays what closing recorded."""

    __tablename__ = "commission_adjustments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    master_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))  # what caused it
    base_delta: Mapped[int] = mapped_column(BigInteger)  # kopecks, signed
    bp: Mapped[int] = mapped_column(Integer)  # the percent stamped at closing
    amount: Mapped[int] = mapped_column(BigInteger)  # kopecks, signed (− after a refund)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


__all__ = [
    "CashMove",
    "CommissionAdjustment",
    "Expense",
    "FiscalMixin",
    "FiscalState",
    "Payment",
    "PaymentKind",
    "PaymentType",
    "Receipt",
    "ReceiptKind",
    "ReceiptLine",
    "ReceiptStatus",
    "Service",
    "Shift",
    "ShiftStatus",
]
