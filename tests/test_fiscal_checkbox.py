"""Checkbox provider against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import httpx
import pytest

from fiscal import (
    CheckboxProvider,
    Discount,
    FiscalAuthError,
    FiscalProvider,
    FiscalReceiptNotFound,
    FiscalRejected,
    FiscalShiftNotOpen,
    FiscalTransientError,
    Good,
    NoneProvider,
    PaymentPart,
    SellReceipt,
    make_provider,
)
from fiscal.checkbox_wire import parse_dt
from tests.emulators.checkbox import CheckboxEmulator

LICENSE = "lic-0001"
PIN = "4321"
TIMEOUT = 0.3


@pytest.fixture
def emu() -> CheckboxEmulator:
    return CheckboxEmulator(license_key=LICENSE, pin_code=PIN, receipt_polls=2, shift_polls=2)


@pytest.fixture
async def base_url(emu: CheckboxEmulator) -> AsyncIterator[str]:
    async with emu.serve() as url:
        yield url


def _provider(base_url: str, **overrides: object) -> CheckboxProvider:
    kwargs: dict = {
        "api_url": base_url,
        "license_key": LICENSE,
        "pin_code": PIN,
        "client_version": "9.9.9",
        "timeout": TIMEOUT,
        "poll_interval": 0.001,
        "poll_attempts": 10,
    }
    kwargs.update(overrides)
    return CheckboxProvider(**kwargs)


@pytest.fixture
async def provider(base_url: str) -> AsyncIterator[CheckboxProvider]:
    async with _provider(base_url) as p:
        yield p


@pytest.fixture
def shift_open(emu: CheckboxEmulator) -> str:
    return emu.open_shift_now()


def sale(total: int = 25000, *, payment: str = "CASH", paid: int | None = None) -> SellReceipt:
    return SellReceipt(
        id=uuid.uuid4(),
        goods=[Good(code="SRV-1", name="Заміна екрана", price=total)],
        payments=[PaymentPart(type=payment, value=total if paid is None else paid)],  # type: ignore[arg-type]
    )


def refund_of(receipt: SellReceipt, amount: int) -> SellReceipt:
    return SellReceipt(
        id=uuid.uuid4(),
        goods=[Good(code="SRV-1", name="Заміна екрана", price=amount)],
        payments=[PaymentPart(type="CASH", value=amount)],
        related_receipt_id=receipt.id,
    )


def test_provider_satisfies_protocol(provider: CheckboxProvider) -> None:
    assert isinstance(provider, FiscalProvider)
    assert provider.is_fiscal is True


# --- session ---------------------------------------------------------------------------


async def test_headers_and_lazy_single_sign_in(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    assert emu.requests == []  # nothing happens until the first call
    await provider.sell(sale())
    await provider.sell(sale())

    signins = emu.requests_to("POST", "/cashier/signinPinCode")
    assert len(signins) == 1
    assert signins[0].json == {"pin_code": PIN}
    token = next(iter(emu.tokens))
    for req in emu.requests:
        assert req.headers["X-Client-Name"] == "servicedesk-bot"
        assert req.headers["X-Client-Version"] == "9.9.9"
        assert req.headers["X-License-Key"] == LICENSE
    for req in emu.requests[1:]:
        assert req.headers["Authorization"] == f"Bearer {token}"


async def test_concurrent_first_calls_sign_in_once(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    results = await asyncio.gather(*(provider.sell(sale()) for _ in range(3)))
    assert all(r.is_done for r in results)
    assert emu.count("POST", "/cashier/signinPinCode") == 1


async def test_expired_token_signs_in_again_and_retries_once(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    await provider.sell(sale())
    emu.expire_tokens()
    receipt = sale()
    result = await provider.sell(receipt)

    assert result.is_done
    assert emu.count("POST", "/cashier/signinPinCode") == 2
    sells = emu.requests_to("POST", "/receipts/sell")
    assert [r.status for r in sells] == [201, 401, 201]
    assert emu.fiscalized[str(receipt.id)] == 1


async def test_wrong_pin_is_auth_error(base_url: str) -> None:
    async with _provider(base_url, pin_code="0000") as p:
        with pytest.raises(FiscalAuthError, match="пін-код"):
            await p.current_shift()


async def test_unknown_license_key_is_auth_error(base_url: str) -> None:
    async with _provider(base_url, license_key="someone-else") as p:
        with pytest.raises(FiscalAuthError):
            await p.sign_in()


# --- selling ---------------------------------------------------------------------------


async def test_sell_sends_kopecks_and_thousandths(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    receipt = SellReceipt(
        id=uuid.uuid4(),
        goods=[
            Good(code="SRV-7", name="Діагностика", price=12050, quantity=1500),
            Good(code="PRT-2", name="Плівка", price=9900),
        ],
        payments=[
            PaymentPart(type="CASHLESS", value=10000, label="Термінал"),
            PaymentPart(type="CASH", value=20000),
        ],
        discounts=[Discount(value=75, name="Округлення")],
    )
    result = await provider.sell(receipt)

    body = emu.requests_to("POST", "/receipts/sell")[0].json
    assert body == {
        "id": str(receipt.id),
        "goods": [
            {"good": {"code": "SRV-7", "name": "Діагностика", "price": 12050}, "quantity": 1500},
            {"good": {"code": "PRT-2", "name": "Плівка", "price": 9900}, "quantity": 1000},
        ],
        "payments": [
            {"type": "CASHLESS", "value": 10000, "label": "Термінал"},
            {"type": "CASH", "value": 20000},
        ],
        "discounts": [{"type": "DISCOUNT", "mode": "VALUE", "value": 75, "name": "Округлення"}],
    }
    assert result.id == receipt.id
    assert result.status == "DONE" and result.type == "SELL"
    assert result.total_sum == receipt.total == 18075 + 9900 - 75
    assert result.fiscal_code and result.fiscal_code.startswith("TEST-")
    assert result.fiscal_date is not None and result.fiscal_date.utcoffset() == timedelta(0)
    assert result.tax_url and "cabinet.tax.gov.ua" in result.tax_url
    assert result.raw["total_rest"] == receipt.change
    # CREATED on POST, then two polls until DONE
    assert emu.count("GET", "/receipts/{receipt_id}") == 2


async def test_error_status_is_rejected_with_text(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    receipt = sale()
    emu.force_error(receipt.id, "Помилка ДПС: підпис недійсний")
    with pytest.raises(FiscalRejected, match="підпис недійсний") as info:
        await provider.sell(receipt)
    assert info.value.receipt_id == receipt.id
    assert info.value.result is not None and info.value.result.status == "ERROR"
    assert (await provider.receipt_status(receipt.id)).error == "Помилка ДПС: підпис недійсний"


async def test_no_open_shift_is_shift_not_open(
    provider: CheckboxProvider, emu: CheckboxEmulator
) -> None:
    receipt = sale()
    with pytest.raises(FiscalShiftNotOpen, match="Зміну не відкрито"):
        await provider.sell(receipt)
    assert emu.fiscalized[str(receipt.id)] == 0


async def test_shift_closed_behind_our_back_then_reopened(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    await provider.sell(sale())
    emu.close_shift_now()
    receipt = sale()
    with pytest.raises(FiscalShiftNotOpen):
        await provider.sell(receipt)
    await provider.open_shift()
    assert (await provider.sell(receipt)).is_done
    assert emu.fiscalized[str(receipt.id)] == 1


async def test_polling_bound_exceeded_is_transient(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    emu.receipt_polls = 1000
    receipt = sale()
    with pytest.raises(FiscalTransientError, match="receipt_status") as info:
        await provider.sell(receipt)
    assert info.value.receipt_id == receipt.id
    assert (await provider.receipt_status(receipt.id)).status == "CREATED"
    assert emu.count("POST", "/receipts/sell") == 1


async def test_5xx_while_polling_is_tolerated(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    emu.fail_next("/receipts/{receipt_id}", status=502)
    assert (await provider.sell(sale())).is_done


# --- lost answers: never a second fiscal receipt ---------------------------------------


async def test_5xx_on_post_is_transient_and_not_reposted(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    emu.fail_next("/receipts/sell", status=503)
    receipt = sale()
    with pytest.raises(FiscalTransientError) as info:
        await provider.sell(receipt)
    assert info.value.receipt_id == receipt.id
    assert info.value.status_code == 503
    assert emu.count("POST", "/receipts/sell") == 1

    # The caller's retry: read first; 404 means it never arrived, so the same id may go again.
    with pytest.raises(FiscalReceiptNotFound):
        await provider.receipt_status(receipt.id)
    assert (await provider.sell(receipt)).is_done
    assert emu.fiscalized[str(receipt.id)] == 1


async def test_timeout_is_transient_and_status_read_later(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    emu.delay_next("/receipts/sell", TIMEOUT * 2)
    receipt = sale()
    with pytest.raises(FiscalTransientError, match="timed out"):
        await provider.sell(receipt)

    status = await provider.receipt_status(receipt.id)
    while not status.is_final:
        status = await provider.receipt_status(receipt.id)
    assert status.is_done
    assert emu.post_attempts[str(receipt.id)] == 1
    assert emu.fiscalized[str(receipt.id)] == 1


async def test_lost_response_then_status_is_done_without_second_post(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    emu.lose_response_next("/receipts/sell")
    receipt = sale()
    with pytest.raises(FiscalTransientError, match="may exist"):
        await provider.sell(receipt)
    assert emu.requests_to("POST", "/receipts/sell")[0].status is None  # dropped

    status = await provider.receipt_status(receipt.id)
    while not status.is_final:
        status = await provider.receipt_status(receipt.id)
    assert status.is_done and status.fiscal_code
    assert emu.count("POST", "/receipts/sell") == 1
    assert emu.fiscalized[str(receipt.id)] == 1


async def test_502_after_sale_made_then_repost_reads_existing(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    emu.lose_response_next("/receipts/sell", drop=False)
    receipt = sale()
    with pytest.raises(FiscalTransientError):
        await provider.sell(receipt)

    # A careless retry posts the same id again: Checkbox refuses the duplicate and the
    # provider reads the receipt that already exists instead of failing.
    result = await provider.sell(receipt)
    assert result.is_done and result.id == receipt.id
    assert emu.post_attempts[str(receipt.id)] == 2
    assert emu.fiscalized[str(receipt.id)] == 1
    assert len(emu.receipts) == 1


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with _provider(f"http://127.0.0.1:{port}/api/v1") as p:
        with pytest.raises(FiscalTransientError, match="unreachable"):
            await p.sell(sale())


# --- returns, service, errors ----------------------------------------------------------


async def test_return_with_related_receipt_id(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    original = sale(30000)
    await provider.sell(original)
    refund = refund_of(original, 10000)
    result = await provider.return_(refund)

    body = emu.requests_to("POST", "/receipts/sell")[-1].json
    assert body["related_receipt_id"] == str(original.id)
    assert body["goods"][0]["is_return"] is True
    assert result.is_done and result.type == "RETURN"

    with pytest.raises(FiscalRejected, match="перевищує") as info:
        await provider.return_(refund_of(original, 20001))
    assert info.value.status_code == 400


async def test_return_needs_related_receipt_id(provider: CheckboxProvider) -> None:
    with pytest.raises(ValueError, match="related_receipt_id"):
        await provider.return_(sale())


async def test_service_in_and_out(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    cash_in, cash_out = uuid.uuid4(), uuid.uuid4()
    r_in = await provider.service(cash_in, 50000)
    r_out = await provider.service(cash_out, -20000)

    bodies = [r.json for r in emu.requests_to("POST", "/receipts/service")]
    assert bodies == [
        {"id": str(cash_in), "payment": {"type": "CASH", "value": 50000}},
        {"id": str(cash_out), "payment": {"type": "CASH", "value": -20000}},
    ]
    assert (r_in.type, r_out.type) == ("SERVICE_IN", "SERVICE_OUT")
    assert r_in.is_done and r_out.is_done

    with pytest.raises(FiscalRejected, match="Недостатньо готівки"):
        await provider.service(uuid.uuid4(), -1_000_000)


async def test_422_detail_becomes_readable_text(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    detail = [
        {
            "loc": ["body", "goods", 0, "good", "price"],
            "msg": "value is not a valid integer",
            "type": "type_error.integer",
        },
        {"loc": ["body", "payments"], "msg": "field required", "type": "value_error.missing"},
    ]
    emu.fail_next("/receipts/sell", status=422, body={"detail": detail})
    with pytest.raises(FiscalRejected) as info:
        await provider.sell(sale())
    assert info.value.status_code == 422
    assert "goods.0.good.price: value is not a valid integer" in info.value.message
    assert "payments: field required" in info.value.message


# --- shifts and reports ----------------------------------------------------------------


async def test_open_sell_close_with_z_report(
    provider: CheckboxProvider, emu: CheckboxEmulator
) -> None:
    assert await provider.current_shift() is None
    shift = await provider.open_shift()
    assert shift.is_open and shift.opened_at is not None
    assert shift.opened_at.tzinfo is not None
    assert (await provider.current_shift()) == shift
    assert emu.count("GET", "/shifts/{shift_id}") == 2  # CREATED -> OPENING -> OPENED

    cash_sale = sale(10000, paid=15000)  # 50.00 change from cash
    await provider.sell(cash_sale)
    await provider.sell(sale(5000, payment="CASHLESS"))
    await provider.return_(refund_of(cash_sale, 2000))
    await provider.service(uuid.uuid4(), 1000)

    z = await provider.close_shift()
    assert z.is_z_report and z.shift_id == shift.id
    assert z.totals("CASH").sell_sum == 10000
    assert z.totals("CASH").return_sum == 2000
    assert z.totals("CASH").service_in == 1000
    assert z.totals("CASHLESS").sell_sum == 5000
    assert (z.sell_sum, z.return_sum, z.service_in, z.service_out) == (15000, 2000, 1000, 0)
    assert (z.sell_receipts_count, z.return_receipts_count, z.receipts_count) == (2, 1, 3)
    assert (z.initial, z.balance) == (0, 10000 - 2000 + 1000)
    assert z.raw["payments"][0]["label"] == "Готівка"
    assert await provider.current_shift() is None


async def test_open_shift_reuses_the_open_one(
    provider: CheckboxProvider, emu: CheckboxEmulator, shift_open: str
) -> None:
    shift = await provider.open_shift()
    assert str(shift.id) == shift_open
    assert emu.count("POST", "/shifts") == 0


async def test_close_without_shift_is_shift_not_open(provider: CheckboxProvider) -> None:
    with pytest.raises(FiscalShiftNotOpen):
        await provider.close_shift()


async def test_x_report(provider: CheckboxProvider, shift_open: str) -> None:
    await provider.sell(sale(7000))
    await provider.service(uuid.uuid4(), -3000)
    x = await provider.x_report()
    assert x.is_z_report is False
    assert (x.sell_sum, x.service_out, x.balance, x.sell_receipts_count) == (7000, 3000, 4000, 1)
    assert await provider.current_shift() is not None


def test_parse_dt_gives_aware_utc() -> None:
    assert parse_dt("2024-05-01T10:00:00") == parse_dt("2024-05-01T13:00:00+03:00")
    assert parse_dt("2024-05-01T10:00:00Z").tzinfo == UTC  # type: ignore[union-attr]
    assert parse_dt(None) is None and parse_dt("garbage") is None


# --- factory ---------------------------------------------------------------------------


async def test_factory_builds_providers() -> None:
    assert isinstance(make_provider("none"), NoneProvider)
    provider = make_provider("Checkbox", license_key="k", pin_code="1")
    assert isinstance(provider, CheckboxProvider)
    await provider.aclose()


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"pin_code": "1"}, "CHECKBOX_LICENSE_KEY is required when FISCAL_PROVIDER=checkbox"),
        ({"license_key": "k"}, "CHECKBOX_PIN_CODE is required when FISCAL_PROVIDER=checkbox"),
    ],
)
def test_factory_names_the_missing_setting(kwargs: dict, missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        make_provider("checkbox", **kwargs)


def test_factory_rejects_unknown_provider() -> None:
    with pytest.raises(ValueError, match="FISCAL_PROVIDER"):
        make_provider("prro-of-the-future")


# --- the emulator itself refuses what Checkbox refuses ---------------------------------


@pytest.fixture
async def raw(base_url: str, emu: CheckboxEmulator) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"X-Client-Name": "t", "X-Client-Version": "1", "X-License-Key": LICENSE}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
        token = (await client.post("/cashier/signinPinCode", json={"pin_code": PIN})).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        emu.open_shift_now()
        yield client


def _body(**overrides: object) -> dict:
    body: dict = {
        "id": str(uuid.uuid4()),
        "goods": [{"good": {"code": "1", "name": "x", "price": 1000}, "quantity": 1000}],
        "payments": [{"type": "CASH", "value": 1000}],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("overrides", "status", "text"),
    [
        ({"id": "not-a-uuid"}, 422, "valid uuid"),
        ({"goods": []}, 422, "at least 1 items"),
        (
            {"goods": [{"good": {"code": "1", "name": "x", "price": 10.5}, "quantity": 1000}]},
            422,
            "valid integer",
        ),
        ({"goods": [{"good": {"name": "x", "price": 10}, "quantity": 1}]}, 422, "field required"),
        ({"payments": [{"type": "CARD", "value": 1000}]}, 422, "enumeration"),
        ({"payments": [{"type": "CASH", "value": 999}]}, 400, "менша"),
        ({"payments": [{"type": "CASHLESS", "value": 1500}]}, 400, "Решта"),
        (
            {
                "goods": [
                    {
                        "good": {"code": "1", "name": "x", "price": 1000},
                        "quantity": 1000,
                        "is_return": True,
                    }
                ],
                "related_receipt_id": str(uuid.uuid4()),
            },
            400,
            "не знайдено",
        ),
    ],
)
async def test_emulator_validates_sell(
    raw: httpx.AsyncClient, overrides: dict, status: int, text: str
) -> None:
    resp = await raw.post("/receipts/sell", json=_body(**overrides))
    assert resp.status_code == status
    assert text in resp.text


async def test_emulator_checks_headers_and_token(raw: httpx.AsyncClient) -> None:
    async def without(header: str) -> int:
        request = raw.build_request("GET", "/cashier/shift")
        del request.headers[header]
        return (await raw.send(request)).status_code

    assert await without("X-Client-Name") == 400
    assert await without("X-Client-Version") == 400
    assert await without("X-License-Key") == 403
    assert await without("Authorization") == 403
    assert (await raw.get("/cashier/shift", headers={"X-License-Key": "x"})).status_code == 403
    expired = await raw.get("/cashier/shift", headers={"Authorization": "Bearer x"})
    assert expired.status_code == 401
    assert (await raw.get("/cashier/shift")).status_code == 200


async def test_emulator_as_context_manager_and_next_error() -> None:
    async with CheckboxEmulator(receipt_polls=0, shift_polls=0) as emu:
        async with CheckboxProvider(
            api_url=emu.api_url, license_key="test-license-key", pin_code="1234"
        ) as provider:
            await provider.open_shift()
            emu.force_error(message="Каса заблокована")
            with pytest.raises(FiscalRejected, match="Каса заблокована"):
                await provider.sell(sale())
            assert (await provider.sell(sale())).is_done
            assert emu.count("GET", "/receipts/{receipt_id}") == 0  # final already on POST
