"""The intake receipt as a PDF ("квитанція про прийом"): the shop, the ticket number and date,
the client, the device with its serial, condition and kit, the defect, the estimate, the terms,
the status QR, and two signature lines. A4, printable from a phone; texts in the current
locale (the caller sets the client's). The font is bundled (bot/views/fonts, DejaVu Sans: its
license allows redistribution, see LICENSE_DEJAVU), so it renders Cyrillic on any machine."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.usecases.intake_receipt import IntakeReceiptFacts
from bot.views.formatting import money_text
from bot.views.labels import qr_png
from db.desk.phones import format_phone
from db.notify.templates import ShopInfo

if TYPE_CHECKING:  # fpdf (with numpy, Pillow and fontTools) is imported when a PDF is made
    from fpdf import FPDF

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVu"
QR_MM = 34
LABEL_MM = 48  # the label column of the facts
LINE_MM = 6


def default_terms() -> str:
    return "\n".join((
        _("1. Стоимость и срок ремонта сообщаются после диагностики; работы сверх сметы — "
          "только с согласия клиента."),
        _("2. Устройство выдаётся по этой квитанции (номеру обращения) или документу, "
          "удостоверяющему личность клиента."),
        _("3. Сервис не отвечает за данные на устройстве: сохраните их заранее."),
        _("4. Скрытые дефекты, не указанные при приёме, могут обнаружиться при диагностике."),
        _("5. Готовое устройство хранится 30 дней после уведомления клиента."),
    ))


def _title(pdf: FPDF, text: str, size: int) -> None:
    pdf.set_font(FONT, "B", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")


def _plain(pdf: FPDF, text: str, size: int = 10) -> None:
    pdf.set_font(FONT, "", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")


def _fact(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font(FONT, "B", 10)
    pdf.cell(LABEL_MM, LINE_MM, label)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(0, LINE_MM, value or "—", new_x="LMARGIN", new_y="NEXT")


def facts_rows(facts: IntakeReceiptFacts) -> list[tuple[str, str]]:
    ticket = facts.ticket
    device = ticket.device
    client = " ".join(p for p in (ticket.client.full_name, format_phone(ticket.client.phone))
                      if p)
    model = " ".join(p for p in (device.kind, device.brand, device.model) if p)
    estimate = money_text(ticket.estimate, facts.language) if ticket.estimate is not None \
        else _("после диагностики")
    rows = [
        (_("Клиент:"), client),
        (_("Устройство:"), model),
        (_("Серийный № / IMEI:"), device.serial or ""),
        (_("Состояние:"), ticket.condition),
        (_("Комплектация:"), ticket.kit),
        (_("Неисправность:"), ticket.defect),
        (_("Стоимость (предв.):"), estimate),
    ]
    if facts.accepted_by:
        rows.append((_("Принял:"), facts.accepted_by))
    return rows


def _header(pdf: FPDF, shop: ShopInfo) -> None:
    if shop.name:
        _title(pdf, shop.name, 14)
    contacts = " · ".join(p for p in (shop.address, shop.phone) if p)
    if contacts:
        _plain(pdf, contacts, 10)


def _qr(pdf: FPDF, link: str) -> None:
    """The status QR in the top right corner, with what it is for under it."""
    x = pdf.w - pdf.r_margin - QR_MM
    pdf.image(io.BytesIO(qr_png(link, box_size=8)), x=x, y=pdf.t_margin, w=QR_MM, h=QR_MM)
    pdf.set_xy(x - 4, pdf.t_margin + QR_MM)
    pdf.set_font(FONT, "", 7)
    pdf.multi_cell(QR_MM + 8, 3.5, _("Статус ремонта: наведите камеру"), align="C")


def intake_receipt_pdf(facts: IntakeReceiptFacts, shop: ShopInfo, link: str,
                       tz: ZoneInfo, now: datetime | None = None) -> bytes:
    """The receipt as PDF bytes; `link` is the ticket's status link (the QR)."""
    ticket = facts.ticket
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(_("Квитанция о приёме №{number}").format(number=ticket.number))
    if now is not None:
        pdf.set_creation_date(now)
    pdf.add_page()
    pdf.set_right_margin(15 + QR_MM + 6)  # the header wraps left of the QR
    _header(pdf, shop)
    pdf.ln(3)
    _title(pdf, _("Квитанция о приёме в ремонт №{number}").format(number=ticket.number), 13)
    accepted = ticket.created_at.astimezone(tz)
    _plain(pdf, _("Принято: {date}").format(date=f"{accepted:%d.%m.%Y %H:%M}"), 10)
    _qr(pdf, link)
    pdf.set_right_margin(15)
    pdf.set_xy(pdf.l_margin, max(pdf.get_y(), pdf.t_margin + QR_MM + 10))
    pdf.ln(2)
    for label, value in facts_rows(facts):
        _fact(pdf, label, value)
    pdf.ln(4)
    _title(pdf, _("Условия"), 11)
    _plain(pdf, facts.terms or default_terms(), 9)
    pdf.ln(10)
    pdf.set_font(FONT, "", 10)
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    pdf.cell(half, LINE_MM, _("Сдал (клиент): ____________"))
    pdf.cell(half, LINE_MM, _("Принял: ____________"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def receipt_filename(number: int) -> str:
    return f"intake-{number}.pdf"
