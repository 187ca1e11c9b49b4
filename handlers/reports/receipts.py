"""The receipts list of a day or a period: pages, filters (payment type, master, refunds
only), and one receipt with its refund and print buttons. Owners and managers alike: refunds
and reprints are the desk's work. The list's state travels in its buttons (ReceiptsCb)."""

from __future__ import annotations

import math

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import h
from db.desk.models import Staff
from db.desk.staff import get_staff, list_staff
from db.engine import DbSession
from db.errors import DomainError
from db.money.payment_types import list_payment_types
from db.reports.periods import period_range
from db.reports.queries import ReceiptFilter, list_receipts, receipt_detail
from db.reports.settings import can_see_totals
from handlers.reports.access import desk_router
from handlers.reports.common import answer_stale, button_period
from handlers.reports.render import (
    receipt_button,
    render_receipt,
    render_receipts_head,
)
from handlers.ui import edit_and_answer
from keyboards.reports import (
    FilterTitles,
    ReceiptOpenCb,
    ReceiptsCb,
    ReceiptsView,
    list_cb,
    pick_keyboard,
    receipt_keyboard,
    receipts_keyboard,
)

PAGE_SIZE = 8
MASTERS_SHOWN = 30  # the master filter's choices (two buttons a row)


async def _pay_type_name(session: DbSession, type_id: int, lang: str) -> str | None:
    if not type_id:
        return None
    types = {t.id: t for t in await list_payment_types(session, active_only=False)}
    return types[type_id].title(lang) if type_id in types else None


async def _master_name(session: DbSession, staff_id: int) -> str | None:
    if not staff_id:
        return None
    try:
        return (await get_staff(session, staff_id)).name
    except DomainError:  # gone or forged: the filter still applies, unnamed
        return None


async def _filters(session: DbSession, state: ReceiptsCb, lang: str
                   ) -> tuple[list[str], FilterTitles]:
    """The active filters for the list's head, and the three filter buttons' titles."""
    active: list[str] = []
    pay_title = _("💳 Оплата: все")
    master_title = _("👤 Мастер: все")
    if (pay_type := await _pay_type_name(session, state.pay_type, lang)) is not None:
        active.append(f"💳 {h(pay_type)}")
        pay_title = f"💳 {pay_type}"
    if (master := await _master_name(session, state.master)) is not None:
        active.append(f"👤 {h(master)}")
        master_title = f"👤 {master}"
    if state.refunds:
        active.append(_("только возвраты"))
    refunds_title = _("↩️ Только возвраты ✓") if state.refunds else _("↩️ Только возвраты")
    return active, FilterTitles(pay_title, master_title, refunds_title)


async def receipts_list(query: CallbackQuery, callback_data: ReceiptsCb, session: DbSession,
                        staff: Staff, lang: str, settings: Settings) -> None:
    state = callback_data
    period = button_period(state)
    if period is None:
        await answer_stale(query)
        return
    lo, hi = period_range(period, settings.tz)
    flt = ReceiptFilter(payment_type_id=state.pay_type, master_id=state.master,
                        refunds_only=state.refunds)
    rows, count = await list_receipts(session, lo, hi, flt, offset=state.page * PAGE_SIZE,
                                      limit=PAGE_SIZE)
    pages = max(1, math.ceil(count / PAGE_SIZE))
    if state.page >= pages:  # the list shrank (or a forged page): show the last one
        state = list_cb(state, page=pages - 1)
        rows, count = await list_receipts(session, lo, hi, flt, offset=state.page * PAGE_SIZE,
                                          limit=PAGE_SIZE)
    active, titles = await _filters(session, state, lang)
    items = [(receipt_button(row, settings.tz, lang, with_date=not period.is_day), row.id)
             for row in rows]
    back = await can_see_totals(session, staff)
    await edit_and_answer(query, render_receipts_head(period, count, lang, active),
                          receipts_keyboard(state, items, pages, back=back, filters=titles))


async def pick_pay_type(query: CallbackQuery, callback_data: ReceiptsCb, session: DbSession,
                        lang: str) -> None:
    types = await list_payment_types(session, active_only=False)
    options = [(0, _("Все")), *((t.id, t.title(lang)) for t in types)]
    await edit_and_answer(query, _("💳 Чеки с какой оплатой показать?"),
                          pick_keyboard(callback_data, options))


async def pick_master(query: CallbackQuery, callback_data: ReceiptsCb,
                      session: DbSession) -> None:
    people = await list_staff(session)
    options = [(0, _("Все")), *((p.id, p.name + ("" if p.active else " ⛔"))
                                for p in people[:MASTERS_SHOWN])]
    await edit_and_answer(query, _("👤 Чеки обращений какого мастера показать?"),
                          pick_keyboard(callback_data, options))


async def open_receipt(query: CallbackQuery, callback_data: ReceiptOpenCb, session: DbSession,
                       lang: str, settings: Settings) -> None:
    detail = await receipt_detail(session, callback_data.id)
    await edit_and_answer(query, render_receipt(detail, lang, settings.tz),
                          receipt_keyboard(callback_data, detail.receipt.id,
                                           refundable=detail.refundable,
                                           original_id=detail.receipt.related_receipt_id))


def setup() -> Router:
    router = desk_router("reports.receipts")
    on = router.callback_query.register
    on(receipts_list, ReceiptsCb.filter(F.view == ReceiptsView.LIST))
    on(pick_pay_type, ReceiptsCb.filter(F.view == ReceiptsView.PAY_TYPE))
    on(pick_master, ReceiptsCb.filter(F.view == ReceiptsView.MASTER))
    on(open_receipt, ReceiptOpenCb.filter())
    return router
