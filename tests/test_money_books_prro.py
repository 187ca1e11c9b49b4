"""The PRRO's cash equals the drawer: cash expenses (and deleting one) are PRRO service
receipts, so the Z-reports agree to the kopeck; checked against the Checkbox emulator."""

from __future__ import annotations

from sqlalchemy import select

from db.desk.staff import get_staff_by_tg
from db.money.cash import service_cash
from db.money.drawer import drawer_balance, drawer_totals
from db.money.expenses import add_expense, delete_expense
from db.money.models import CashMove, FiscalState, Shift
from db.money.receipts import get_receipt
from db.money.refunds import refund
from db.reports.periods import Period
from db.reports.queries import totals as period_totals
from scheduler.fiscal import autoclose_shift
from tests.handler_kit import OWNER_ID
from tests.test_fiscal_jobs import DAY, KYIV, MASTER_TG, Kit, at, kit, pay_at
from tests.test_money_support import card_type, cash_type

__all__ = ["kit"]  # the fixture, imported for pytest


async def test_cash_expense_is_a_service_receipt_and_the_z_reports_agree(kit: Kit) -> None:
    await pay_at(kit, at(10), 399990)  # 3 999,90 cash
    async with kit.session_factory() as session, session.begin():
        master = await get_staff_by_tg(session, MASTER_TG)
        owner = await get_staff_by_tg(session, OWNER_ID)
        await add_expense(session, master, None, "Клей B-7000", 30000,
                          (await cash_type(session)).id, now=at(11), fiscal=True)
        # cashless expenses leave no cash: nothing for the PRRO
        await add_expense(session, master, None, "Запчасть онлайн", 12000,
                          (await card_type(session)).id, now=at(11, 5), fiscal=True)
        wrong = await add_expense(session, master, None, "Ошибка", 5000,
                                  (await cash_type(session)).id, now=at(11, 10), fiscal=True)
        await service_cash(session, owner, 10000, "Размен", now=at(11, 20), fiscal=True)
    async with kit.session_factory() as session, session.begin():
        owner = await get_staff_by_tg(session, OWNER_ID)
        await delete_expense(session, owner, wrong.id, now=at(11, 30))
    async with kit.session_factory() as session:
        # the drawer counts the expenses, never their PRRO copies
        assert await drawer_balance(session) == 399990 - 30000 + 10000
        totals = await drawer_totals(session)
        assert (totals.cash_expenses, totals.service_in, totals.service_out) == (30000, 10000, 0)
        day = await period_totals(session, Period(DAY.date(), DAY.date()), KYIV)
        assert (day.service_in, day.service_out, day.expenses_cash) == (10000, 0, 30000)
        mirrors = [m.amount for m in await session.scalars(
            select(CashMove).where(CashMove.expense_id.is_not(None)).order_by(CashMove.id))]
        assert mirrors == [-30000, -5000, 5000]

    result = await autoclose_shift(kit.runtime, now=at(23, 50))

    assert result is not None and result.status == "closed"
    services = [r.json["payment"]["value"]
                for r in kit.emu.requests_to("POST", "/receipts/service")]
    assert services == [-30000, -5000, 10000, 5000]
    assert all(count == 1 for count in kit.emu.fiscalized.values())
    async with kit.session_factory() as session:
        shift = (await session.scalars(select(Shift))).one()
        states = set(await session.scalars(select(CashMove.fiscal_state)))
    assert states == {FiscalState.DONE}
    assert shift.z_report is not None and shift.drawer_at_close == 379990
    fiscal_z = shift.z_report["fiscal"]
    assert fiscal_z["balance"] == shift.drawer_at_close == 379990
    assert (fiscal_z["service_in"], fiscal_z["service_out"]) == (15000, 35000)
    [summary] = kit.to(OWNER_ID)
    assert "В кассе на закрытии: 3 799,90" in summary.replace("\xa0", " ")
    assert "Наличные в ПРРО совпадают с кассой" in summary
    assert "Наличные в ПРРО:" not in summary  # one figure, not two


async def test_without_prro_expenses_make_no_service_receipts(kit: Kit) -> None:
    await pay_at(kit, at(10), 10000)
    async with kit.session_factory() as session, session.begin():
        master = await get_staff_by_tg(session, MASTER_TG)
        owner = await get_staff_by_tg(session, OWNER_ID)
        expense = await add_expense(session, master, None, "Клей", 3000,
                                    (await cash_type(session)).id, now=at(11), fiscal=False)
        await delete_expense(session, owner, expense.id, now=at(11, 5))
        assert list(await session.scalars(select(CashMove))) == []
        assert await drawer_balance(session) == 10000


async def test_refund_by_amount_is_a_matching_prro_return(kit: Kit) -> None:
    sale = await pay_at(kit, at(10), 150000)  # 1 500,00 cash (2 000,00 handed over)
    await kit.runtime.fiscalizer.run_once(now=at(10, 1))
    async with kit.session_factory() as session, session.begin():
        owner = await get_staff_by_tg(session, OWNER_ID)
        [line] = (await get_receipt(session, sale.id)).lines
        back = await refund(session, owner, sale.id, [], (await cash_type(session)).id,
                            at(12), fiscal=True, amounts=[(line.id, 50000)])
    stats = await kit.runtime.fiscalizer.run_once(now=at(12, 1))
    assert stats.done == 1 and stats.errors == 0

    returned = kit.emu.receipts[str(back.receipt.fiscal_id)]
    assert returned["type"] == "RETURN" and returned["status"] == "DONE"
    assert returned["related_receipt_id"] == sale.fiscal_id
    assert returned["total_sum"] == 50000
    [good] = returned["goods"]
    assert (good["good"]["code"], good["good"]["name"], good["good"]["price"],
            good["quantity"], good["sum"], good["is_return"]) == (
        line.code, line.name, 50000, 1000, 50000, True)
    # the PRRO refuses to return more than the sale; ours refused first, the PRRO agrees
    result = await autoclose_shift(kit.runtime, now=at(23, 50))
    assert result is not None and result.status == "closed"
    async with kit.session_factory() as session:
        shift = (await session.scalars(select(Shift))).one()
        assert await drawer_balance(session) == 100000
    assert shift.z_report is not None
    assert (shift.z_report["sales_total"], shift.z_report["refunds_total"]) == (150000, 50000)
    fiscal_z = shift.z_report["fiscal"]
    assert (fiscal_z["sell_sum"], fiscal_z["return_sum"]) == (150000, 50000)
    assert (fiscal_z["balance"], fiscal_z["return_receipts_count"]) == (100000, 1)
    assert shift.drawer_at_close == fiscal_z["balance"]
    [summary] = kit.to(OWNER_ID)
    assert "Наличные в ПРРО совпадают с кассой" in summary
