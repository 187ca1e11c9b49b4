"""Internal, non-fiscal receipts: the shop works the same way without a PRRO.

Everything succeeds at once. The shift and its totals live in memory only, which is enough
for the Z-report at close; the database, not this object, is the record of the money.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from fiscal.base import AsyncClosing, require_return, require_service_value
from fiscal.errors import FiscalReceiptNotFound, FiscalShiftNotOpen
from fiscal.models import PaymentTotals, ReceiptResult, Report, SellReceipt, Shift

_LABELS = {"CASH": "Готівка", "CASHLESS": "Картка"}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Totals:
    sell_sum: int = 0
    return_sum: int = 0
    service_in: int = 0
    service_out: int = 0


class NoneProvider(AsyncClosing):
    """`FISCAL_PROVIDER=none`: results are DONE with no fiscal code."""

    def __init__(self, *, now: Callable[[], datetime] = _utcnow) -> None:
        self._now = now
        self._shift: Shift | None = None
        self._shift_serial = 0
        self._report_serial = 0
        self._receipts: dict[uuid.UUID, ReceiptResult] = {}
        self._cash = 0  # the drawer outlives shifts
        self._initial = 0
        self._totals: dict[str, _Totals] = {}
        self._sells = 0
        self._returns = 0

    @property
    def is_fiscal(self) -> bool:
        return False

    async def sign_in(self) -> None:
        return None

    async def current_shift(self) -> Shift | None:
        if self._shift is None:
            return None
        return replace(self._shift, balance=self._cash)

    async def open_shift(self) -> Shift:
        if self._shift is None:
            self._shift_serial += 1
            self._shift = Shift(
                id=uuid.uuid4(),
                status="OPENED",
                serial=self._shift_serial,
                opened_at=self._now(),
                balance=self._cash,
            )
            self._initial = self._cash
            self._totals = {}
            self._sells = self._returns = 0
        return self._shift

    async def close_shift(self) -> Report:
        if self._shift is None:
            raise FiscalShiftNotOpen("Зміну не відкрито")
        report = self._report(is_z_report=True)
        self._shift = None
        return report

    async def x_report(self) -> Report:
        if self._shift is None:
            raise FiscalShiftNotOpen("Зміну не відкрито")
        return self._report(is_z_report=False)

    async def sell(self, receipt: SellReceipt) -> ReceiptResult:
        return await self._register(receipt, "SELL")

    async def return_(self, receipt: SellReceipt) -> ReceiptResult:
        require_return(receipt)
        return await self._register(receipt, "RETURN")

    async def service(self, receipt_id: uuid.UUID, value_kopecks: int) -> ReceiptResult:
        require_service_value(value_kopecks)
        if receipt_id in self._receipts:
            return self._receipts[receipt_id]
        await self.open_shift()
        cash = self._totals.setdefault("CASH", _Totals())
        if value_kopecks > 0:
            cash.service_in += value_kopecks
        else:
            cash.service_out -= value_kopecks
        self._cash += value_kopecks
        kind = "SERVICE_IN" if value_kopecks > 0 else "SERVICE_OUT"
        return self._store(receipt_id, kind, abs(value_kopecks))

    async def receipt_status(self, receipt_id: uuid.UUID) -> ReceiptResult:
        try:
            return self._receipts[receipt_id]
        except KeyError:
            raise FiscalReceiptNotFound(
                f"receipt {receipt_id} is unknown", receipt_id=receipt_id
            ) from None


    async def _register(self, receipt: SellReceipt, kind: str) -> ReceiptResult:
        # Same id twice is the same receipt, as with a real PRRO.
        if receipt.id in self._receipts:
            return self._receipts[receipt.id]
        # The shop's shift opens with the first sale of the day.
        await self.open_shift()
        for ptype, value in receipt.net_payments().items():
            totals = self._totals.setdefault(ptype, _Totals())
            if kind == "SELL":
                totals.sell_sum += value
            else:
                totals.return_sum += value
            if ptype == "CASH":
                self._cash += value if kind == "SELL" else -value
        if kind == "SELL":
            self._sells += 1
        else:
            self._returns += 1
        return self._store(receipt.id, kind, receipt.total)

    def _store(self, receipt_id: uuid.UUID, kind: str, total: int) -> ReceiptResult:
        result = ReceiptResult(id=receipt_id, status="DONE", type=kind, total_sum=total)
        self._receipts[receipt_id] = result
        return result

    def _report(self, *, is_z_report: bool) -> Report:
        assert self._shift is not None
        self._report_serial += 1
        payments = tuple(
            PaymentTotals(
                type=ptype,
                label=_LABELS.get(ptype),
                sell_sum=t.sell_sum,
                return_sum=t.return_sum,
                service_in=t.service_in,
                service_out=t.service_out,
            )
            for ptype, t in sorted(self._totals.items())
        )
        return Report(
            id=uuid.uuid4(),
            shift_id=self._shift.id,
            is_z_report=is_z_report,
            payments=payments,
            sell_receipts_count=self._sells,
            return_receipts_count=self._returns,
            initial=self._initial,
            balance=self._cash,
            serial=self._report_serial,
            created_at=self._now(),
        )
