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


def money(kopecks: int, lang: str = "ru", *, sign: bool = False) -> str:
    """1 200,50 ₴ — grouping and decimal comma from the locale, always two decimals."""
    value = format_decimal(
        abs(kopecks) / 100, format="#,##0.00", locale=BABEL_LOCALES.get(lang, "ru_RU")
    )
    prefix = "−" if kopecks < 0 else ("+" if sign and kopecks > 0 else "")
    return f"{prefix}{value}\u00a0₴"


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
