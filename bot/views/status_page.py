"""The status page a client without Telegram opens from an SMS or a QR code: one small mobile
page in the client's language — ticket number, device, status, amount due, the shop's
address, hours and phone, and a link to continue in Telegram. Nothing staff-only."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.formatting import money


@dataclass(frozen=True)
class StatusPage:
    number: int
    device: str
    status: str
    ready: bool
    closed: bool
    created_at_text: str
    amount_due: int
    telegram_link: str
    language: str


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f5f7;
color:#1d1f23}main{max-width:28rem;margin:0 auto;padding:1.25rem}
.card{background:#fff;border-radius:14px;padding:1.25rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.3rem;margin:0 0 .75rem}.status{font-size:1.5rem;font-weight:700;margin:.25rem 0}
.ready{color:#0a7c2f}.muted{color:#60656e;font-size:.95rem}.due{font-size:1.15rem;margin:.75rem 0}
.shop{margin-top:1rem;line-height:1.5}a.tg{display:block;text-align:center;margin-top:1rem;
padding:.85rem;border-radius:10px;background:#229ed9;color:#fff;text-decoration:none;
font-weight:600}
"""


def render_status_page(page: StatusPage, settings: Settings) -> str:
    """The whole HTML document; call inside the client's locale."""
    title = escape(_("Обращение №{number}").format(number=page.number))
    status_label = escape(_("Статус ремонта"))
    created = escape(_("Принято: {date}").format(date=page.created_at_text))
    follow = escape(_("Следить за ремонтом в Telegram"))
    ready = " ready" if page.ready else ""
    lines = [
        f"<h1>{title}</h1>",
        f'<p class="muted">{escape(page.device)}</p>',
        f'<p class="muted">{status_label}</p>',
        f'<p class="status{ready}">{escape(page.status)}</p>',
        f'<p class="muted">{created}</p>',
    ]
    if page.amount_due and not page.closed:
        due = escape(_("К оплате: {amount}").format(amount=money(page.amount_due, page.language)))
        lines.append(f'<p class="due">{due}</p>')
    lines.append(f'<div class="shop">{_shop_lines(settings)}</div>')
    lines.append(f'<a class="tg" href="{escape(page.telegram_link)}">{follow}</a>')
    return ("<!doctype html>"
            f'<html lang="{page.language}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<meta name="robots" content="noindex,nofollow">'
            f"<title>{title}</title><style>{STYLE}</style></head>"
            f'<body><main><div class="card">{"".join(lines)}</div></main></body></html>')


def _shop_lines(settings: Settings) -> str:
    parts = [f"<b>{escape(settings.shop_name)}</b>"]
    if settings.shop_address:
        parts.append(escape(_("Адрес: {address}").format(address=settings.shop_address)))
    if settings.shop_hours:
        parts.append(escape(_("Часы работы: {hours}").format(hours=settings.shop_hours)))
    if settings.shop_phone:
        phone = escape(settings.shop_phone)
        parts.append(_("Телефон: {phone}").format(
            phone=f'<a href="tel:{phone.replace(" ", "")}">{phone}</a>'))
    return "<br>".join(parts)


def not_found_page() -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            "<meta name='robots' content='noindex,nofollow'><title>404</title></head>"
            "<body></body></html>")
