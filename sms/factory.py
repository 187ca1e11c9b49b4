"""Build the provider named by SMS_PROVIDER, failing fast on missing settings."""

from __future__ import annotations

import httpx

from sms import smsfly, turbosms
from sms.base import SmsProvider
from sms.log import LogSmsProvider, NoneSmsProvider
from sms.smsfly import SmsFlyProvider
from sms.turbosms import TurboSmsProvider

SMS_PROVIDERS = ("none", "log", "turbosms", "smsfly")


def make_sms_provider(
    name: str | None,
    *,
    turbosms_token: str | None = None,
    turbosms_sender: str | None = None,
    turbosms_api_url: str | None = None,
    smsfly_api_key: str | None = None,
    smsfly_sender: str | None = None,
    smsfly_api_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SmsProvider:
    """`name` is SMS_PROVIDER (empty means `log`); `transport` is for tests."""
    kind = (name or "log").strip().lower()
    if kind == "log":
        return LogSmsProvider()
    if kind == "none":
        return NoneSmsProvider()
    if kind == "turbosms":
        return TurboSmsProvider(
            token=_required("TURBOSMS_TOKEN", turbosms_token, kind),
            sender=_required("TURBOSMS_SENDER", turbosms_sender, kind),
            api_url=_url("TURBOSMS_API_URL", turbosms_api_url, turbosms.DEFAULT_API_URL),
            transport=transport,
        )
    if kind == "smsfly":
        return SmsFlyProvider(
            api_key=_required("SMSFLY_API_KEY", smsfly_api_key, kind),
            sender=_required("SMSFLY_SENDER", smsfly_sender, kind),
            api_url=_url("SMSFLY_API_URL", smsfly_api_url, smsfly.DEFAULT_API_URL),
            transport=transport,
        )
    raise ValueError(f"SMS_PROVIDER must be one of {', '.join(SMS_PROVIDERS)}; got {name!r}")


def _required(setting: str, value: str | None, kind: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{setting} is required when SMS_PROVIDER={kind}")
    return value.strip()


def _url(setting: str, value: str | None, default: str) -> str:
    url = (value or "").strip() or default
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{setting} must be an http(s) URL; got {url!r}")
    return url
