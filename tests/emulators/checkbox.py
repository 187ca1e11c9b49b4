"""A Checkbox PRRO emulator: an aiohttp app that checks requests the way the real API does.

Use from tests::

    emu = CheckboxEmulator(license_key="lic", pin_code="1234", receipt_polls=2)
    async with emu.serve() as base_url:          # http://127.0.0.1:<free port>/api/v1
        provider = CheckboxProvider(api_url=base_url, license_key="lic", pin_code="1234")
        ...
        assert emu.post_attempts[str(receipt_id)] == 1

    async with CheckboxEmulator() as emu:        # the same, like the SMS/Telegram emulators
        settings.CHECKBOX_API_URL = emu.api_url

Or standalone for end-to-end runs: ``python -m tests.emulators.checkbox --port 8099``.

It is deliberately independent of ``fiscal/`` (no imports from it), so it tests the provider
instead of agreeing with it. Behaviour follows public Checkbox SDKs and docs: FastAPI-style 422
``{"detail": [...]}`` for malformed bodies, 400 ``{"message": ...}`` for refusals, 401 for a
bad/expired token, 403 without one or with an unknown licence key.

Fault knobs (each applies to the next matching requests; ``path`` is relative to /api/v1 and
may be concrete, ``/receipts/<uuid>``, or a route template, ``/receipts/{receipt_id}``):

* ``fail_next(path, times=, status=, body=)`` - answer an error (5xx by default) untouched.
* ``delay_next(path, seconds, before=False, receipt_id=None)`` - process, then sleep before
  answering (or sleep first with ``before=True``); longer than the client timeout means a
  timed-out client. With ``receipt_id`` only a POST whose body has that ``id`` matches (a late
  answer for one given receipt).
* ``lose_response_next(path, drop=True)`` - process (the receipt is made), then drop the
  connection (or answer 502 with ``drop=False``).
* ``force_error(receipt_id=None, message=)`` - that receipt (or the next one) ends in ERROR.
* ``expire_tokens()`` - every issued token answers 401 from now on.
* ``close_shift_now()`` / ``open_shift_now()`` - change the shift behind the client's back.

Observations: ``requests`` (every request, with the status the client got; None = dropped),
``count(method, path)``, ``receipts`` (id -> JSON as served), ``post_attempts`` (receipt POSTs
per id), ``fiscalized`` (receipt documents created per id; a correct client keeps it at 1);
``await wait_fiscalized(receipt_id)`` returns as soon as that receipt is created (no polling).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Self

from aiohttp import web

API_PREFIX = "/api/v1"
PAYMENT_TYPES = ("CASH", "CASHLESS")
PAYMENT_LABELS = {"CASH": "Готівка", "CASHLESS": "Картка"}
SHIFT_NOT_OPEN = "Зміну не відкрито"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Json = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _is_int(value: Any) -> bool:
    return type(value) is int


def _line_sum(price: int, quantity: int) -> int:
    return (price * quantity + 500) // 1000


def _json(payload: Any, status: int = 200) -> web.Response:
    # UTF-8 like the real API, so Ukrainian messages are readable in recordings and logs.
    return web.json_response(payload, status=status, dumps=_dumps)


def _dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


async def _read_json(request: web.Request) -> tuple[bool, Any]:
    """(parsed?, body); aiohttp caches the body, so the middleware and handler both read it."""
    if not request.body_exists:
        return True, None
    raw = await request.read()
    try:
        return True, json.loads(raw) if raw else None
    except ValueError:
        return False, raw.decode(errors="replace")


def _message(status: int, text: str) -> web.Response:
    return _json({"message": text}, status=status)


def _err(loc: list[Any], msg: str, kind: str) -> Json:
    return {"loc": ["body", *loc], "msg": msg, "type": kind}


def _invalid(errors: list[Json]) -> web.Response:
    return _json({"detail": errors}, status=422)


@dataclass
class RecordedRequest:
    method: str
    path: str  # relative to /api/v1
    headers: dict[str, str]
    json: Any
    status: int | None = None  # what the client received; None when the connection dropped


@dataclass
class _Fault:
    kind: Literal["fail", "delay", "lose"]
    path: str
    method: str | None
    times: int
    status: int = 500
    body: Any = None
    seconds: float = 0.0
    before: bool = False
    drop: bool = True
    receipt_id: str | None = None  # only a request whose JSON body has this "id"


@dataclass
class _Receipt:
    id: str
    type: str  # SELL, RETURN, SERVICE_IN, SERVICE_OUT
    serial: int
    shift_id: str
    goods: list[Json]
    payments: list[Json]
    discounts: list[Json]
    total_sum: int
    total_payment: int
    total_rest: int
    net: dict[str, int]  # kopecks per payment type after change, sign-free
    related_receipt_id: str | None = None
    status: str = "CREATED"
    polls: int = 0
    fiscal_code: str | None = None
    fiscal_date: datetime | None = None
    tax_url: str | None = None
    error: str | None = None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime | None = None


@dataclass
class _Shift:
    id: str
    serial: int
    initial: int
    status: str = "CREATED"
    polls: int = 0
    created_at: datetime = field(default_factory=_now)
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    z_report: Json | None = None
    receipt_ids: list[str] = field(default_factory=list)


class CheckboxEmulator:
    """State and behaviour of one cash register with one cashier."""

    def __init__(
        self,
        *,
        license_key: str = "test-license-key",
        pin_code: str = "1234",
        receipt_polls: int = 1,
        shift_polls: int = 1,
        initial_cash: int = 0,
        duplicate_status: int = 400,
        fiscal_number: str = "4000000001",
    ) -> None:
        self.license_keys: set[str] = {license_key}
        self.pin_codes: set[str] = {pin_code}
        self.receipt_polls = receipt_polls  # GETs of a receipt before it leaves CREATED
        self.shift_polls = shift_polls  # GETs of a shift before OPENED / CLOSED
        self.duplicate_status = duplicate_status
        self.fiscal_number = fiscal_number
        self.cash = initial_cash  # drawer between shifts

        self.requests: list[RecordedRequest] = []
        self.post_attempts: Counter[str] = Counter()
        self.fiscalized: Counter[str] = Counter()
        self._created = asyncio.Event()  # set at each receipt created; see wait_fiscalized
        self.tokens: dict[str, bool] = {}  # token -> still valid
        self._receipts: dict[str, _Receipt] = {}
        self._shifts: dict[str, _Shift] = {}
        self._current: _Shift | None = None
        self._faults: list[_Fault] = []
        self._forced_errors: dict[str, str] = {}
        self._next_errors: list[str] = []
        self._receipt_serial = 0
        self._shift_serial = 0
        self._report_serial = 0
        self._runner: web.AppRunner | None = None
        self._api_url: str | None = None

    # --- waiting -------------------------------------------------------------------

    async def wait_fiscalized(self, receipt_id: str, within: float = 60.0) -> int:
        """Wait until the receipt `receipt_id` is created; its `fiscalized` count. Woken by
        each creation, so it never polls; `within` (seconds) only ends a test whose client
        never sends it (TimeoutError)."""
        async with asyncio.timeout(within):
            while not self.fiscalized[receipt_id]:
                self._created.clear()
                await self._created.wait()
        return self.fiscalized[receipt_id]

    # --- knobs -----------------------------------------------------------------------

    def fail_next(
        self,
        path: str,
        *,
        times: int = 1,
        status: int = 500,
        body: Any = None,
        method: str | None = None,
    ) -> None:
        self._faults.append(_Fault("fail", path, method, times, status=status, body=body))

    def delay_next(
        self,
        path: str,
        seconds: float,
        *,
        times: int = 1,
        before: bool = False,
        method: str | None = None,
        receipt_id: uuid.UUID | str | None = None,
    ) -> None:
        self._faults.append(_Fault("delay", path, method, times, seconds=seconds, before=before,
                                   receipt_id=str(receipt_id) if receipt_id else None))

    def lose_response_next(
        self, path: str, *, times: int = 1, drop: bool = True, method: str | None = None
    ) -> None:
        self._faults.append(_Fault("lose", path, method, times, drop=drop))

    def force_error(
        self, receipt_id: uuid.UUID | str | None = None, message: str = "Помилка ДПС"
    ) -> None:
        if receipt_id is None:
            self._next_errors.append(message)
        else:
            self._forced_errors[str(receipt_id)] = message

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = False

    def open_shift_now(self) -> str:
        """An OPENED shift without any client call (e.g. opened from another device)."""
        if self._current is None:
            self._new_shift()
        assert self._current is not None
        self._set_opened(self._current)
        return self._current.id

    def close_shift_now(self) -> Json | None:
        """Close the shift behind the client's back; returns its Z-report."""
        shift = self._current
        if shift is None:
            return None
        self._close(shift)
        return shift.z_report

    # --- observations ----------------------------------------------------------------

    @property
    def receipts(self) -> dict[str, Json]:
        return {rid: self._receipt_json(r) for rid, r in self._receipts.items()}

    @property
    def current_shift(self) -> Json | None:
        return self._shift_json(self._current) if self._current else None

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and _path_matches(path, r.path)]

    def count(self, method: str, path: str) -> int:
        return len(self.requests_to(method, path))

    # --- serving ---------------------------------------------------------------------

    def make_app(self) -> web.Application:
        return create_app(self)

    @property
    def api_url(self) -> str:
        """Base URL to give the provider (CHECKBOX_API_URL), once started."""
        if self._api_url is None:
            raise RuntimeError("the emulator is not running")
        return self._api_url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        # handler_cancellation: a client that timed out must not keep a delayed handler alive.
        runner = web.AppRunner(
            create_app(self), handler_cancellation=True, shutdown_timeout=0.1, access_log=None
        )
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        self._api_url = f"http://{host}:{runner.addresses[0][1]}{API_PREFIX}"
        return self._api_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner, self._api_url = None, None

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Run on a free port for the block; yields the base URL ending in /api/v1."""
        url = await self.start(host, port)
        try:
            yield url
        finally:
            await self.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- request plumbing ------------------------------------------------------------

    async def _dispatch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        rel = request.path.removeprefix(API_PREFIX) or "/"
        template = _template(request)
        _, body = await _read_json(request)
        record = RecordedRequest(request.method, rel, dict(request.headers), body)
        self.requests.append(record)

        fault = self._take_fault(request.method, rel, template, body)
        if fault and fault.kind == "fail":
            record.status = fault.status
            payload = fault.body if fault.body is not None else {"message": "Internal error"}
            return _json(payload, status=fault.status)
        if fault and fault.kind == "delay" and fault.before:
            await asyncio.sleep(fault.seconds)

        response = await handler(request)
        record.status = response.status

        if fault and fault.kind == "delay" and not fault.before:
            await asyncio.sleep(fault.seconds)
        if fault and fault.kind == "lose":
            if not fault.drop:
                record.status = 502
                return _json({"message": "Bad Gateway"}, status=502)
            record.status = None
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # nothing more to send on a dead connection
        return response

    def _take_fault(self, method: str, rel: str, template: str | None, body: Any
                    ) -> _Fault | None:
        for fault in self._faults:
            if fault.times <= 0 or (fault.method and fault.method.upper() != method):
                continue
            if fault.receipt_id is not None and not (
                    isinstance(body, dict) and str(body.get("id")) == fault.receipt_id):
                continue
            if fault.path in (rel, template):
                fault.times -= 1
                return fault
        return None

    def _check_client(self, request: web.Request) -> web.Response | None:
        for header in ("X-Client-Name", "X-Client-Version"):
            if not request.headers.get(header):
                return _message(400, f"Не вказано заголовок {header}")
        if request.headers.get("X-License-Key") not in self.license_keys:
            return _message(403, "Невірний ключ ліцензії каси")
        return None

    def _check_auth(self, request: web.Request) -> web.Response | None:
        refused = self._check_client(request)
        if refused is not None:
            return refused
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _message(403, "Not authenticated")
        if not self.tokens.get(token):
            return _message(401, "Термін дії токена минув або токен недійсний")
        return None

    # --- handlers: cashier -----------------------------------------------------------

    async def h_signin(self, request: web.Request) -> web.Response:
        refused = self._check_client(request)
        if refused is not None:
            return refused
        _, body = await _read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("pin_code"), str):
            return _invalid([_err(["pin_code"], "field required", "value_error.missing")])
        if body["pin_code"] not in self.pin_codes:
            return _message(403, "Невірний пін-код касира")
        token = uuid.uuid4().hex
        self.tokens[token] = True
        return _json({"type": "bearer", "token_type": "bearer", "access_token": token})

    async def h_cashier_shift(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        return _json(self._shift_json(self._current) if self._current else None)

    # --- handlers: shifts ------------------------------------------------------------

    async def h_open_shift(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        if self._current is not None:
            return _message(400, "Касир вже працює з даною касою")
        shift = self._new_shift()
        if self.shift_polls <= 0:
            self._set_opened(shift)
        return _json(self._shift_json(shift), status=202)

    async def h_get_shift(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        shift_id = request.match_info["shift_id"]
        if _bad_uuid(shift_id):
            return _invalid(
                [
                    {
                        "loc": ["path", "shift_id"],
                        "msg": "value is not a valid uuid",
                        "type": "type_error.uuid",
                    }
                ]
            )
        shift = self._shifts.get(shift_id)
        if shift is None:
            return _message(404, "Зміну не знайдено")
        if shift.status in ("CREATED", "OPENING", "CLOSING"):
            shift.polls += 1
            if shift.polls >= self.shift_polls:
                if shift.status == "CLOSING":
                    self._close(shift)
                else:
                    self._set_opened(shift)
            elif shift.status == "CREATED":
                shift.status = "OPENING"
        return _json(self._shift_json(shift))

    async def h_close_shift(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        shift = self._current
        if shift is None or shift.status != "OPENED":
            return _message(400, SHIFT_NOT_OPEN)
        shift.status, shift.polls = "CLOSING", 0
        if self.shift_polls <= 0:
            self._close(shift)
        return _json(self._shift_json(shift), status=202)

    async def h_x_report(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        if self._current is None or self._current.status != "OPENED":
            return _message(400, SHIFT_NOT_OPEN)
        return _json(self._report(self._current, is_z=False), status=201)

    # --- handlers: receipts ----------------------------------------------------------

    async def h_sell(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        parsed, body = await _read_json(request)
        if not parsed or not isinstance(body, dict):
            return _invalid([_err([], "value is not a valid dict", "type_error.dict")])
        errors = _validate_sell(body)
        if errors:
            return _invalid(errors)
        receipt_id = str(uuid.UUID(body["id"])) if body.get("id") else str(uuid.uuid4())
        self.post_attempts[receipt_id] += 1
        if receipt_id in self._receipts:
            return _message(self.duplicate_status, f"Чек з ідентифікатором {receipt_id} вже існує")
        shift = self._current
        if shift is None or shift.status != "OPENED":
            return _message(400, SHIFT_NOT_OPEN)

        return self._sell(body, receipt_id, shift)

    def _sell(self, body: Json, receipt_id: str, shift: _Shift) -> web.Response:
        goods, total = _goods_with_sums(body["goods"])
        discounts = [dict(d) for d in body.get("discounts") or []]
        total += _discounts_sum(discounts, total)
        returns = {bool(g.get("is_return")) for g in body["goods"]}
        if len(returns) > 1:
            return _message(400, "Чек не може містити одночасно продаж і повернення")
        is_return = returns == {True}
        related = body.get("related_receipt_id")
        refusal = self._check_return(related, total) if is_return else None
        if refusal is not None:
            return _message(400, refusal)
        if total < 0:
            return _message(400, "Сума знижок перевищує суму чека")
        payments = body["payments"]
        paid = sum(p["value"] for p in payments)
        refusal = _payment_refusal(payments, paid, total)
        if refusal is not None:
            return _message(400, refusal)
        receipt = _Receipt(
            id=receipt_id,
            type="RETURN" if is_return else "SELL",
            serial=self._next_receipt_serial(),
            shift_id=shift.id,
            goods=goods,
            payments=[{"label": PAYMENT_LABELS[p["type"]], **p} for p in payments],
            discounts=discounts,
            total_sum=total,
            total_payment=paid,
            total_rest=paid - total,
            net=_net_payments(payments, paid - total),
            related_receipt_id=str(uuid.UUID(related)) if is_return else None,
        )
        return self._create(receipt, shift)

    async def h_service(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        parsed, body = await _read_json(request)
        if not parsed or not isinstance(body, dict):
            return _invalid([_err([], "value is not a valid dict", "type_error.dict")])
        errors = _validate_service(body)
        if errors:
            return _invalid(errors)
        receipt_id = str(uuid.UUID(body["id"])) if body.get("id") else str(uuid.uuid4())
        self.post_attempts[receipt_id] += 1
        if receipt_id in self._receipts:
            return _message(self.duplicate_status, f"Чек з ідентифікатором {receipt_id} вже існує")
        shift = self._current
        if shift is None or shift.status != "OPENED":
            return _message(400, SHIFT_NOT_OPEN)
        value = body["payment"]["value"]
        if value == 0:
            return _message(400, "Сума службового чека не може бути нульовою")
        if value < 0 and -value > self._balance(shift, include_pending=True):
            return _message(400, "Недостатньо готівки в касі для службової видачі")
        payment = {"type": "CASH", "label": PAYMENT_LABELS["CASH"], **body["payment"]}
        receipt = _Receipt(
            id=receipt_id,
            type="SERVICE_IN" if value > 0 else "SERVICE_OUT",
            serial=self._next_receipt_serial(),
            shift_id=shift.id,
            goods=[],
            payments=[payment],
            discounts=[],
            total_sum=abs(value),
            total_payment=abs(value),
            total_rest=0,
            net={"CASH": abs(value)},
        )
        return self._create(receipt, shift)

    async def h_get_receipt(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        receipt_id = request.match_info["receipt_id"]
        if _bad_uuid(receipt_id):
            return _invalid(
                [
                    {
                        "loc": ["path", "receipt_id"],
                        "msg": "value is not a valid uuid",
                        "type": "type_error.uuid",
                    }
                ]
            )
        receipt = self._receipts.get(str(uuid.UUID(receipt_id)))
        if receipt is None:
            return _message(404, "Чек не знайдено")
        if receipt.status == "CREATED":
            receipt.polls += 1
            if receipt.polls >= self.receipt_polls:
                self._finish(receipt)
        return _json(self._receipt_json(receipt))

    # --- domain ----------------------------------------------------------------------

    def _check_return(self, related: Any, total: int) -> str | None:
        if not related:
            return "Для чека повернення потрібно вказати related_receipt_id"
        sale = self._receipts.get(str(uuid.UUID(related)))
        if sale is None or sale.type != "SELL":
            return f"Чек продажу {related} не знайдено"
        if sale.status != "DONE":
            return f"Чек продажу {related} не фіскалізовано"
        returned = sum(
            r.total_sum
            for r in self._receipts.values()
            if r.type == "RETURN" and r.related_receipt_id == sale.id and r.status != "ERROR"
        )
        if returned + total > sale.total_sum:
            return "Сума повернення перевищує суму чека продажу"
        return None

    def _create(self, receipt: _Receipt, shift: _Shift) -> web.Response:
        self._receipts[receipt.id] = receipt
        shift.receipt_ids.append(receipt.id)
        self.fiscalized[receipt.id] += 1
        self._created.set()
        if self._next_errors and receipt.id not in self._forced_errors:
            self._forced_errors[receipt.id] = self._next_errors.pop(0)
        if self.receipt_polls <= 0:
            self._finish(receipt)
        return _json(self._receipt_json(receipt), status=201)

    def _finish(self, receipt: _Receipt) -> None:
        receipt.updated_at = _now()
        error = self._forced_errors.get(receipt.id)
        if error is not None:
            receipt.status, receipt.error = "ERROR", error
            return
        receipt.status = "DONE"
        receipt.fiscal_date = receipt.updated_at
        receipt.fiscal_code = f"TEST-{uuid.uuid4().hex[:10].upper()}"
        stamp = receipt.fiscal_date
        receipt.tax_url = (
            f"https://cabinet.tax.gov.ua/cashregs/check?fn={self.fiscal_number}"
            f"&id={receipt.fiscal_code}&date={stamp:%Y%m%d}&time={stamp:%H%M}"
            f"&sm={receipt.total_sum / 100:.2f}"
        )

    def _next_receipt_serial(self) -> int:
        self._receipt_serial += 1
        return self._receipt_serial

    def _new_shift(self) -> _Shift:
        self._shift_serial += 1
        shift = _Shift(id=str(uuid.uuid4()), serial=self._shift_serial, initial=self.cash)
        self._shifts[shift.id] = shift
        self._current = shift
        return shift

    def _set_opened(self, shift: _Shift) -> None:
        shift.status, shift.polls, shift.opened_at = "OPENED", 0, _now()

    def _close(self, shift: _Shift) -> None:
        # Checkbox finishes pending receipts before the Z-report.
        for rid in shift.receipt_ids:
            if self._receipts[rid].status == "CREATED":
                self._finish(self._receipts[rid])
        shift.z_report = self._report(shift, is_z=True)
        shift.status, shift.closed_at = "CLOSED", _now()
        self.cash = shift.z_report["balance"]
        if self._current is shift:
            self._current = None

    def _balance(self, shift: _Shift, *, include_pending: bool = False) -> int:
        statuses = ("DONE", "CREATED") if include_pending else ("DONE",)
        balance = shift.initial
        for rid in shift.receipt_ids:
            r = self._receipts[rid]
            if r.status in statuses:
                cash = r.net.get("CASH", 0)
                balance += -cash if r.type in ("RETURN", "SERVICE_OUT") else cash
        return balance

    def _report(self, shift: _Shift, *, is_z: bool) -> Json:
        sums = {t: Counter() for t in PAYMENT_TYPES}
        sells = returns = discounts = 0
        for rid in shift.receipt_ids:
            r = self._receipts[rid]
            if r.status != "DONE":
                continue
            key = {
                "SELL": "sell_sum",
                "RETURN": "return_sum",
                "SERVICE_IN": "service_in",
                "SERVICE_OUT": "service_out",
            }[r.type]
            for ptype, value in r.net.items():
                sums[ptype][key] += value
            sells += r.type == "SELL"
            returns += r.type == "RETURN"
            discounts += sum(d.get("sum", 0) for d in r.discounts)
        self._report_serial += 1
        return {
            "id": str(uuid.uuid4()),
            "serial": self._report_serial,
            "shift_id": shift.id,
            "is_z_report": is_z,
            "fiscal_code": f"TEST-Z{self._report_serial}" if is_z else None,
            "payments": [
                {
                    "id": str(uuid.uuid4()),
                    "type": ptype,
                    "label": PAYMENT_LABELS[ptype],
                    "sell_sum": sums[ptype]["sell_sum"],
                    "return_sum": sums[ptype]["return_sum"],
                    "service_in": sums[ptype]["service_in"],
                    "service_out": sums[ptype]["service_out"],
                    "cash_withdrawal": 0,
                    "cash_withdrawal_commission": 0,
                }
                for ptype in PAYMENT_TYPES
                if ptype == "CASH" or any(sums[ptype].values())
            ],
            "taxes": [],
            "sell_receipts_count": sells,
            "return_receipts_count": returns,
            "cash_withdrawal_receipts_count": 0,
            "transfers_count": 0,
            "transfers_sum": 0,
            "initial": shift.initial,
            "balance": self._balance(shift),
            "discounts_sum": discounts,
            "extra_charge_sum": 0,
            "created_at": _iso(_now()),
            "updated_at": None,
        }

    # --- JSON ------------------------------------------------------------------------

    def _shift_json(self, shift: _Shift) -> Json:
        opened = shift.status in ("OPENED", "CLOSING", "CLOSED") and shift.opened_at is not None
        return {
            "id": shift.id,
            "serial": shift.serial,
            "status": shift.status,
            "z_report": shift.z_report,
            "opened_at": _iso(shift.opened_at),
            "closed_at": _iso(shift.closed_at),
            "created_at": _iso(shift.created_at),
            "updated_at": None,
            "initial_transaction": {
                "id": str(uuid.uuid5(uuid.NAMESPACE_OID, shift.id)),
                "type": "SHIFT_OPEN",
                "status": "DONE" if opened else "PENDING",
                "response_error_message": None,
            },
            "closing_transaction": None,
            "balance": {
                "initial": shift.initial,
                "balance": self._balance(shift),
                "service_in": 0,
                "service_out": 0,
            },
            "taxes": [],
            "cashier": {"id": str(uuid.uuid5(uuid.NAMESPACE_OID, "cashier")), "full_name": "Тест"},
        }

    def _receipt_json(self, r: _Receipt) -> Json:
        shift = self._shifts[r.shift_id]
        return {
            "id": r.id,
            "type": r.type,
            "status": r.status,
            "serial": r.serial,
            "goods": r.goods,
            "payments": r.payments,
            "discounts": r.discounts,
            "total_sum": r.total_sum,
            "total_payment": r.total_payment,
            "total_rest": r.total_rest,
            "round_sum": 0,
            "fiscal_code": r.fiscal_code,
            "fiscal_date": _iso(r.fiscal_date),
            "tax_url": r.tax_url,
            "related_receipt_id": r.related_receipt_id,
            "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at),
            "is_created_offline": False,
            "is_sent_dps": r.status == "DONE",
            "transaction": {
                "id": str(uuid.uuid5(uuid.NAMESPACE_OID, r.id)),
                "type": "RECEIPT",
                "status": {"DONE": "DONE", "ERROR": "ERROR"}.get(r.status, "PENDING"),
                "response_status": "ERROR" if r.error else None,
                "response_error_message": r.error,
            },
            "shift": {"id": shift.id, "serial": shift.serial, "status": shift.status},
        }


# --- validation (FastAPI/pydantic-v1 style errors) --------------------------------------


def _bad_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return True
    return not isinstance(value, str)


def _check_int(errors: list[Json], loc: list[Any], value: Any, *, minimum: int | None) -> None:
    if value is None:
        errors.append(_err(loc, "field required", "value_error.missing"))
    elif not _is_int(value):
        errors.append(_err(loc, "value is not a valid integer", "type_error.integer"))
    elif minimum is not None and value < minimum:
        errors.append(
            _err(
                loc,
                f"ensure this value is greater than or equal to {minimum}",
                "value_error.number.not_ge",
            )
        )


def _check_str(errors: list[Json], loc: list[Any], value: Any) -> None:
    if value is None:
        errors.append(_err(loc, "field required", "value_error.missing"))
    elif not isinstance(value, str):
        errors.append(_err(loc, "str type expected", "type_error.str"))
    elif not value.strip():
        errors.append(
            _err(
                loc, "ensure this value has at least 1 characters", "value_error.any_str.min_length"
            )
        )


def _check_list(errors: list[Json], loc: list[Any], value: Any, *, required: bool) -> bool:
    if value is None:
        if required:
            errors.append(_err(loc, "field required", "value_error.missing"))
        return False
    if not isinstance(value, list):
        errors.append(_err(loc, "value is not a valid list", "type_error.list"))
        return False
    if required and not value:
        errors.append(
            _err(loc, "ensure this value has at least 1 items", "value_error.list.min_items")
        )
        return False
    return True


def _check_payment(errors: list[Json], loc: list[Any], p: Any, *, service: bool) -> None:
    if not isinstance(p, dict):
        errors.append(_err(loc, "value is not a valid dict", "type_error.dict"))
        return
    allowed = ("CASH",) if service else PAYMENT_TYPES
    if p.get("type", "CASH") not in allowed:
        permitted = ", ".join(f"'{t}'" for t in allowed)
        errors.append(
            _err(
                [*loc, "type"],
                f"value is not a valid enumeration member; permitted: {permitted}",
                "type_error.enum",
            )
        )
    _check_int(errors, [*loc, "value"], p.get("value"), minimum=None if service else 0)
    if "label" in p and p["label"] is not None and not isinstance(p["label"], str):
        errors.append(_err([*loc, "label"], "str type expected", "type_error.str"))


def _validate_sell(body: Json) -> list[Json]:
    errors: list[Json] = []
    for key in ("id", "related_receipt_id"):
        if body.get(key) is not None and _bad_uuid(body[key]):
            errors.append(_err([key], "value is not a valid uuid", "type_error.uuid"))
    if _check_list(errors, ["goods"], body.get("goods"), required=True):
        for i, item in enumerate(body["goods"]):
            _check_good(errors, ["goods", i], item)
    if _check_list(errors, ["payments"], body.get("payments"), required=True):
        for i, p in enumerate(body["payments"]):
            _check_payment(errors, ["payments", i], p, service=False)
    if _check_list(errors, ["discounts"], body.get("discounts"), required=False):
        for i, d in enumerate(body["discounts"]):
            _check_discount(errors, ["discounts", i], d)
    return errors


def _check_good(errors: list[Json], loc: list[Any], item: Any) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("good"), dict):
        errors.append(_err([*loc, "good"], "field required", "value_error.missing"))
        return
    good = item["good"]
    _check_str(errors, [*loc, "good", "code"], good.get("code"))
    _check_str(errors, [*loc, "good", "name"], good.get("name"))
    _check_int(errors, [*loc, "good", "price"], good.get("price"), minimum=0)
    _check_int(errors, [*loc, "quantity"], item.get("quantity"), minimum=1)
    if "is_return" in item and not isinstance(item["is_return"], bool):
        errors.append(
            _err([*loc, "is_return"], "value could not be parsed to a boolean", "type_error.bool")
        )


def _check_discount(errors: list[Json], loc: list[Any], d: Any) -> None:
    if (
        not isinstance(d, dict)
        or d.get("type") not in ("DISCOUNT", "EXTRA_CHARGE")
        or (d.get("mode") not in ("VALUE", "PERCENT"))
    ):
        errors.append(_err(loc, "invalid discount", "value_error"))
    elif d["mode"] == "VALUE":
        _check_int(errors, [*loc, "value"], d.get("value"), minimum=1)
    elif not isinstance(d.get("value"), int | float) or d["value"] <= 0:
        errors.append(
            _err(
                [*loc, "value"],
                "ensure this value is greater than 0",
                "value_error.number.not_gt",
            )
        )


def _validate_service(body: Json) -> list[Json]:
    errors: list[Json] = []
    if body.get("id") is not None and _bad_uuid(body["id"]):
        errors.append(_err(["id"], "value is not a valid uuid", "type_error.uuid"))
    if body.get("payment") is None:
        errors.append(_err(["payment"], "field required", "value_error.missing"))
    else:
        _check_payment(errors, ["payment"], body["payment"], service=True)
    return errors


def _goods_with_sums(goods: list[Json]) -> tuple[list[Json], int]:
    rows: list[Json] = []
    total = 0
    for item in goods:
        line = _line_sum(item["good"]["price"], item["quantity"])
        total += line
        rows.append(
            {
                "good": item["good"],
                "quantity": item["quantity"],
                "sum": line,
                "is_return": bool(item.get("is_return")),
                "taxes": [],
                "discounts": [],
            }
        )
    return rows, total


def _payment_refusal(payments: list[Json], paid: int, total: int) -> str | None:
    """Why Checkbox refuses these payments for this total (None: accepted)."""
    cash = sum(p["value"] for p in payments if p["type"] == "CASH")
    if paid < total:
        return f"Сума оплати ({paid}) менша за суму чека ({total})"
    if paid - total > cash:
        return "Решта можлива лише з готівки"
    return None


def _net_payments(payments: list[Json], rest: int) -> dict[str, int]:
    """What each payment type really brought in: the change comes out of the cash."""
    net: dict[str, int] = {}
    for p in payments:
        net[p["type"]] = net.get(p["type"], 0) + p["value"]
    if rest > 0:
        net["CASH"] -= rest
    return net


def _discounts_sum(discounts: list[Json], goods_total: int) -> int:
    """Signed change to the total; also writes each discount's `sum` like Checkbox does."""
    delta = 0
    for d in discounts:
        if d["mode"] == "VALUE":
            amount = d["value"]
        else:
            amount = round(goods_total * d["value"] / 100)
        d["sum"] = amount
        delta += -amount if d["type"] == "DISCOUNT" else amount
    return delta


