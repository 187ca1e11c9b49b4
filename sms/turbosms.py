"""TurboSMS HTTP API (https://turbosms.ua/en/api.html), `message/send.json`.

The API answers HTTP 200 for every valid request; the outcome is `response_code`, at the top
level and again per recipient in `response_result`. Codes and their names follow TurboSMS's
published list (as mirrored by public client libraries).
"""

from __future__ import annotations

from typing import Any

import httpx

from sms.base import DEFAULT_TIMEOUT, HttpSmsProvider, SmsResult

DEFAULT_API_URL = "https://api.turbosms.ua"

# 0 OK; 800/801 accepted/sent; 802/803 accepted/sent for some recipients only.
SUCCESS_CODES = frozenset({0, 800, 801, 802, 803})
PARTIAL_CODES = frozenset({802, 803})
# Server-side faults where a later attempt may go through:
# 500/501 FAILED_CONVERT_RESULT2JSON/XML, 503 FAILED_SMS_SEND, 999 FATAL_ERROR.
TRANSIENT_CODES = frozenset({500, 501, 503, 999})
# 427 NOT_ALLOWED_MESSAGE_DUPLICATE: the same message was created in the last 90 s, i.e. an
# earlier attempt (usually one that timed out) already went through. Not worth a retry or alarm.
DUPLICATE_CODE = 427

# Short explanations for the codes staff will actually meet; everything else -> permanent.
EXPLAINED = {
    103: "no token sent",
    105: "wrong token",
    106: "account blocked",
    203: "not enough balance",
    301: "invalid token",
    302: "invalid sender",
    305: "invalid phone number",
    400: "sender not allowed for this account",
    401: "sender not active",
    404: "phone number is in the stop list",
    406: "recipient country not enabled",
    412: "text contains forbidden fragments",
    413: "text too long",
}


class TurboSmsProvider(HttpSmsProvider):
    name = "turbosms"

    def __init__(
        self,
        *,
        token: str,
        sender: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(timeout=timeout, transport=transport)
        self._token = token
        self._sender = sender
        self._url = api_url.rstrip("/") + "/message/send.json"

    async def send(self, phone_e164: str, text: str) -> SmsResult:
        digits = self._precheck(phone_e164, text)
        if isinstance(digits, SmsResult):
            return digits
        body = await self._post_json(
            self._url,
            {"recipients": [digits], "sms": {"sender": self._sender, "text": text}},
            headers={"Authorization": f"Bearer {self._token}"},
        )
        if isinstance(body, SmsResult):
            return body
        return self._parse(body, digits)

    def _parse(self, body: dict[str, Any], digits: str) -> SmsResult:
        code = _as_int(body.get("response_code"))
        status = str(body.get("response_status") or "")
        if code is None:
            return self._fail(f"no response_code in {str(body)[:200]}", permanent=False)
        if code not in SUCCESS_CODES:
            return self._by_code(code, status)

        entry = _recipient_entry(body.get("response_result"), digits)
        if entry is not None:
            entry_code = _as_int(entry.get("response_code"))
            if entry_code is not None and entry_code not in SUCCESS_CODES:
                return self._by_code(entry_code, str(entry.get("response_status") or ""))
            message_id = entry.get("message_id")
            return SmsResult.sent(self.name, str(message_id) if message_id else None)
        if code in PARTIAL_CODES:
            # "Some recipients were not included" and ours has no entry: it was not sent.
            return self._fail(f"{code} {status}: recipient not accepted", permanent=True)
        return SmsResult.sent(self.name, None)

    def _by_code(self, code: int, status: str) -> SmsResult:
        if code == DUPLICATE_CODE:
            return SmsResult.sent(self.name, None)
        detail = f"{code} {status}".strip()
        if code in EXPLAINED:
            detail += f" ({EXPLAINED[code]})"
        return self._fail(detail, permanent=code not in TRANSIENT_CODES)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _recipient_entry(result: object, digits: str) -> dict[str, Any] | None:
    """The `response_result` item for our phone (or the only item, if phones are omitted)."""
    if not isinstance(result, list):
        return None
    entries = [item for item in result if isinstance(item, dict)]
    for item in entries:
        if str(item.get("phone", "")).lstrip("+") == digits:
            return item
    return entries[0] if len(entries) == 1 else None
