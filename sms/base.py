"""The SMS provider contract and the HTTP plumbing shared by the real gateways.

Providers never raise for gateway or network trouble: they return an `SmsResult` whose
`permanent` flag tells the outbox worker whether a retry can help.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

logger = logging.getLogger("sms")

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class SmsResult:
    """Outcome of one send. `permanent=True`: retrying cannot help (bad phone, stop list,
    bad token, no balance); `False`: transient (timeout, 5xx, connection trouble)."""

    ok: bool
    provider: str
    message_id: str | None = None
    error: str | None = None
    permanent: bool = False

    @classmethod
    def sent(cls, provider: str, message_id: str | None) -> SmsResult:
        return cls(ok=True, provider=provider, message_id=message_id)

    @classmethod
    def failed(cls, provider: str, error: str, *, permanent: bool) -> SmsResult:
        return cls(ok=False, provider=provider, error=error, permanent=permanent)


class SmsProvider(ABC):
    """One way to deliver a text to a phone. Usable as an async context manager."""

    name: str

    @abstractmethod
    async def send(self, phone_e164: str, text: str) -> SmsResult:
        """Send `text` to `phone_e164` ("+380501234567"); never raises for delivery trouble."""

    async def aclose(self) -> None:  # noqa: B027 - most providers hold nothing to close
        """Release connections; the provider must not be used afterwards."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def e164_digits(phone_e164: str) -> str | None:
    """The bare digits the gateways want ("+380501234567" -> "380501234567"), or None."""
    phone = phone_e164.strip()
    digits = phone[1:]
    # The "+" is required: a local "0501234567" would reach the gateway as a wrong number.
    valid = (
        phone.startswith("+")
        and digits.isascii()
        and digits.isdigit()
        and 8 <= len(digits) <= 15
        and not digits.startswith("0")
    )
    return digits if valid else None


class HttpSmsProvider(SmsProvider):
    """Base for gateways spoken to over HTTP: turns transport trouble into `SmsResult`s."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _precheck(self, phone_e164: str, text: str) -> SmsResult | str:
        """Digits of the phone, or a permanent failure for input no gateway would accept."""
        digits = e164_digits(phone_e164)
        if digits is None:
            return SmsResult.failed(
                self.name,
                f"{self.name}: not an E.164 phone number: {phone_e164!r}",
                permanent=True,
            )
        if not text.strip():
            return SmsResult.failed(self.name, f"{self.name}: empty text", permanent=True)
        return digits

    async def _post_json(
        self, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any] | SmsResult:
        """POST JSON and return the decoded object, or an `SmsResult` failure to hand back."""
        try:
            response = await self._client.post(url, json=payload, headers=headers)
        except httpx.TimeoutException:
            # The gateway may still have sent it; retrying risks a duplicate, losing it is worse.
            return self._fail(f"timeout after {self._timeout:g}s", permanent=False)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return self._fail(f"bad API URL {url!r}: {exc}", permanent=True)
        except httpx.HTTPError as exc:
            return self._fail(f"connection error: {type(exc).__name__}: {exc}", permanent=False)

        status = response.status_code
        if status >= 500 or status in (408, 425, 429):
            return self._fail(f"HTTP {status}", permanent=False)
        if status >= 400:
            # Both gateways answer errors in a 200 body; a 4xx means a wrong URL or a proxy.
            return self._fail(f"HTTP {status}: {response.text[:200]}", permanent=True)
        try:
            body = response.json()
        except ValueError:
            return self._fail(f"HTTP {status} with a non-JSON body", permanent=False)
        if not isinstance(body, dict):
            return self._fail(f"unexpected response: {str(body)[:200]}", permanent=False)
        return body

    def _fail(self, error: str, *, permanent: bool) -> SmsResult:
        logger.warning(
            "%s send failed (%s): %s", self.name, "permanent" if permanent else "transient", error
        )
        return SmsResult.failed(self.name, f"{self.name}: {error}", permanent=permanent)
