"""SMS providers against the local gateway emulators: wire format, parsing, error classes."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sms import (
    LogSmsProvider,
    NoneSmsProvider,
    SmsFlyProvider,
    SmsResult,
    TurboSmsProvider,
    make_sms_provider,
)
from tests.emulators.sms import SmsFlyEmulator, TurboSmsEmulator

TOKEN = "turbo-token-1"
KEY = "fly-key-1"
SENDER = "RemontShop"
PHONE = "+380501234567"
DIGITS = "380501234567"
TEXT = "Ваш пристрій готовий [12]. Можна забирати!"


@pytest.fixture
async def turbo() -> AsyncIterator[TurboSmsEmulator]:
    async with TurboSmsEmulator(token=TOKEN) as gw:
        yield gw


@pytest.fixture
async def fly() -> AsyncIterator[SmsFlyEmulator]:
    async with SmsFlyEmulator(api_key=KEY) as gw:
        yield gw


@pytest.fixture
async def turbo_sms(turbo: TurboSmsEmulator) -> AsyncIterator[TurboSmsProvider]:
    async with TurboSmsProvider(
        token=TOKEN, sender=SENDER, api_url=turbo.api_url, timeout=2
    ) as provider:
        yield provider


@pytest.fixture
async def fly_sms(fly: SmsFlyEmulator) -> AsyncIterator[SmsFlyProvider]:
    async with SmsFlyProvider(api_key=KEY, sender=SENDER, api_url=fly.api_url, timeout=2) as p:
        yield p


def assert_failed(result: SmsResult, *, permanent: bool, contains: str) -> None:
    assert not result.ok, result
    assert result.permanent is permanent, result
    assert result.message_id is None
    assert result.error and contains in result.error, result.error


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- TurboSMS ------------------------------------------------------------------------------


async def test_turbosms_wire_format_and_message_id(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider
) -> None:
    result = await turbo_sms.send(PHONE, TEXT)

    assert result == SmsResult(True, "turbosms", turbo.sent[0].message_id, None, False)
    [request] = turbo.requests
    assert (request.method, request.path) == ("POST", "/message/send.json")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json == {"recipients": [DIGITS], "sms": {"sender": SENDER, "text": TEXT}}
    assert turbo.sent[0].phone == DIGITS and turbo.sent[0].text == TEXT


@pytest.mark.parametrize(
    ("setup", "contains"),
    [
        (lambda gw: setattr(gw, "token", "rotated"), "105 REQUIRED_AUTH"),
        (lambda gw: setattr(gw, "balance_empty", True), "203 REQUIRED_BALANCE"),
        (lambda gw: gw.stoplist.add(DIGITS), "404 NOT_ALLOWED_NUMBER_STOPLIST"),
        (lambda gw: setattr(gw, "allowed_senders", {"Other"}), "400 NOT_ALLOWED_MESSAGE_SENDER"),
    ],
    ids=["wrong-token", "no-balance", "stop-list", "unregistered-sender"],
)
async def test_turbosms_account_and_recipient_errors_are_permanent(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider, setup: Any, contains: str
) -> None:
    setup(turbo)
    assert_failed(await turbo_sms.send(PHONE, TEXT), permanent=True, contains=contains)
    assert turbo.sent == []


async def test_turbosms_number_the_gateway_rejects(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider
) -> None:
    result = await turbo_sms.send("+3805012345", TEXT)  # E.164-shaped, but no such UA mobile
    assert_failed(result, permanent=True, contains="305 INVALID_PHONE")
    assert turbo.requests[0].json["recipients"] == ["3805012345"]


@pytest.mark.parametrize("phone", ["0501234567", "380501234567", "+38 050", "+", ""])
async def test_turbosms_non_e164_phone_fails_without_a_request(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider, phone: str
) -> None:
    assert_failed(await turbo_sms.send(phone, TEXT), permanent=True, contains="E.164")
    assert turbo.requests == []


async def test_turbosms_empty_text_fails_without_a_request(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider
) -> None:
    assert_failed(await turbo_sms.send(PHONE, "  "), permanent=True, contains="empty text")
    assert turbo.requests == []


@pytest.mark.parametrize(
    ("code", "status", "permanent"),
    [
        (103, "REQUIRED_TOKEN", True),
        (301, "INVALID_TOKEN", True),
        (106, "REQUIRED_ACTIVE_USER", True),
        (305, "INVALID_PHONE", True),
        (406, "NOT_ALLOWED_RECIPIENT_COUNTRY", True),
        (413, "NOT_ALLOWED_MESSAGE_TEXT_LENGTH", True),
        (503, "FAILED_SMS_SEND", False),
        (999, "FATAL_ERROR", False),
        (4242, "SOMETHING_NEW", True),  # unknown: do not loop, tell staff
    ],
)
async def test_turbosms_top_level_codes(
    turbo: TurboSmsEmulator,
    turbo_sms: TurboSmsProvider,
    code: int,
    status: str,
    permanent: bool,
) -> None:
    turbo.script({"response_code": code, "response_status": status, "response_result": None})
    assert_failed(
        await turbo_sms.send(PHONE, TEXT), permanent=permanent, contains=f"{code} {status}"
    )


@pytest.mark.parametrize("top", [0, 800, 802])
async def test_turbosms_per_recipient_code_is_checked(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider, top: int
) -> None:
    turbo.script(
        {
            "response_code": top,
            "response_status": "SUCCESS_MESSAGE_PARTIAL_ACCEPTED",
            "response_result": [
                {
                    "phone": DIGITS,
                    "response_code": 404,
                    "message_id": None,
                    "response_status": "NOT_ALLOWED_NUMBER_STOPLIST",
                }
            ],
        }
    )
    result = await turbo_sms.send(PHONE, TEXT)
    assert_failed(result, permanent=True, contains="404 NOT_ALLOWED_NUMBER_STOPLIST")


async def test_turbosms_partial_without_our_entry_is_a_failure(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider
) -> None:
    turbo.script(
        {
            "response_code": 802,
            "response_status": "SUCCESS_MESSAGE_PARTIAL_ACCEPTED",
            "response_result": [],
        }
    )
    assert_failed(await turbo_sms.send(PHONE, TEXT), permanent=True, contains="802")


async def test_turbosms_sent_code_with_message_id(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider
) -> None:
    turbo.script(
        {
            "response_code": 801,
            "response_status": "SUCCESS_MESSAGE_SENT",
            "response_result": [
                {
                    "phone": DIGITS,
                    "response_code": 0,
                    "message_id": "f83f8868-5e46",
                    "response_status": "OK",
                }
            ],
        }
    )
    assert await turbo_sms.send(PHONE, TEXT) == SmsResult.sent("turbosms", "f83f8868-5e46")


async def test_turbosms_duplicate_within_90s_counts_as_sent(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider
) -> None:
    # 427: an earlier attempt (e.g. one that timed out on our side) already went through.
    turbo.script(
        {
            "response_code": 427,
            "response_status": "NOT_ALLOWED_MESSAGE_DUPLICATE",
            "response_result": None,
        }
    )
    assert await turbo_sms.send(PHONE, TEXT) == SmsResult.sent("turbosms", None)


async def test_turbosms_5xx_is_transient_and_retry_succeeds(
    turbo: TurboSmsEmulator, turbo_sms: TurboSmsProvider
) -> None:
    turbo.fail_next(2, status=502)
    assert_failed(await turbo_sms.send(PHONE, TEXT), permanent=False, contains="HTTP 502")
    assert_failed(await turbo_sms.send(PHONE, TEXT), permanent=False, contains="HTTP 502")
    assert (await turbo_sms.send(PHONE, TEXT)).ok
    assert len(turbo.sent) == 1


async def test_turbosms_timeout_is_transient(turbo: TurboSmsEmulator) -> None:
    turbo.delay = 5
    async with TurboSmsProvider(
        token=TOKEN, sender=SENDER, api_url=turbo.api_url, timeout=0.2
    ) as provider:
        result = await provider.send(PHONE, TEXT)
    assert_failed(result, permanent=False, contains="timeout")


async def test_connection_refused_is_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with TurboSmsProvider(token=TOKEN, sender=SENDER, api_url=url) as provider:
        result = await provider.send(PHONE, TEXT)
    assert_failed(result, permanent=False, contains="connection error")


@pytest.mark.parametrize(
    ("response", "permanent", "contains"),
    [
        (httpx.Response(200, text="<html>maintenance</html>"), False, "non-JSON"),
        (httpx.Response(200, json=[1, 2]), False, "unexpected response"),
        (httpx.Response(200, json={"hello": 1}), False, "no response_code"),
        (httpx.Response(429, text="slow down"), False, "HTTP 429"),
        (httpx.Response(404, text="no such page"), True, "HTTP 404"),
    ],
)
async def test_turbosms_odd_http_answers_never_raise(
    response: httpx.Response, permanent: bool, contains: str
) -> None:
    transport = httpx.MockTransport(lambda request: response)
    async with TurboSmsProvider(token=TOKEN, sender=SENDER, transport=transport) as provider:
        result = await provider.send(PHONE, TEXT)
    assert_failed(result, permanent=permanent, contains=contains)


async def test_turbosms_default_url_and_bad_scheme() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"response_code": 800, "response_status": "OK", "response_result": None}
        )

    async with TurboSmsProvider(
        token=TOKEN, sender=SENDER, transport=httpx.MockTransport(handler)
    ) as provider:
        assert await provider.send(PHONE, TEXT) == SmsResult.sent("turbosms", None)
    assert str(seen[0].url) == "https://api.turbosms.ua/message/send.json"

    async with TurboSmsProvider(token=TOKEN, sender=SENDER, api_url="ftp://x") as provider:
        assert_failed(await provider.send(PHONE, TEXT), permanent=True, contains="bad API URL")


# -- SMS-fly -------------------------------------------------------------------------------


async def test_smsfly_wire_format_and_message_id(
    fly: SmsFlyEmulator, fly_sms: SmsFlyProvider
) -> None:
    result = await fly_sms.send(PHONE, TEXT)

    assert result == SmsResult.sent("smsfly", fly.sent[0].message_id)
    assert result.message_id and result.message_id.startswith("FAPI")
    [request] = fly.requests
    assert (request.method, request.path) == ("POST", "/api/v2/api.php")
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    assert request.json == {
        "auth": {"key": KEY},
        "action": "SENDMESSAGE",
        "data": {
            "recipient": DIGITS,
            "channels": ["sms"],
            "sms": {"source": SENDER, "ttl": 1440, "text": TEXT},
        },
    }


@pytest.mark.parametrize(
    ("setup", "phone", "contains"),
    [
        (lambda gw: setattr(gw, "api_key", "rotated"), PHONE, "FORBIDDEN"),
        (lambda gw: setattr(gw, "balance_empty", True), PHONE, "INSUFFICIENTFUNDS"),
        (lambda gw: gw.stoplist.add(DIGITS), PHONE, "ERRPHONES"),
        (lambda gw: None, "+3805012345", "INVROUTE"),
        (lambda gw: setattr(gw, "allowed_senders", {"Other"}), PHONE, "INVSOURCE"),
    ],
    ids=["wrong-key", "no-balance", "stop-list", "bad-phone", "unregistered-sender"],
)
async def test_smsfly_errors_are_permanent(
    fly: SmsFlyEmulator, fly_sms: SmsFlyProvider, setup: Any, phone: str, contains: str
) -> None:
    setup(fly)
    assert_failed(await fly_sms.send(phone, TEXT), permanent=True, contains=contains)
    assert fly.sent == []


async def test_smsfly_unknown_error_code_is_permanent_with_description(
    fly: SmsFlyEmulator, fly_sms: SmsFlyProvider
) -> None:
    fly.script({"success": 0, "error": {"code": "NEWCODE", "description": "Something new"}})
    assert_failed(
        await fly_sms.send(PHONE, TEXT), permanent=True, contains="NEWCODE (Something new)"
    )


@pytest.mark.parametrize(
    ("status", "permanent"), [("INSUFFICIENTFUNDS", True), ("STOPED", True), ("ERROR", False)]
)
async def test_smsfly_failed_channel_status_in_a_success_answer(
    fly: SmsFlyEmulator, fly_sms: SmsFlyProvider, status: str, permanent: bool
) -> None:
    fly.script({"success": 1, "data": {"messageID": "FAPI1", "sms": {"status": status}}})
    assert_failed(await fly_sms.send(PHONE, TEXT), permanent=permanent, contains=status)


async def test_smsfly_5xx_and_odd_body_are_transient(
    fly: SmsFlyEmulator, fly_sms: SmsFlyProvider
) -> None:
    fly.fail_next(1, status=503)
    assert_failed(await fly_sms.send(PHONE, TEXT), permanent=False, contains="HTTP 503")
    fly.script({"status": "maintenance"})
    assert_failed(await fly_sms.send(PHONE, TEXT), permanent=False, contains="unexpected")
    assert (await fly_sms.send(PHONE, TEXT)).ok


async def test_smsfly_timeout_is_transient(fly: SmsFlyEmulator) -> None:
    fly.delay = 5
    async with SmsFlyProvider(
        api_key=KEY, sender=SENDER, api_url=fly.api_url, timeout=0.2
    ) as provider:
        assert_failed(await provider.send(PHONE, TEXT), permanent=False, contains="timeout")


# -- the emulators themselves check what they are sent -------------------------------------


async def test_emulators_flag_requests_the_real_gateways_would_reject() -> None:
    async with (
        TurboSmsEmulator(token=TOKEN, strict=False) as turbo,
        SmsFlyEmulator(api_key=KEY, strict=False) as fly,
        httpx.AsyncClient() as client,
    ):
        no_auth = await client.post(
            turbo.base_url + "/message/send.json",
            json={"recipients": [PHONE], "sms": {"sender": SENDER}},
        )
        plus = await client.post(
            turbo.base_url + "/message/send.json",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"recipients": [PHONE], "sms": {"sender": "S", "text": "t"}},
        )
        wrong_path = await client.get(turbo.base_url + "/message/send")
        fly_bad = await client.post(
            fly.api_url,
            json={
                "auth": {"key": KEY},
                "action": "SENDMESSAGE",
                "data": {
                    "recipient": DIGITS,
                    "channels": ["viber"],
                    "sms": {"source": "", "text": "t"},
                },
            },
        )

    assert no_auth.json()["response_code"] == 103
    assert plus.status_code == 200 and plus.json()["response_code"] == 305
    assert wrong_path.status_code == 404
    assert fly_bad.json()["error"]["code"] == "INVSOURCE"
    assert len(turbo.violations) == 3 and "Authorization" in turbo.violations[0]
    assert "digits" in turbo.violations[1] and "wrong path" in turbo.violations[2]
    assert len(fly.violations) == 3  # channels, ttl missing, empty source


async def test_strict_emulator_fails_the_test_on_exit() -> None:
    with pytest.raises(AssertionError, match="wrong path"):
        async with TurboSmsEmulator() as turbo, httpx.AsyncClient() as client:
            await client.post(turbo.base_url + "/send", json={})


# -- log / none / factory ------------------------------------------------------------------


async def test_log_provider_logs_phone_and_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sms")
    result = await LogSmsProvider().send(PHONE, TEXT)

    assert result.ok and result.provider == "log" and not result.permanent
    assert result.message_id and result.message_id.startswith("log-")
    [record] = [r for r in caplog.records if r.name == "sms"]
    assert record.levelno == logging.INFO
    assert PHONE in record.getMessage() and TEXT in record.getMessage()


async def test_none_provider_refuses() -> None:
    result = await NoneSmsProvider().send(PHONE, TEXT)
    assert result == SmsResult(False, "none", None, "SMS is switched off (SMS_PROVIDER=none)", True)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        (None, LogSmsProvider),
        ("", LogSmsProvider),
        ("log", LogSmsProvider),
        (" NONE ", NoneSmsProvider),
    ],
)
def test_factory_simple_providers(name: str | None, cls: type) -> None:
    assert type(make_sms_provider(name)) is cls


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"name": "turbosms", "turbosms_sender": SENDER},
            "TURBOSMS_TOKEN is required when SMS_PROVIDER=turbosms",
        ),
        (
            {"name": "turbosms", "turbosms_token": TOKEN, "turbosms_sender": " "},
            "TURBOSMS_SENDER is required when SMS_PROVIDER=turbosms",
        ),
        (
            {"name": "smsfly", "smsfly_sender": SENDER, "smsfly_api_key": ""},
            "SMSFLY_API_KEY is required when SMS_PROVIDER=smsfly",
        ),
        (
            {"name": "smsfly", "smsfly_api_key": KEY},
            "SMSFLY_SENDER is required when SMS_PROVIDER=smsfly",
        ),
        (
            {
                "name": "turbosms",
                "turbosms_token": TOKEN,
                "turbosms_sender": SENDER,
                "turbosms_api_url": "api.turbosms.ua",
            },
            "TURBOSMS_API_URL must be an http(s) URL",
        ),
        ({"name": "twilio"}, "SMS_PROVIDER must be one of none, log, turbosms, smsfly"),
    ],
)
def test_factory_errors_name_the_setting(kwargs: dict[str, Any], message: str) -> None:
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_sms_provider(name, **kwargs)


async def test_factory_builds_working_gateway_providers(
    turbo: TurboSmsEmulator, fly: SmsFlyEmulator
) -> None:
    async with make_sms_provider(
        "turbosms", turbosms_token=TOKEN, turbosms_sender=SENDER, turbosms_api_url=turbo.api_url
    ) as provider:
        assert provider.name == "turbosms"
        assert (await provider.send(PHONE, TEXT)).ok
    async with make_sms_provider(
        "smsfly", smsfly_api_key=KEY, smsfly_sender=SENDER, smsfly_api_url=fly.api_url
    ) as provider:
        assert provider.name == "smsfly"
        assert (await provider.send(PHONE, TEXT)).ok
    assert [s.phone for s in turbo.sent + fly.sent] == [DIGITS, DIGITS]


async def test_factory_passes_transport_and_defaults_the_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": 1, "data": {"messageID": "FAPI9"}})

    async with make_sms_provider(
        "smsfly",
        smsfly_api_key=KEY,
        smsfly_sender=SENDER,
        smsfly_api_url="",
        transport=httpx.MockTransport(handler),
    ) as p:
        assert await p.send(PHONE, TEXT) == SmsResult.sent("smsfly", "FAPI9")
    assert str(seen[0].url) == "https://sms-fly.ua/api/v2/api.php"
    assert json.loads(seen[0].content)["auth"] == {"key": KEY}


def test_sms_package_stays_free_of_aiogram_and_sqlalchemy() -> None:
    code = (
        "import sys, sms; bad = {'aiogram', 'sqlalchemy'} & set(sys.modules); "
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
