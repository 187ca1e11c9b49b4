"""Checkbox JSON in and out: request bodies, response parsing, readable error text.

Kept apart from the HTTP code so the shapes can be read (and fixed) in one place.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from fiscal.models import PaymentTotals, ReceiptResult, Report, SellReceipt, Shift

# Texts Checkbox uses when there is no open shift for the cash register.
_SHIFT_NOT_OPEN_MARKERS = ("зміну не відкрито", "зміна не відкрита", "shift is not opened")


def receipt_payload(receipt: SellReceipt, *, is_return: bool) -> dict[str, Any]:
    goods: list[dict[str, Any]] = []
    for g in receipt.goods:
        line: dict[str, Any] = {
            "good": {"code": g.code, "name": g.name, "price": g.price},
            "quantity": g.quantity,
        }
        if is_return:
            line["is_return"] = True
        goods.append(line)
    payments: list[dict[str, Any]] = []
    for p in receipt.payments:
        payment: dict[str, Any] = {"type": p.type, "value": p.value}
        if p.label:
            payment["label"] = p.label
        payments.append(payment)
    body: dict[str, Any] = {"id": str(receipt.id), "goods": goods, "payments": payments}
    if receipt.discounts:
        body["discounts"] = [
            {"type": d.type, "mode": "VALUE", "value": d.value}
            | ({"name": d.name} if d.name else {})
            for d in receipt.discounts
        ]
    if is_return:
        body["related_receipt_id"] = str(receipt.related_receipt_id)
    return body


def service_payload(receipt_id: uuid.UUID, value_kopecks: int) -> dict[str, Any]:
    return {"id": str(receipt_id), "payment": {"type": "CASH", "value": value_kopecks}}


def parse_dt(value: Any) -> datetime | None:
    """Checkbox sends ISO strings, sometimes without an offset; those are UTC."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def transaction_error(data: dict[str, Any], key: str = "transaction") -> str | None:
    tx = data.get(key)
    if isinstance(tx, dict):
        text = tx.get("response_error_message") or tx.get("response_status")
        if text:
            return str(text)
    return None


def parse_receipt(data: dict[str, Any]) -> ReceiptResult:
    status = str(data.get("status") or "CREATED")
    error = None
    if status in ("ERROR", "CANCELLED"):
        error = transaction_error(data) or data.get("message") or f"receipt status {status}"
    return ReceiptResult(
        id=uuid.UUID(str(data["id"])),
        status=status,
        fiscal_code=data.get("fiscal_code") or None,
        fiscal_date=parse_dt(data.get("fiscal_date")),
        tax_url=data.get("tax_url") or None,
        error=error,
        type=data.get("type"),
        total_sum=data.get("total_sum") if isinstance(data.get("total_sum"), int) else None,
        raw=data,
    )


def parse_shift(data: dict[str, Any]) -> Shift:
    balance = data.get("balance")
    return Shift(
        id=uuid.UUID(str(data["id"])),
        status=str(data.get("status") or "CREATED"),
        serial=data.get("serial") if isinstance(data.get("serial"), int) else None,
        opened_at=parse_dt(data.get("opened_at")),
        closed_at=parse_dt(data.get("closed_at")),
        balance=_int(balance.get("balance")) if isinstance(balance, dict) else None,
        raw=data,
    )


def parse_report(data: dict[str, Any]) -> Report:
    payments = tuple(
        PaymentTotals(
            type=str(p.get("type") or ""),
            label=p.get("label"),
            sell_sum=_int(p.get("sell_sum")),
            return_sum=_int(p.get("return_sum")),
            service_in=_int(p.get("service_in")),
            service_out=_int(p.get("service_out")),
        )
        for p in data.get("payments") or ()
        if isinstance(p, dict)
    )
    return Report(
        id=_uuid(data.get("id")),
        shift_id=_uuid(data.get("shift_id")),
        is_z_report=bool(data.get("is_z_report")),
        payments=payments,
        sell_receipts_count=_int(data.get("sell_receipts_count")),
        return_receipts_count=_int(data.get("return_receipts_count")),
        initial=_int(data.get("initial")),
        balance=_int(data.get("balance")),
        serial=data.get("serial") if isinstance(data.get("serial"), int) else None,
        fiscal_code=data.get("fiscal_code") or None,
        created_at=parse_dt(data.get("created_at")),
        raw=data,
    )


def _detail_text(detail: Any) -> str:
    """FastAPI's 422 list becomes "goods.0.good.price: value is not a valid integer"."""
    if not isinstance(detail, list):
        return str(detail)
    parts = []
    for item in detail:
        if not isinstance(item, dict):
            parts.append(str(item))
            continue
        loc = ".".join(str(p) for p in item.get("loc") or () if p != "body")
        msg = str(item.get("msg") or item.get("type") or "invalid")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if body.get("message"):
            text = str(body["message"])
            if body.get("detail"):
                text += f" ({_detail_text(body['detail'])})"
            return text
        if body.get("detail"):
            return _detail_text(body["detail"])
    text = response.text.strip()[:300]
    return text or response.reason_phrase or f"HTTP {response.status_code}"


def is_shift_not_open(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _SHIFT_NOT_OPEN_MARKERS)