# --- app ------------------------------------------------------------------------------

EMULATOR_KEY = web.AppKey("checkbox_emulator", CheckboxEmulator)


def _template(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    return resource.canonical.removeprefix(API_PREFIX)


def _path_matches(pattern: str, path: str) -> bool:
    if pattern == path:
        return True
    parts, actual = pattern.strip("/").split("/"), path.strip("/").split("/")
    if len(parts) != len(actual):
        return False
    return all(p == a or (p[:1], p[-1:]) == ("{", "}") for p, a in zip(parts, actual, strict=True))


@web.middleware
async def _emulator_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await request.app[EMULATOR_KEY]._dispatch(request, handler)


def create_app(emulator: CheckboxEmulator | None = None) -> web.Application:
    """The aiohttp application; state lives in `app[EMULATOR_KEY]`."""
    emu = emulator or CheckboxEmulator()
    app = web.Application(middlewares=[_emulator_middleware])
    app[EMULATOR_KEY] = emu
    p = API_PREFIX
    app.router.add_post(f"{p}/cashier/signinPinCode", emu.h_signin)
    app.router.add_get(f"{p}/cashier/shift", emu.h_cashier_shift)
    app.router.add_post(f"{p}/shifts", emu.h_open_shift)
    app.router.add_post(f"{p}/shifts/close", emu.h_close_shift)
    app.router.add_get(f"{p}/shifts/{{shift_id}}", emu.h_get_shift)
    app.router.add_post(f"{p}/receipts/sell", emu.h_sell)
    app.router.add_post(f"{p}/receipts/service", emu.h_service)
    app.router.add_get(f"{p}/receipts/{{receipt_id}}", emu.h_get_receipt)
    app.router.add_post(f"{p}/reports", emu.h_x_report)
    return app


@asynccontextmanager
async def serve_emulator(
    emulator: CheckboxEmulator | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run an emulator (a fresh one by default) on a free port; yields the base URL."""
    async with (emulator or CheckboxEmulator()).serve(host, port) as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description="Checkbox PRRO emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--license-key", default="test-license-key")
    parser.add_argument("--pin-code", default="1234")
    args = parser.parse_args()
    emu = CheckboxEmulator(license_key=args.license_key, pin_code=args.pin_code)
    print(f"Checkbox emulator on http://{args.host}:{args.port}{API_PREFIX}")
    web.run_app(create_app(emu), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
