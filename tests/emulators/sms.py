"""Local emulators of the TurboSMS and SMS-fly HTTP APIs, for unit and end-to-end tests.

    async with TurboSmsEmulator(token="t0k") as gw:
        provider = TurboSmsProvider(token="t0k", sender="Shop", api_url=gw.api_url)
        ...
        assert gw.sent[0].phone == "380501234567"

Each emulator listens on 127.0.0.1 (free port), records every request, CHECKS it against what
the real service expects and answers the way the real service does. A request our code should
never send (wrong path or method, missing header, bad JSON shape, "+" in the phone, empty
sender or text) is listed in `violations`; with `strict=True` (default) leaving the `async with`
block then fails the test.

Fault knobs: `fail_next(k, status)` (next k requests get an HTTP 5xx), `delay` (seconds before
answering, to provoke client timeouts), `stoplist` (phones as "380..." digits),
`balance_empty`, a wrong token/key (`token`/`api_key` is what the emulator accepts), and
`script(body, ...)` (answer the next valid requests with these raw JSON bodies).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from multidict import CIMultiDict

UA_MOBILE = re.compile(r"380\d{9}")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: CIMultiDict[str]
    body: bytes
    json: Any  # None when the body is not JSON


@dataclass(frozen=True)
class SentSms:
    """A message the emulated gateway accepted for delivery."""

    phone: str  # digits, as sent: "380501234567"
    text: str
    sender: str
    message_id: str


class _GatewayEmulator:
    api_path = "/"

    def __init__(self, *, allowed_senders: set[str] | None = None, strict: bool = True) -> None:
        self.allowed_senders = allowed_senders  # None: any non-empty sender is registered
        self.strict = strict
        self.requests: list[RecordedRequest] = []
        self.sent: list[SentSms] = []
        self.violations: list[str] = []
        self.stoplist: set[str] = set()
        self.balance_empty = False
        self.delay = 0.0
        self._fail_count = 0
        self._fail_status = 503
        self._scripted: list[Any] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- knobs ---------------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """The next `count` requests get HTTP `status` with an HTML body, like a broken proxy."""
        self._fail_count = count
        self._fail_status = status

    def script(self, *bodies: Any) -> None:
        """Answer the next valid requests with these JSON bodies instead of the normal logic."""
        self._scripted.extend(bodies)

    # -- inspection ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """What to pass as TURBOSMS_API_URL / SMSFLY_API_URL."""
        return self.base_url + self.api_path.rstrip("/")

    @property
    def last_json(self) -> Any:
        return self.requests[-1].json

    def assert_no_violations(self) -> None:
        assert not self.violations, "requests the real gateway would reject:\n" + "\n".join(
            self.violations
        )

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()  # wake handlers sleeping in `delay` so shutdown is instant
        if self._runner is not None:
            await self._runner.cleanup()
        if self.strict and exc_type is None:
            self.assert_no_violations()

    # -- request handling ----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        self.requests.append(
            RecordedRequest(
                request.method, request.path, CIMultiDict(request.headers), body, payload
            )
        )
        if self.delay > 0:
            try:
                await asyncio.wait_for(self._closing.wait(), self.delay)
                return web.Response(status=503)  # shutting down mid-delay
            except TimeoutError:
                pass
        if self._fail_count > 0:
            self._fail_count -= 1
            return web.Response(
                status=self._fail_status, text="<html>Bad Gateway</html>", content_type="text/html"
            )
        if request.path != self.api_path:
            self._violation(f"{request.method} {request.path}: wrong path, want {self.api_path}")
            return web.Response(status=404, text="Not Found")
        if request.method != "POST":
            self._violation(f"{request.method} {request.path}: want POST")
            return web.Response(status=405, text="Method Not Allowed")
        if request.content_type != "application/json":
            self._violation(f"Content-Type {request.content_type!r}, want application/json")
        return self._answer(request, payload)

    def _answer(self, request: web.Request, payload: Any) -> web.Response:
        raise NotImplementedError

    def _violation(self, text: str) -> None:
        self.violations.append(text)

    def _check_phone(self, phone: object) -> str | None:
        """The phone if it is "380" + 9 digits, else None (and a violation if not digits)."""
        if not isinstance(phone, str) or not phone.isdigit():
            self._violation(f"recipient {phone!r} must be a string of digits like 380501234567")
            return None
        return phone if UA_MOBILE.fullmatch(phone) else None

    def _check_text(self, where: str, value: object) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self._violation(f"{where} must be a non-empty string, got {value!r}")
            return None
        return value


class TurboSmsEmulator(_GatewayEmulator):
    """`POST /message/send.json`, `Authorization: Bearer <token>`; always HTTP 200 with
    `response_code` (800 accepted; 103 no token, 105 wrong token, 203 no balance,
    305 bad phone, 404 stop list, 200/201/202 missing sender/text/recipients, ...)."""

    api_path = "/message/send.json"

    def __init__(self, *, token: str = "test-token", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = token

    @property
    def api_url(self) -> str:
        return self.base_url  # the client appends /message/send.json itself

    def _answer(self, request: web.Request, payload: Any) -> web.Response:
        refused = self._check_token(request)
        if refused is not None:
            return refused
        if not isinstance(payload, dict):
            self._violation(f"body is not a JSON object: {request.content_length} bytes")
            return _turbo(502, "FAILED_PARSE_BODY")
        parsed = self._parse_message(payload)
        if isinstance(parsed, web.Response):
            return parsed
        sender, text, recipients = parsed
        if self.allowed_senders is not None and sender not in self.allowed_senders:
            return _turbo(400, "NOT_ALLOWED_MESSAGE_SENDER")
        if self.balance_empty:
            return _turbo(203, "REQUIRED_BALANCE")
        if self._scripted:
            return web.json_response(self._scripted.pop(0))
        return self._send_all(recipients, sender, text)

    def _check_token(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth.removeprefix("Bearer ").strip():
            self._violation(f"Authorization header {auth!r}, want 'Bearer <token>'")
            return _turbo(103, "REQUIRED_TOKEN")
        if auth.removeprefix("Bearer ").strip() != self.token:
            return _turbo(105, "REQUIRED_AUTH")
        return None

    def _parse_message(self, payload: dict[str, Any]) -> web.Response | tuple[str, str, list[Any]]:
        """(sender, text, recipients) of a well-formed request, else TurboSMS's refusal."""
        if extra := set(payload) - {"recipients", "sms", "sequence_id"}:
            self._violation(f"unexpected top-level keys {sorted(extra)}")
        sms = payload.get("sms")
        if not isinstance(sms, dict):
            self._violation(f"'sms' must be an object, got {sms!r}")
            return _turbo(300, "INVALID_REQUEST")
        if extra := set(sms) - {"sender", "text"}:
            self._violation(f"unexpected sms keys {sorted(extra)}")
        sender = self._check_text("sms.sender", sms.get("sender"))
        if sender is None:
            return _turbo(200, "REQUIRED_MESSAGE_SENDER")
        text = self._check_text("sms.text", sms.get("text"))
        if text is None:
            return _turbo(201, "REQUIRED_MESSAGE_TEXT")
        recipients = payload.get("recipients")
        if not isinstance(recipients, list) or not recipients:
            self._violation(f"'recipients' must be a non-empty list, got {recipients!r}")
            return _turbo(202, "REQUIRED_MESSAGE_RECIPIENT")
        return sender, text, recipients

    def _send_all(self, recipients: list[Any], sender: str, text: str) -> web.Response:
        results = [self._one(phone, sender, text) for phone in recipients]
        accepted = [r for r in results if r["response_code"] == 0]
        if len(accepted) == len(results):
            return _turbo(800, "SUCCESS_MESSAGE_ACCEPTED", results)
        if accepted:
            return _turbo(802, "SUCCESS_MESSAGE_PARTIAL_ACCEPTED", results)
        first = results[0]
        return _turbo(first["response_code"], first["response_status"], results)

    def _one(self, phone: object, sender: str, text: str) -> dict[str, Any]:
        digits = self._check_phone(phone)
        if digits is None:
            return _recipient(phone, 305, "INVALID_PHONE")
        if digits in self.stoplist:
            return _recipient(digits, 404, "NOT_ALLOWED_NUMBER_STOPLIST")
        message_id = str(uuid.uuid4())
        self.sent.append(SentSms(digits, text, sender, message_id))
        return _recipient(digits, 0, "OK", message_id)


