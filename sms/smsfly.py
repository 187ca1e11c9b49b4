"""SMS-fly API v2 (`POST https://sms-fly.ua/api/v2/api.php`, action SENDMESSAGE).

Answers `{"success": 1, "data": {"messageID": ..., "sms": {"status": ...}}}` or
`{"success": 0, "error": {"code": ..., "description": ...}}`. Error codes as handled by
SMS-fly's own WordPress module: FORBIDDEN, INSUFFICIENTFUNDS, INVTEXT, INVROUTE, INVSOURCE,
ERRPHONES; channel statuses as in public v2 clients (ACCEPTD, PENDING, ..., ERROR, STOPED).
"""

from __future__ import annotations

from typing import Any

import httpx

from sms.base import DEFAULT_TIMEOUT, HttpSmsProvider, SmsResult

DEFAULT_API_URL = "https://sms-fly.ua/api/v2/api.php"
DEFAULT_TTL_MINUTES = 1440  # a "ready for pickup" text a day late is still useful

# Every documented error is about the account, the number or the request: none heals by
# itself, and unknown codes are treated the same way (staff are told, nothing loops).
EXPLAINED = {
    "FORBIDDEN": "access denied: wrong API key or blocked account",
    "INSUFFICIENTFUNDS": "not enough balance",
    "INVTEXT": "invalid or empty text",
    "INVROUTE": "invalid phone number",
    "INVSOURCE": "invalid sender name",
    "ERRPHONES": "phone number is in the stop list",
}

# Channel statuses in a success answer that still mean "not sent".
FAILED_STATUSES = {
    "INSUFFICIENTFUNDS": True,
    "STOPED": True,  # sic: stopped by the system
    "REJECTD": True,
    "UNDELIV": True,
    "EXPIRED": True,
    "ERROR": False,  # a sending error on their side: worth another try
}


class SmsFlyProvider(HttpSmsProvider):
    name = "smsfly"

    def __init__(
        self,
        *,
        api_key: str,
        sender: str,
        api_url: str = DEFAULT_API_URL,
        ttl_minutes: int = DEFAULT_TTL_MINUTES,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(timeout=timeout, transport=transport)
        self._api_key = api_key
        self._sender = sender
        self._url = api_url
        self._ttl = ttl_minutes

    async def send(self, phone_e164: str, text: str) -> SmsResult:
        digits = self._precheck(phone_e164, text)
        if isinstance(digits, SmsResult):
            return digits
        body = await self._post_json(
            self._url,
            {
                "auth": {"key": self._api_key},
                "action": "SENDMESSAGE",
                "data": {
                    "recipient": digits,
                    "channels": ["sms"],
                    "sms": {"source": self._sender, "ttl": self._ttl, "text": text},
                },
            },
        )
        if isinstance(body, SmsResult):
            return body
        return self._parse(body)

    def _parse(self, body: dict[str, Any]) -> SmsResult:
        success = body.get("success")
        if success in (1, True, "1"):
            data = _dict(body.get("data"))
            sms = _dict(data.get("sms"))
            status = str(sms.get("status") or "")
            if status in FAILED_STATUSES:
                return self._fail(f"sms status {status}", permanent=FAILED_STATUSES[status])
            message_id = data.get("messageID")
            return SmsResult.sent(self.name, str(message_id) if message_id else None)
        if success not in (0, False, "0"):
            return self._fail(f"unexpected response: {str(body)[:200]}", permanent=False)

        error = _dict(body.get("error"))
        code = str(error.get("code") or "UNKNOWN")
        description = str(error.get("description") or EXPLAINED.get(code, "")).strip()
        return self._fail(f"{code} ({description})" if description else code, permanent=True)


def _dict(value: object) -> dict[str, Any]:
    """A JSON object from the gateway's answer, or {} when it sent something else."""
    return value if isinstance(value, dict) else {}
