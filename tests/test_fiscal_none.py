"""The `none` provider and the receipt data rules shared by every provider."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from fiscal import (
    Discount,
    FiscalProvider,
    FiscalReceiptNotFound,
    FiscalShiftNotOpen,
    Good,
    NoneProvider,
    PaymentPart,
    SellReceipt,
    line_total,
)


def sale(total: int, *, payment: str = "CASH", paid: int | None = None) -> SellReceipt:
    return SellReceipt(
        id=uuid.uuid4(),
        goods=[Good(code="SRV-1", name="Ремонт", price=total)],
        payments=[PaymentPart(type=payment, value=total if paid is None else paid)],  # type: ignore[arg-type]
    )


def refund_of(receipt: SellReceipt, amount: int) -> SellReceipt:
    return SellReceipt(
        id=uuid.uuid4(),
        goods=[Good(code="SRV-1", name="Ремонт", price=amount)],
        payments=[PaymentPart(type="CASH", value=amount)],
        related_receipt_id=receipt.id,
    )


@pytest.fixture
def provider() -> NoneProvider:
    return NoneProvider()


def test_is_a_non_fiscal_provider(provider: NoneProvider) -> None:
    assert isinstance(provider, FiscalProvider)
    assert provider.is_fiscal is False


async def test_sell_is_done_without_fiscal_code_and_opens_the_shift(
    provider: NoneProvider,
) -> None:
    assert await provider.current_shift() is None
    receipt = sale(12000)
    result = await provider.sell(receipt)
    assert (result.id, result.status, result.type) == (receipt.id, "DONE", "SELL")
    assert result.fiscal_code is None and result.tax_url is None
    assert result.total_sum == 12000
    shift = await provider.current_shift()
    assert shift is not None and shift.is_open
    assert await provider.receipt_status(receipt.id) == result


async def test_same_id_is_the_same_receipt(provider: NoneProvider) -> None:
    receipt = sale(5000)
    first = await provider.sell(receipt)
    assert await provider.sell(receipt) == first
    z = await provider.close_shift()
    assert (z.sell_receipts_count, z.sell_sum) == (1, 5000)


async def test_unknown_receipt_is_not_found(provider: NoneProvider) -> None:
    with pytest.raises(FiscalReceiptNotFound):
        await provider.receipt_status(uuid.uuid4())


async def test_open_is_idempotent_and_close_needs_a_shift(provider: NoneProvider) -> None:
    shift = await provider.open_shift()
    assert (await provider.open_shift()).id == shift.id
    await provider.close_shift()
    assert await provider.current_shift() is None
    with pytest.raises(FiscalShiftNotOpen):
        await provider.close_shift()
    with pytest.raises(FiscalShiftNotOpen):
        await provider.x_report()
    assert (await provider.open_shift()).id != shift.id


async def test_z_report_counts_what_went_through_the_shift(provider: NoneProvider) -> None:
    shift = await provider.open_shift()
    cash_sale = sale(10000, paid=20000)  # change 100.00 goes back from cash
    await provider.sell(cash_sale)
    await provider.sell(sale(4000, payment="CASHLESS"))
    await provider.return_(refund_of(cash_sale, 3000))
    await provider.service(uuid.uuid4(), 50000)
    await provider.service(uuid.uuid4(), -20000)

    x = await provider.x_report()
    assert not x.is_z_report and x.balance == 10000 - 3000 + 50000 - 20000
    z = await provider.close_shift()
    assert z.is_z_report and z.shift_id == shift.id
    assert z.totals("CASH").sell_sum == 10000
    assert z.totals("CASH").return_sum == 3000
    assert (z.totals("CASH").service_in, z.totals("CASH").service_out) == (50000, 20000)
    assert z.totals("CASHLESS").sell_sum == 4000
    assert (z.sell_sum, z.return_sum, z.receipts_count) == (14000, 3000, 3)
    assert (z.initial, z.balance) == (0, 37000)

    # The drawer carries over: the next shift starts with what was left.
    await provider.sell(sale(1000))
    z2 = await provider.close_shift()
    assert (z2.initial, z2.balance, z2.sell_receipts_count) == (37000, 38000, 1)
    assert z2.totals("CASHLESS").sell_sum == 0


async def test_return_and_service_guard_programming_errors(provider: NoneProvider) -> None:
    with pytest.raises(ValueError, match="related_receipt_id"):
        await provider.return_(sale(100))
    with pytest.raises(ValueError, match="non-zero"):
        await provider.service(uuid.uuid4(), 0)


async def test_async_context_manager(provider: NoneProvider) -> None:
    async with provider as p:
        assert p is provider


# --- receipt data rules ----------------------------------------------------------------


def test_line_total_rounds_half_up() -> None:
    assert line_total(12050, 1500) == 18075
    assert line_total(333, 1500) == 500  # 499.5 -> 500
    assert line_total(100, 1) == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: Good(code="1", name="x", price=10.5),  # type: ignore[arg-type]
        lambda: Good(code="1", name="x", price=-1),
        lambda: Good(code="1", name="x", price=True),  # type: ignore[arg-type]
        lambda: Good(code="1", name="x", price=100, quantity=0),
        lambda: Good(code="", name="x", price=100),
        lambda: PaymentPart(type="CARD", value=100),  # type: ignore[arg-type]
        lambda: PaymentPart(type="CASH", value=-1),
        lambda: Discount(value=0),
    ],
)
def test_bad_parts_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()


def test_receipt_totals_change_and_coverage() -> None:
    receipt = SellReceipt(
        id=uuid.uuid4(),
        goods=[Good(code="1", name="x", price=1000, quantity=2000)],
        payments=[PaymentPart(type="CASHLESS", value=500), PaymentPart(type="CASH", value=2000)],
        discounts=[Discount(value=300), Discount(value=100, type="EXTRA_CHARGE")],
    )
    assert receipt.total == 1800
    assert receipt.change == 700
    assert receipt.net_payments() == {"CASHLESS": 500, "CASH": 1300}
    assert isinstance(receipt.goods, tuple)

    good = [Good(code="1", name="x", price=1000)]
    with pytest.raises(ValueError, match="do not cover"):
        SellReceipt(id=uuid.uuid4(), goods=good, payments=[PaymentPart("CASH", 999)])
    with pytest.raises(ValueError, match="change"):
        SellReceipt(id=uuid.uuid4(), goods=good, payments=[PaymentPart("CASHLESS", 1001)])
    with pytest.raises(ValueError, match="at least one good"):
        SellReceipt(id=uuid.uuid4(), goods=[], payments=[PaymentPart("CASH", 0)])
