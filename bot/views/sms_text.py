"""The SMS wording of an outbox message: plain text, no buttons, no blank lines, short."""

from __future__ import annotations

import html
import re

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
