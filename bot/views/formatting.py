"""How money, dates and people look on a phone screen (Babel, the shop's time zone)."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

BABEL_LOCALES = {"ru": "ru_RU", "uk": "uk_UA"}
TELEGRAM_TEXT_LIMIT = 4096


def h(text: object) -> str:
    """Escape user-typed text for HTML parse mode."""
    return html.escape(str(text), quote=False)


ECHO_LIMIT = 100  # characters of a person's own text quoted back to them ("not found: «…»")


def echo(text: str, limit: int = ECHO_LIMIT) -> str:
    """A person's text quoted back in a reply: cut to `limit` characters (a 5,000-character
    search must not make the reply too long for Telegram), then escaped for HTML."""
    text = " ".join(text.split())
    return h(text if len(text) <= limit else text[: limit - 1] + "…")


def money(kopecks: int, lang: str = "ru", *, sign: bool = False, unit: str = "\u00a0₴") -> str:
    """1 200,50 ₴ — grouping and decimal comma from the locale, always two decimals. The one
    money formatter: screens use "₴", texts to clients `money_text`."""
    value = format_decimal(
        abs(kopecks) / 100, format="#,##0.00", locale=BABEL_LOCALES.get(lang, "ru_RU")
    )
    prefix = "−" if kopecks < 0 else ("+" if sign and kopecks > 0 else "")
    return f"{prefix}{value}{unit}"


def money_text(kopecks: int, lang: str = "uk") -> str:
    """'1 200,50 грн' in client messages and SMS (shops write грн there, and it survives any
    phone's SMS charset)."""
    return money(kopecks, lang, unit=" грн")


def quantity(thousandths: int, lang: str = "ru") -> str:
    """1000 → "1", 1500 → "1,5" in the person's locale (quantities are kept in thousandths)."""
    return format_decimal(thousandths / 1000, format="#,##0.###",
                          locale=BABEL_LOCALES.get(lang, "ru_RU"))


def local_dt(value: datetime, tz: ZoneInfo, lang: str = "ru") -> str:
    return format_datetime(value.astimezone(tz), "dd.MM.yyyy HH:mm", locale=BABEL_LOCALES[lang])


def local_date(value: datetime, tz: ZoneInfo, lang: str = "ru") -> str:
    return format_date(value.astimezone(tz).date(), "dd.MM.yyyy", locale=BABEL_LOCALES[lang])


def clip(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """Keep a message inside Telegram's limit, cutting at a line break when possible."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit - 2)
    return text[: cut if cut > limit // 2 else limit - 2] + "\n…"
