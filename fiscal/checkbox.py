"""Checkbox PRRO (https://checkbox.ua) over httpx.

Safety rule: a receipt is POSTed at most once per call and never re-POSTed after a lost
answer. Anything that may have reached Checkbox ends in `FiscalTransientError`, and the
caller reads the outcome by id with `receipt_status()`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from importlib import metadata
from typing import Any

import httpx

from fiscal.base import AsyncClosing, require_return, require_service_value
from fiscal.checkbox_wire import (
    error_text,
    is_shift_not_open,
    parse_receipt,
    parse_report,
    parse_shift,
    receipt_payload,
    service_payload,
    transaction_error,
)
from fiscal.errors import (
    FiscalAuthError,
    FiscalError,
    FiscalReceiptNotFound,
    FiscalRejected,
    FiscalShiftNotOpen,
    FiscalTransientError,
)
from fiscal.models import ReceiptResult, Report, SellReceipt, Shift

DEFAULT_API_URL = "https://api.checkbox.ua/api/v1"


def _package_version() -> str:
    try:
        return metadata.version("servicedesk-bot")
    except metadata.PackageNotFoundError:
        return "0.1.0"


class CheckboxProvider(AsyncClosing):
    """`FISCAL_PROVIDER=checkbox`. One instance per cash register (licence key)."""

    def __init__(
        self,
        *,
        license_key: str,
        pin_code: str,
        api_url: str = DEFAULT_API_URL,
        client_name: str = "servicedesk-bot",
        client_version: str | None = None,
        timeout: float = 15.0,
        poll_interval: float = 1.0,
        poll_attempts: int = 30,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._pin_code = pin_code
        self._poll_interval = poll_interval
        self._poll_attempts = max(1, poll_attempts)
        self._token: str | None = None
        self._sign_in_lock = asyncio.Lock()
        self._client = httpx.AsyncClient(
            base_url=api_url,
            timeout=timeout,
            transport=transport,
            headers={
                "X-Client-Name": client_name,
                "X-Client-Version": client_version or _package_version(),
                "X-License-Key": license_key,
            },
        )

    @property
    def is_fiscal(self) -> bool:
        return True

    # --- session ---------------------------------------------------------------------

    async def sign_in(self) -> None:
        resp = await self._raw("POST", "/cashier/signinPinCode", json={"pin_code": self._pin_code})
        if resp.status_code >= 400:
            raise FiscalAuthError(
                f"Checkbox sign-in refused: {error_text(resp)}", status_code=resp.status_code
            )
        body = self._json(resp) if resp.content else None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise FiscalAuthError("Checkbox sign-in answered without access_token")
        self._token = token

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- shifts ----------------------------------------------------------------------

    async def current_shift(self) -> Shift | None:
        data = await self._call("GET", "/cashier/shift")
        if not isinstance(data, dict) or not data.get("id"):
            return None
        shift = parse_shift(data)
        return None if shift.status == "CLOSED" else shift

    async def open_shift(self) -> Shift:
        shift = await self.current_shift()
        if shift is not None and shift.status == "CLOSING":
            raise FiscalTransientError("the shift is closing; open a new one when it is closed")
        if shift is None:
            try:
                shift = parse_shift(await self._call_obj("POST", "/shifts", json={}))
            except FiscalRejected:
                # Opened meanwhile by another task or device: carry on with that shift.
                shift = await self.current_shift()
                if shift is None:
                    raise
        return await self._poll_shift(shift, lambda s: s.status == "OPENED", failed="CLOSED",
                                      transaction="initial_transaction", action="open")

    async def close_shift(self) -> Report:
        shift = parse_shift(await self._call_obj("POST", "/shifts/close", json={}))
        shift = await self._poll_shift(
            shift, lambda s: s.status == "CLOSED" and isinstance(s.raw.get("z_report"), dict),
            failed="OPENED", transaction="closing_transaction", action="close")
        return parse_report(shift.raw["z_report"])

    async def x_report(self) -> Report:
        return parse_report(await self._call_obj("POST", "/reports", json={}))

    async def _get_shift(self, shift_id: uuid.UUID) -> Shift:
        return parse_shift(await self._call_obj("GET", f"/shifts/{shift_id}"))

    async def _poll_shift(self, shift: Shift, ready: Callable[[Shift], bool], *, failed: str,
                          transaction: str, action: str) -> Shift:
        """Re-read the shift until `ready`; FiscalRejected when it falls back to `failed`."""
        for _ in range(self._poll_attempts):
            if ready(shift):
                return shift
            if shift.status == failed:
                reason = transaction_error(shift.raw, transaction) or "no reason given"
                raise FiscalRejected(f"Checkbox could not {action} the shift: {reason}")
            await asyncio.sleep(self._poll_interval)
            shift = await self._get_shift(shift.id)
        raise FiscalTransientError(f"shift {shift.id} still {shift.status} after polling")

    # --- receipts --------------------------------------------------------------------

    async def sell(self, receipt: SellReceipt) -> ReceiptResult:
        body = receipt_payload(receipt, is_return=False)
        return await self._create_receipt("/receipts/sell", receipt.id, body)

    async def return_(self, receipt: SellReceipt) -> ReceiptResult:
        require_return(receipt)
        body = receipt_payload(receipt, is_return=True)
        return await self._create_receipt("/receipts/sell", receipt.id, body)

    async def service(self, receipt_id: uuid.UUID, value_kopecks: int) -> ReceiptResult:
        require_service_value(value_kopecks)
        body = service_payload(receipt_id, value_kopecks)
        return await self._create_receipt("/receipts/service", receipt_id, body)

    async def receipt_status(self, receipt_id: uuid.UUID) -> ReceiptResult:
        resp = await self._send("GET", f"/receipts/{receipt_id}")
        if resp.status_code == 404:
            raise FiscalReceiptNotFound(
                f"Checkbox has no receipt {receipt_id}", status_code=404, receipt_id=receipt_id
            )
        if resp.status_code >= 400:
            raise self._error(resp)
        return parse_receipt(self._obj(self._json(resp)))

    async def _create_receipt(
        self, path: str, receipt_id: uuid.UUID, body: dict[str, Any]
    ) -> ReceiptResult:
        try:
            data = await self._call_obj("POST", path, json=body)
        except FiscalTransientError as exc:
            # The sale may be in Checkbox already: only reading it by id is safe now.
            raise FiscalTransientError(
                f"{exc.message}; receipt {receipt_id} may exist, check receipt_status()",
                status_code=exc.status_code,
                receipt_id=receipt_id,
            ) from exc
        except (FiscalRejected, FiscalShiftNotOpen) as exc:
            # A repeat of an id Checkbox already has is refused; that receipt is ours.
            existing = await self._find_receipt(receipt_id)
            if existing is None:
                exc.receipt_id = receipt_id
                raise
            return await self._settle(existing)
        return await self._settle(parse_receipt(data))

    async def _find_receipt(self, receipt_id: uuid.UUID) -> ReceiptResult | None:
        try:
            return await self.receipt_status(receipt_id)
        except FiscalReceiptNotFound:
            return None

    async def _settle(self, result: ReceiptResult) -> ReceiptResult:
        """Poll until DONE (returned) or ERROR (raised), within the bound."""
        for attempt in range(self._poll_attempts + 1):
            if result.status == "DONE":
                return result
            if result.status in ("ERROR", "CANCELLED"):
                raise FiscalRejected(
                    f"Checkbox rejected receipt {result.id}: {result.error}",
                    receipt_id=result.id,
                    result=result,
                )
            if attempt == self._poll_attempts:
                break
            await asyncio.sleep(self._poll_interval)
            try:
                result = await self.receipt_status(result.id)
            except (FiscalTransientError, FiscalReceiptNotFound):
                continue  # a hiccup while polling; the receipt itself is already accepted
        raise FiscalTransientError(
            f"receipt {result.id} still {result.status} after {self._poll_attempts} polls; "
            "check receipt_status() later",
            receipt_id=result.id,
        )

    # --- HTTP ------------------------------------------------------------------------

    async def _call(self, method: str, path: str, *, json: Any = None) -> Any:
        resp = await self._send(method, path, json=json)
        if resp.status_code >= 400:
            raise self._error(resp)
        return self._json(resp) if resp.content else None

    async def _call_obj(self, method: str, path: str, *, json: Any = None) -> dict[str, Any]:
        return self._obj(await self._call(method, path, json=json))

    @staticmethod
    def _obj(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or "id" not in data:
            raise FiscalTransientError("Checkbox answered without the expected object")
        return data

    async def _send(self, method: str, path: str, *, json: Any = None) -> httpx.Response:
        if self._token is None:
            await self._refresh_token(stale=None)
        token = self._token
        resp = await self._raw(method, path, json=json, token=token)
        if resp.status_code == 401:
            # Expired token: Checkbox refused before doing anything, so one repeat is safe.
            await self._refresh_token(stale=token)
            resp = await self._raw(method, path, json=json, token=self._token)
        return resp

    async def _refresh_token(self, stale: str | None) -> None:
        async with self._sign_in_lock:
            # Another task may have signed in while this one waited.
            if self._token == stale:
                await self.sign_in()

    async def _raw(
        self, method: str, path: str, *, json: Any = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            resp = await self._client.request(method, path, json=json, headers=headers)
        except httpx.TimeoutException as exc:
            raise FiscalTransientError(f"Checkbox timed out on {method} {path}") from exc
        except httpx.RequestError as exc:
            raise FiscalTransientError(
                f"Checkbox unreachable on {method} {path}: {type(exc).__name__}"
            ) from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise FiscalTransientError(
                f"Checkbox answered {resp.status_code} on {method} {path}: {error_text(resp)}",
                status_code=resp.status_code,
            )
        return resp

    @staticmethod
    def _json(resp: httpx.Response) -> Any:
        try:
            return resp.json()
        except ValueError as exc:
            # A garbled 2xx (proxy page, cut body) tells nothing about the outcome.
            raise FiscalTransientError(f"Checkbox sent a non-JSON {resp.status_code}") from exc

    @staticmethod
    def _error(resp: httpx.Response) -> FiscalError:
        text = error_text(resp)
        code = resp.status_code
        if code in (401, 403):
            return FiscalAuthError(f"Checkbox refused access: {text}", status_code=code)
        if is_shift_not_open(text):
            return FiscalShiftNotOpen(text, status_code=code)
        return FiscalRejected(f"Checkbox refused ({code}): {text}", status_code=code)
