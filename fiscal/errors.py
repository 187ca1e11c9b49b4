"""What can go wrong at the PRRO, sorted by what the caller must do about it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fiscal.models import ReceiptResult


class FiscalError(Exception):
    """Base of every fiscal failure; `message` is readable text for logs and staff."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        receipt_id: uuid.UUID | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.receipt_id = receipt_id


class FiscalTransientError(FiscalError):
    """Timeout, dropped connection, 5xx, or a receipt still pending after the polling bound.

    The request may or may not have reached the PRRO. Retry later by reading the same receipt
    id with `receipt_status()`; never by posting the sale again under a new id.
    """


class FiscalRejected(FiscalError):
    """The PRRO refused for good (4xx, or the receipt ended in ERROR): a person must look."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        receipt_id: uuid.UUID | None = None,
        result: ReceiptResult | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, receipt_id=receipt_id)
        self.result = result


class FiscalShiftNotOpen(FiscalError):
    """No open shift: open one and send the same receipt again."""


class FiscalAuthError(FiscalError):
    """Licence key or PIN refused: a settings problem, retrying will not help."""


class FiscalReceiptNotFound(FiscalError):
    """The PRRO has no receipt with this id: the sale never arrived, posting it is safe."""
