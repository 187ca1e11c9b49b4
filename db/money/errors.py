"""Typed errors for money rules. Each has a stable `code` and `params` for the bot's catalog.

Generic failures reuse db.errors: NotFound (`entity` as the message, ids in params),
PermissionDenied, InvalidValue (`field`, `reason`), TicketClosed (`number`).
"""

from __future__ import annotations

from datetime import datetime

from db.errors import DomainError


class InvalidAmount(DomainError):
    """`reason`: empty, format, decimals, zero, negative, too_large (with `limit`)."""

    code = "invalid_amount"

    def __init__(self, reason: str, text: str = "", **params: object) -> None:
        super().__init__(f"invalid amount {text!r}: {reason}", reason=reason, text=text, **params)
        self.reason = reason


class InvalidQuantity(DomainError):
    """`reason`: empty, format, decimals, zero, negative, too_large (with `limit`)."""

    code = "invalid_quantity"

    def __init__(self, reason: str, text: str = "", **params: object) -> None:
        super().__init__(f"invalid quantity {text!r}: {reason}", reason=reason, text=text,
                         **params)
        self.reason = reason


class DuplicateService(DomainError):
    code = "duplicate_service"

    def __init__(self, service_code: str, service_id: int) -> None:
        super().__init__(f"service {service_code} exists", service_code=service_code,
                         service_id=service_id)


class ReceiptPaid(DomainError):
    """The receipt is paid (or is a refund, which is born paid) and cannot change or be paid
    again. Also what the loser of two simultaneous payments gets."""

    code = "receipt_paid"

    def __init__(self, receipt_id: int) -> None:
        super().__init__(f"receipt {receipt_id} is paid", receipt_id=receipt_id)


class ReceiptEmpty(DomainError):
    """Nothing to pay: no lines or a zero total."""

    code = "receipt_empty"

    def __init__(self, receipt_id: int) -> None:
        super().__init__(f"receipt {receipt_id} is empty", receipt_id=receipt_id)


class PaymentMismatch(DomainError):
    """The parts do not add up to the receipt total (`total`, `paid` in kopecks)."""

    code = "payment_mismatch"

    def __init__(self, total: int, paid: int) -> None:
        super().__init__(f"parts {paid} != total {total}", total=total, paid=paid,
                         difference=total - paid)


class ReceivedTooLittle(DomainError):
    """Cash handed over is less than the cash part (`amount`, `received`)."""

    code = "received_too_little"

    def __init__(self, amount: int, received: int) -> None:
        super().__init__(f"received {received} < {amount}", amount=amount, received=received)


class ShiftTooOld(DomainError):
    """The open shift is 24 h old or older: close it (Z-report) before taking money."""

    code = "shift_too_old"

    def __init__(self, shift_id: int, number: int, opened_at: datetime) -> None:
        super().__init__(f"shift {number} is older than 24 h", shift_id=shift_id, number=number,
                         opened_at=opened_at.isoformat())


class ShiftAlreadyOpen(DomainError):
    code = "shift_already_open"

    def __init__(self, shift_id: int, number: int) -> None:
        super().__init__(f"shift {number} is open", shift_id=shift_id, number=number)


class NoOpenShift(DomainError):
    code = "no_open_shift"


class LastPaymentType(DomainError):
    """Switching off the only active payment type would leave nothing to pay with."""

    code = "last_payment_type"

    def __init__(self, payment_type_id: int) -> None:
        super().__init__("the last active payment type", payment_type_id=payment_type_id)


class DrawerShort(DomainError):
    """Cash out of the drawer (service out, cash refund, cash expense) beyond what it holds."""

    code = "drawer_short"

    def __init__(self, balance: int, amount: int) -> None:
        super().__init__(f"drawer {balance} < {amount}", balance=balance, amount=amount)


class NotRefundable(DomainError):
    """`reason`: not_paid, is_refund, nothing_left (everything already returned)."""

    code = "not_refundable"

    def __init__(self, receipt_id: int, reason: str) -> None:
        super().__init__(f"receipt {receipt_id}: {reason}", receipt_id=receipt_id, reason=reason)


class RefundTooLarge(DomainError):
    """More of a line than is left to return (quantities in thousandths)."""

    code = "refund_too_large"

    def __init__(self, line_id: int, requested: int, available: int) -> None:
        super().__init__(f"line {line_id}: {requested} > {available}", line_id=line_id,
                         requested=requested, available=available)


class RefundAmountTooLarge(DomainError):
    """More money of a line than is left to give back (kopecks)."""

    code = "refund_amount_too_large"

    def __init__(self, line_id: int, requested: int, available: int) -> None:
        super().__init__(f"line {line_id}: {requested} > {available} kop.", line_id=line_id,
                         requested=requested, available=available)


class ExpenseLocked(DomainError):
    """The expense belongs to a closed shift (its Z-report counted it) or a closed ticket."""

    code = "expense_locked"

    def __init__(self, expense_id: int, reason: str) -> None:
        super().__init__(f"expense {expense_id}: {reason}", expense_id=expense_id, reason=reason)


class UnpaidReceipts(DomainError):
    """Closing a ticket with unpaid receipts needs `confirm_unpaid=True`."""

    code = "unpaid_receipts"

    def __init__(self, count: int, total: int, receipt_ids: list[int]) -> None:
        super().__init__(f"{count} unpaid receipts, {total}", count=count, total=total,
                         receipt_ids=receipt_ids)


class UnpaidChanged(DomainError):
    """Closing was confirmed for a debt (`expected`) other than the ticket's now (`actual`): a
    receipt was added or paid after the summary was shown, so nothing is confirmed blindly."""

    code = "unpaid_changed"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"unpaid {actual} != confirmed {expected}", expected=expected,
                         actual=actual)


class PartTooLarge(DomainError):
    """A part of a split payment above what is left to pay (`left`, `amount`)."""

    code = "part_too_large"

    def __init__(self, left: int, amount: int) -> None:
        super().__init__(f"part {amount} > left {left}", left=left, amount=amount)