class SmsFlyEmulator(_GatewayEmulator):
    """`POST /api/v2/api.php` with `{"auth":{"key"},"action":"SENDMESSAGE","data":{...}}`;
    answers `{"success":1,"data":{"messageID",...}}` or `{"success":0,"error":{"code",...}}`
    (FORBIDDEN wrong key, INSUFFICIENTFUNDS, INVROUTE bad phone, ERRPHONES stop list,
    INVSOURCE, INVTEXT)."""

    api_path = "/api/v2/api.php"

    def __init__(self, *, api_key: str = "test-key", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key

    def _answer(self, request: web.Request, payload: Any) -> web.Response:
        data = self._envelope(payload)
        if isinstance(data, web.Response):
            return data
        parsed = self._parse_sms(data)
        if isinstance(parsed, web.Response):
            return parsed
        source, text, digits = parsed
        if self.balance_empty:
            return _fly_error("INSUFFICIENTFUNDS", "Insufficient funds")
        if digits in self.stoplist:
            return _fly_error("ERRPHONES", "Recipient is in the stop list")
        if self._scripted:
            return web.json_response(self._scripted.pop(0))

        message_id = "FAPI" + uuid.uuid4().hex[:16].upper()
        self.sent.append(SentSms(digits, text, source, message_id))
        return web.json_response(
            {
                "success": 1,
                "date": _now(),
                "data": {
                    "messageID": message_id,
                    "sms": {"status": "ACCEPTD", "date": _now(), "cost": "0.979"},
                },
            }
        )

    def _envelope(self, payload: Any) -> web.Response | dict[str, Any]:
        """The `data` object of an authorised SENDMESSAGE request, else SMS-fly's refusal."""
        if not isinstance(payload, dict):
            self._violation("body is not a JSON object")
            return _fly_error("INVREQUEST", "Invalid request")
        if extra := set(payload) - {"auth", "action", "data"}:
            self._violation(f"unexpected top-level keys {sorted(extra)}")
        auth = payload.get("auth")
        if not isinstance(auth, dict) or not isinstance(auth.get("key"), str):
            self._violation(f"'auth' must be {{'key': <api key>}}, got {auth!r}")
            return _fly_error("FORBIDDEN", "Access denied")
        if auth["key"] != self.api_key:
            return _fly_error("FORBIDDEN", "Access denied")
        if payload.get("action") != "SENDMESSAGE":
            self._violation(f"action {payload.get('action')!r}, want 'SENDMESSAGE'")
            return _fly_error("INVREQUEST", "Unknown action")
        data = payload.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("sms"), dict):
            self._violation(f"'data' must hold recipient, channels and sms, got {data!r}")
            return _fly_error("INVREQUEST", "Invalid request")
        if data.get("channels") != ["sms"]:
            self._violation(f"channels {data.get('channels')!r}, want ['sms']")
        return data

    def _parse_sms(self, data: dict[str, Any]) -> web.Response | tuple[str, str, str]:
        """(source, text, recipient digits) of a well-formed message, else SMS-fly's refusal."""
        sms = data["sms"]
        if extra := set(sms) - {"source", "ttl", "text"}:
            self._violation(f"unexpected sms keys {sorted(extra)}")
        ttl = sms.get("ttl")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            self._violation(f"sms.ttl must be a positive integer (minutes), got {ttl!r}")
        source = self._check_text("sms.source", sms.get("source"))
        if source is None or (
            self.allowed_senders is not None and source not in self.allowed_senders
        ):
            return _fly_error("INVSOURCE", "Invalid source")
        text = self._check_text("sms.text", sms.get("text"))
        if text is None:
            return _fly_error("INVTEXT", "Invalid text")
        digits = self._check_phone(data.get("recipient"))
        if digits is None:
            return _fly_error("INVROUTE", "Invalid recipient")
        return source, text, digits


def _turbo(code: int, status: str, result: Any = None) -> web.Response:
    body = {"response_code": code, "response_status": status, "response_result": result}
    return web.json_response(body)  # TurboSMS answers 200 to every well-formed HTTP request


def _recipient(
    phone: object, code: int, status: str, message_id: str | None = None
) -> dict[str, Any]:
    return {
        "phone": phone,
        "response_code": code,
        "message_id": message_id,
        "response_status": status,
    }


def _fly_error(code: str, description: str) -> web.Response:
    return web.json_response(
        {"success": 0, "date": _now(), "error": {"code": code, "description": description}}
    )


def _now() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
