"""Build the provider named in settings; fail at start-up, not at the first sale."""

from __future__ import annotations

from fiscal.base import FiscalProvider
from fiscal.checkbox import DEFAULT_API_URL, CheckboxProvider
from fiscal.none import NoneProvider

PROVIDERS = ("none", "checkbox")


def make_provider(
    name: str,
    *,
    api_url: str | None = None,
    license_key: str | None = None,
    pin_code: str | None = None,
    client_name: str = "servicedesk-bot",
    client_version: str | None = None,
    timeout: float = 15.0,
    poll_interval: float = 1.0,
    poll_attempts: int = 30,
) -> FiscalProvider:
    """`name` is FISCAL_PROVIDER; the other arguments are the CHECKBOX_* settings."""
    key = (name or "").strip().lower()
    if key == "none":
        return NoneProvider()
    if key == "checkbox":
        if not license_key:
            raise ValueError("CHECKBOX_LICENSE_KEY is required when FISCAL_PROVIDER=checkbox")
        if not pin_code:
            raise ValueError("CHECKBOX_PIN_CODE is required when FISCAL_PROVIDER=checkbox")
        return CheckboxProvider(
            api_url=api_url or DEFAULT_API_URL,
            license_key=license_key,
            pin_code=pin_code,
            client_name=client_name,
            client_version=client_version,
            timeout=timeout,
            poll_interval=poll_interval,
            poll_attempts=poll_attempts,
        )
    raise ValueError(f"FISCAL_PROVIDER must be one of {', '.join(PROVIDERS)}, got {name!r}")
