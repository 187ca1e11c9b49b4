"""The one interface every PRRO provider implements; use cases depend on this only."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from fiscal.models import ReceiptResult, Report, SellReceipt, Shift


@runtime_checkable
class FiscalProvider(Protocol):
    """A software cash register.

    Receipt ids come from the caller, so every receipt call is idempotent: after a
    `FiscalTransientError` read the outcome with `receipt_status(id)`; on
    `FiscalReceiptNotFound` it is safe to send the same receipt (same id) again.
    """

    @property
    def is_fiscal(self) -> bool:
        """False for internal receipts that never reach the tax service."""
        ...

    async def sign_in(self) -> None: ...

    async def current_shift(self) -> Shift | None:
        """The shift that is not closed yet, or None."""
        ...

    async def open_shift(self) -> Shift:
        """Open a shift (or return the one already open) and wait until it is OPENED."""
        ...

    async def close_shift(self) -> Report:
        """Close the open shift and return its Z-report; FiscalShiftNotOpen if none."""
        ...

    async def sell(self, receipt: SellReceipt) -> ReceiptResult:
        """Fiscalize a sale and wait for DONE; FiscalRejected on ERROR."""
        ...

    async def return_(self, receipt: SellReceipt) -> ReceiptResult:
        """Fiscalize a return against `receipt.related_receipt_id`."""
        ...

    async def service(self, receipt_id: uuid.UUID, value_kopecks: int) -> ReceiptResult:
        """Cash service receipt: positive puts cash in the drawer, negative takes it out."""
        ...

    async def x_report(self) -> Report: ...

    async def receipt_status(self, receipt_id: uuid.UUID) -> ReceiptResult:
        """Current state of a receipt; FiscalReceiptNotFound if the PRRO never got it."""
        ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class AsyncClosing:
    """`async with provider:` closes it on the way out; subclasses override `aclose`."""

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def require_return(receipt: SellReceipt) -> uuid.UUID:
    """A return without the sale it refunds is a programming error, not a PRRO answer."""
    if receipt.related_receipt_id is None:
        raise ValueError("a return receipt needs related_receipt_id")
    return receipt.related_receipt_id


def require_service_value(value_kopecks: int) -> None:
    if isinstance(value_kopecks, bool) or not isinstance(value_kopecks, int) or value_kopecks == 0:
        raise ValueError(f"service value must be a non-zero int of kopecks, got {value_kopecks!r}")
