"""A receipt as people read it (staff on screen, the client in their chat): the shop, lines,
total, payments with change, refunds, and the fiscal part — fiscal number, date, the tax
office's check link and its QR code — or a clear "internal, non-fiscal" mark.

Render inside an i18n context with the reader's locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.formatting import clip, h, local_dt, money, quantity
from bot.views.labels import qr_png
from db.desk.models import Client, Ticket
from db.money.models import FiscalState, PaymentType, Receipt, ReceiptKind, ReceiptStatus
from db.money.receipts import get_receipt, refunds_of


@dataclass(frozen=True)
class ReceiptBundle:
    """Everything a receipt shows, read in one go."""

    receipt: Receipt
    payment_types: dict[int, PaymentType]
    refunds: list[Receipt]
    ticket_number: int | None
    client: Client | None

    @property
    def client_chat_id(self) -> int | None:
        return self.client.tg_chat_id if self.client is not None else None


async def load_receipt(session: AsyncSession, receipt_id: int) -> ReceiptBundle:
    """Raises db.errors.NotFound for an unknown id."""
    receipt = await get_receipt(session, receipt_id)
    refunds = await refunds_of(session, receipt.id) if receipt.kind == ReceiptKind.SALE else []
    type_ids = {p.payment_type_id for r in (receipt, *refunds) for p in r.payments}
    types = {t.id: t for t in await session.scalars(
        select(PaymentType).where(PaymentType.id.in_(type_ids)))} if type_ids else {}
    ticket_number = client = None
    if receipt.ticket_id is not None:
        ticket = await session.get(Ticket, receipt.ticket_id)
        if ticket is not None:
            ticket_number = ticket.number
            client = await session.get(Client, ticket.client_id)
    return ReceiptBundle(receipt, types, refunds, ticket_number, client)


def _type_name(bundle: ReceiptBundle, type_id: int, lang: str) -> str:
    payment_type = bundle.payment_types.get(type_id)
    return h(payment_type.title(lang)) if payment_type else "?"


def _fiscal_lines(receipt: Receipt, settings: Settings, lang: str, *, for_client: bool
                  ) -> list[str]:
    state = receipt.fiscal_state
    if state == FiscalState.DONE and receipt.fiscal_code:
        lines = [_("Фискальный чек № <b>{code}</b>").format(code=h(receipt.fiscal_code))]
        if receipt.fiscal_date:
            lines.append(_("Дата фискализации: {date}").format(
                date=local_dt(receipt.fiscal_date, settings.tz, lang)))
        if receipt.tax_url:
            lines.append(_("Проверить на сайте налоговой: {url}").format(
                url=h(receipt.tax_url)))
        return lines
    if state == FiscalState.NOT_FISCAL or settings.fiscal_provider == "none":
        return [_("<b>Нефискальный чек (внутренний)</b>")]
    if state == FiscalState.ERROR and not for_client:
        return [_("⚠️ Фискализация не удалась: {error}").format(
            error=h(receipt.fiscal_error or "?")),
            _("Повторить можно в /shift → «Ошибки фискализации».")]
    return [_("⏳ Чек ещё фискализируется — фискальный номер появится позже.")]


def render_receipt(bundle: ReceiptBundle, settings: Settings, lang: str, *,
                   for_client: bool = False) -> str:
    receipt = bundle.receipt
    tz = settings.tz
    lines = [f"<b>{h(settings.shop_name)}</b>"]
    contacts = " · ".join(h(x) for x in (settings.shop_address, settings.shop_phone) if x)
    if contacts:
        lines.append(contacts)
    lines.append("")
    when: datetime = receipt.paid_at or receipt.created_at
    if receipt.kind == ReceiptKind.REFUND:
        lines.append(_("<b>Возврат №{id}</b> к чеку №{original} · {date}").format(
            id=receipt.id, original=receipt.related_receipt_id, date=local_dt(when, tz, lang)))
    else:
        lines.append(_("<b>Чек №{id}</b> · {date}").format(
            id=receipt.id, date=local_dt(when, tz, lang)))
    if bundle.ticket_number is not None:
        lines.append(_("Обращение [{number}]").format(number=bundle.ticket_number))
    if receipt.status == ReceiptStatus.UNPAID:
        lines.append(_("🟡 Не оплачен"))
    lines.append("")
    for index, line in enumerate(receipt.lines, 1):
        lines.append(f"{index}. {h(line.name)}")
        lines.append(f"    {quantity(line.quantity, lang)} × {money(line.price, lang)} = "
                     f"{money(line.amount, lang)}")
    lines.append("")
    lines.append(_("<b>Итого: {sum}</b>").format(sum=money(receipt.total, lang)))
    for payment in receipt.payments:
        name = _type_name(bundle, payment.payment_type_id, lang)
        if payment.received is not None and payment.change:
            lines.append(_("{name}: {amount} (получено {received}, сдача {change})").format(
                name=name, amount=money(payment.amount, lang),
                received=money(payment.received, lang), change=money(payment.change, lang)))
        else:
            lines.append(f"{name}: {money(payment.amount, lang)}")
    if bundle.refunds:
        lines.append("")
        lines.append(_("Возвраты:"))
        for refund in bundle.refunds:
            ways = ", ".join(_type_name(bundle, p.payment_type_id, lang) for p in refund.payments)
            lines.append(_("• №{id} · {date} · {sum}").format(
                id=refund.id, date=local_dt(refund.paid_at or refund.created_at, tz, lang),
                sum=money(refund.total, lang)) + (f" · {ways}" if ways else ""))
        returned = sum(r.total for r in bundle.refunds)
        lines.append(_("Итого с учётом возвратов: {sum}").format(
            sum=money(receipt.total - returned, lang)))
    if receipt.status == ReceiptStatus.PAID:
        lines.append("")
        lines.extend(_fiscal_lines(receipt, settings, lang, for_client=for_client))
    return clip("\n".join(lines))


def receipt_qr(bundle: ReceiptBundle) -> bytes | None:
    """A QR code PNG of the tax office's check link, when the receipt is fiscal."""
    receipt = bundle.receipt
    if receipt.fiscal_state != FiscalState.DONE or not receipt.tax_url:
        return None
    return qr_png(receipt.tax_url, box_size=8)
