"""A receipt as text, written once for everyone who reads one: staff on the money screen, the
owner in the reports, the client in their chat (with the shop's name and contacts on top).
Callers add their own buttons.

One receipt reads the same everywhere: what it is and when, who took the money, its ticket;
the lines (the first LINES_SHOWN, so the totals always fit in a message), the total, the
payments with cash received and change, the returns made against it, and the fiscal part —
fiscal number, date and the tax office's check link (its QR is `receipt_qr`), a pending or
failed fiscalization (the failure's details for staff only), or a clear "internal" mark.

Render inside an i18n context with the reader's locale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.views.formatting import clip, h, local_dt, money, quantity
from bot.views.labels import qr_png
from db.money.models import (
    FiscalState,
    Payment,
    PaymentKind,
    PaymentType,
    Receipt,
    ReceiptKind,
    ReceiptLine,
)
from db.money.receipts import FREE_LINE_CODE, ReceiptFacts, receipt_facts

LINES_SHOWN = 25  # a receipt's lines in a message; the rest are counted (4096-char messages)
NAME_SHOWN = 80  # long names must not push a receipt over Telegram's limit


async def load_receipt(session: AsyncSession, receipt_id: int) -> ReceiptFacts:
    """Raises db.errors.NotFound for an unknown id."""
    return await receipt_facts(session, receipt_id)


def kind_icon(kind: PaymentKind) -> str:
    return "💵" if kind == PaymentKind.CASH else "💳"


def receipt_name(receipt: Receipt) -> str:
    """"🟢 Чек №5" in lists and on buttons (no markup)."""
    if receipt.kind == ReceiptKind.REFUND:
        return _("↩️ Возврат №{id}").format(id=receipt.id)
    icon = "🟢" if receipt.is_paid else "🟡"
    return _("{icon} Чек №{id}").format(icon=icon, id=receipt.id)


def line_text(index: int, line: ReceiptLine, lang: str, *, html: bool = True) -> str:
    """"2. Стекло · GL1 — 2 × 150,00 ₴ = 300,00 ₴"; `html=False` for button labels."""
    esc = h if html else str
    name = line.name if len(line.name) <= NAME_SHOWN else line.name[:NAME_SHOWN - 1] + "…"
    code = "" if line.code == FREE_LINE_CODE else f" · {esc(line.code)}"
    return (f"{index}. {esc(name)}{code} — {quantity(line.quantity, lang)} × "
            f"{money(line.price, lang)} = {money(line.amount, lang)}")


def lines_block(lines: Sequence[ReceiptLine], lang: str) -> list[str]:
    out = [line_text(i, line, lang) for i, line in enumerate(lines[:LINES_SHOWN], 1)]
    if len(lines) > LINES_SHOWN:
        out.append(_("… и ещё строк: {count}").format(count=len(lines) - LINES_SHOWN))
    return out or [_("Строк пока нет.")]


def type_title(types: Mapping[int, PaymentType], type_id: int, lang: str) -> str:
    payment_type = types.get(type_id)
    return h(payment_type.title(lang)) if payment_type is not None else "?"


def payment_text(payment: Payment, types: Mapping[int, PaymentType], lang: str) -> str:
    """"💵 Наличные: 1 500,00 ₴ (получено 2 000,00 ₴, сдача 500,00 ₴)"."""
    name = type_title(types, payment.payment_type_id, lang)
    if payment.received is not None and payment.change:
        text = _("{name}: {amount} (получено {received}, сдача {change})").format(
            name=name, amount=money(payment.amount, lang),
            received=money(payment.received, lang), change=money(payment.change, lang))
    else:
        text = f"{name}: {money(payment.amount, lang)}"
    return f"{kind_icon(payment.kind)} {text}"


def _title(receipt: Receipt, lang: str, tz: ZoneInfo) -> str:
    if receipt.kind == ReceiptKind.REFUND:
        return _("↩️ <b>Возврат №{id}</b> к чеку №{original}").format(
            id=receipt.id, original=receipt.related_receipt_id)
    if receipt.is_paid:
        return _("🟢 <b>Чек №{id}</b> · продажа").format(id=receipt.id)
    return _("<b>Чек №{id}</b> · {date}").format(
        id=receipt.id, date=local_dt(receipt.created_at, tz, lang))


def _who_and_where(facts: ReceiptFacts, lang: str, tz: ZoneInfo) -> list[str]:
    receipt = facts.receipt
    if receipt.paid_at is None:
        lines = [_("🟡 Не оплачен")]
    elif facts.cashier_name:
        lines = [_("{when} · кассир {name}").format(when=local_dt(receipt.paid_at, tz, lang),
                                                    name=h(facts.cashier_name))]
    else:
        lines = [local_dt(receipt.paid_at, tz, lang)]
    if facts.ticket_number is None:
        return [*lines, _("Продажа без обращения")]
    ticket = _("Обращение [{number}]").format(number=facts.ticket_number)
    if facts.device:
        ticket += f" · {h(facts.device)}"
    if facts.master_name:
        ticket += " · " + _("мастер {name}").format(name=h(facts.master_name))
    return [*lines, ticket]


def _refunds_block(facts: ReceiptFacts, lang: str, tz: ZoneInfo) -> list[str]:
    if not facts.refunds:
        return []
    lines = ["", _("Возвраты по этому чеку:")]
    for refund in facts.refunds:
        ways = ", ".join(type_title(facts.payment_types, p.payment_type_id, lang)
                         for p in refund.payments)
        lines.append(_("• №{id} · {date} · {sum}").format(
            id=refund.id, date=local_dt(refund.paid_at or refund.created_at, tz, lang),
            sum=money(refund.total, lang)) + (f" · {ways}" if ways else ""))
    returned = sum(r.total for r in facts.refunds)
    lines.append(_("Итого с учётом возвратов: {sum}").format(
        sum=money(facts.receipt.total - returned, lang)))
    return lines


def _fiscal_lines(receipt: Receipt, lang: str, tz: ZoneInfo, *, prro: bool, for_client: bool
                  ) -> list[str]:
    state = receipt.fiscal_state
    if state == FiscalState.DONE and receipt.fiscal_code:
        lines = [_("Фискальный чек № <b>{code}</b>").format(code=h(receipt.fiscal_code))]
        if receipt.fiscal_date:
            lines.append(_("Дата фискализации: {date}").format(
                date=local_dt(receipt.fiscal_date, tz, lang)))
        if receipt.tax_url:
            lines.append(_("Проверить на сайте налоговой: {url}").format(
                url=h(receipt.tax_url)))
        return lines
    if state == FiscalState.NOT_FISCAL or not prro:
        return [_("<b>Нефискальный чек (внутренний)</b>")]
    if state == FiscalState.ERROR and not for_client:
        return [_("⚠️ Фискализация не удалась: {error}").format(
            error=h(receipt.fiscal_error or "?")),
            _("Повторить можно в /shift → «Ошибки фискализации».")]
    return [_("⏳ Чек ещё фискализируется — фискальный номер появится позже.")]


def receipt_text(facts: ReceiptFacts, lang: str, tz: ZoneInfo, *, prro: bool = True,
                 for_client: bool = False) -> str:
    """The receipt. `prro=False` when the shop has no PRRO (an unsent receipt is internal, not
    waiting); `for_client` keeps staff-only details (a fiscal error's text) out."""
    receipt = facts.receipt
    lines = [_title(receipt, lang, tz), *_who_and_where(facts, lang, tz), "",
             *lines_block(receipt.lines, lang), "",
             _("<b>Итого: {sum}</b>").format(sum=money(receipt.total, lang)),
             *(payment_text(p, facts.payment_types, lang) for p in receipt.payments),
             *_refunds_block(facts, lang, tz)]
    if receipt.is_paid:
        lines += ["", *_fiscal_lines(receipt, lang, tz, prro=prro, for_client=for_client)]
    return clip("\n".join(lines))


def render_receipt(facts: ReceiptFacts, settings: Settings, lang: str, *,
                   for_client: bool = False) -> str:
    """The copy people get (a staff member's "🧾 Чек", the client's chat): the shop on top."""
    head = [f"<b>{h(settings.shop_name)}</b>"]
    contacts = " · ".join(h(x) for x in (settings.shop_address, settings.shop_phone) if x)
    if contacts:
        head.append(contacts)
    text = receipt_text(facts, lang, settings.tz, prro=settings.fiscal_provider != "none",
                        for_client=for_client)
    return clip("\n".join([*head, "", text]))


def receipt_qr(facts: ReceiptFacts) -> bytes | None:
    """A QR code PNG of the tax office's check link, when the receipt is fiscal."""
    receipt = facts.receipt
    if receipt.fiscal_state != FiscalState.DONE or not receipt.tax_url:
        return None
    return qr_png(receipt.tax_url, box_size=8)
