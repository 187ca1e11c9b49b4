"""PRRO providers behind one interface. Knows nothing of Telegram or the database."""

from fiscal.base import FiscalProvider
from fiscal.checkbox import DEFAULT_API_URL, CheckboxProvider
from fiscal.errors import (
    FiscalAuthError,
    FiscalError,
    FiscalReceiptNotFound,
    FiscalRejected,
    FiscalShiftNotOpen,
    FiscalTransientError,
)
from fiscal.factory import make_provider
from fiscal.models import (
    Discount,
    Good,
    PaymentPart,
    PaymentTotals,
    PaymentType,
    ReceiptResult,
    ReceiptStatus,
    Report,
    SellReceipt,
    Shift,
    ShiftStatus,
    XReport,
    ZReport,
    line_total,
)
from fiscal.none import NoneProvider

__all__ = [
    "DEFAULT_API_URL",
    "CheckboxProvider",
    "Discount",
    "FiscalAuthError",
    "FiscalError",
    "FiscalProvider",
    "FiscalReceiptNotFound",
    "FiscalRejected",
    "FiscalShiftNotOpen",
    "FiscalTransientError",
    "Good",
    "NoneProvider",
    "PaymentPart",
    "PaymentTotals",
    "PaymentType",
    "ReceiptResult",
    "ReceiptStatus",
    "Report",
    "SellReceipt",
    "Shift",
    "ShiftStatus",
    "XReport",
    "ZReport",
    "line_total",
    "make_provider",
]
