"""The SMS wording of an outbox message: plain text, no buttons, no blank lines, short; and
how reports name what SMS were sent for."""

from __future__ import annotations

import html
import re

from aiogram.utils.i18n import gettext as _

from db.notify.models import MessageKind
from db.notify.outbox import OutboxItem

# Cyrillic SMS are UCS-2: 70 characters in one part, 67 per part after that. Five parts are
# the most a "ready" text should ever cost; templates are written to fit two or three.
SMS_MAX_CHARS = 335
_TAG = re.compile(r"<[^>]+>")


def sms_text(item: OutboxItem, max_chars: int = SMS_MAX_CHARS) -> str:
    text = item.sms_text or item.text
    if item.parse_mode == "HTML" and not item.sms_text:
        text = html.unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = "\n".join(line for line in lines if line)
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:\n") + "…"


def sms_kind_label(kind: str) -> str:
    """What an SMS was for, in a report line ("готово 3 · смета 1")."""
    labels: dict[str, str] = {
        MessageKind.READY: _("готово"),
        MessageKind.ESTIMATE: _("смета"),
        MessageKind.REMINDER: _("напоминание"),
        MessageKind.STATUS: _("статус"),
        MessageKind.INTAKE: _("приём"),
        MessageKind.RECEIPT: _("чек"),
    }
    return labels.get(kind, _("другое"))


def sms_summary(counts: tuple[tuple[str, int], ...]) -> str:
    """"готово 3 · смета 1 · статус 2"."""
    return " · ".join(f"{sms_kind_label(kind)} {count}" for kind, count in counts)
