"""A local Telegram Bot API server emulator for end-to-end tests.

    async with run_telegram_emulator(token=TOKEN) as emu:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
        polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
        alice = emu.user(1001, "Alice")
        await alice.send("/start")
        reply = await alice.wait_for("Welcome")
        await alice.tap("Open ticket")              # inline button text or callback_data
        assert alice.last_message().edited
        await dp.stop_polling(); await polling

The real bot talks HTTP to `{base_url}/bot{token}/{method}` (JSON, form-urlencoded or multipart
bodies) and long-polls `getUpdates`; files download from `{base_url}/file/bot{token}/{path}`.
Simulated users (`emu.user(...)`) produce updates and see what the bot sent them; `wait_for`
consumes the user's chat log like an expect script, `expect_silence` asserts nothing new came.

The emulator rejects what Telegram rejects, in Telegram's error format: callback_data over 64
bytes, empty or too long texts and captions, parse_mode markup that does not parse, edits that
change nothing, unknown messages, chats that never wrote to the bot, a wrong token. Fault knobs:
`block(user_id)` (403), `rate_limit(...)` (429 for the next sends), `enforce_limits()` (429 when
the bot exceeds 1 msg/s per chat or 30 msg/s overall; `stats` counts what happened) and
`fail_next(method, ...)` (5xx — JSON, or a proxy's HTML page —, a slow answer that runs into the
client's timeout, or a call that takes effect and then fails; `faults_served` counts them).

Results and updates are built with aiogram's own pydantic types and serialised with
`model_dump(mode="json", by_alias=True, exclude_none=True)`, so the wire format stays honest.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import json
import logging
import math
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
from aiogram.types import (
    BotCommand,
    BotCommandScopeDefault,
    CallbackQuery,
    Chat,
    Document,
    File,
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
    Update,
    User,
)
from aiohttp import web
from pydantic import BaseModel, ValidationError

__all__ = [
    "DEFAULT_TOKEN",
    "BotMessage",
    "EmulatorStats",
    "RecordedRequest",
    "SimUser",
    "StoredFile",
    "TelegramEmulator",
    "WaitTimeout",
    "render_text",
    "run_telegram_emulator",
]

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:TEST-emulator-token"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
# Update types Telegram delivers when allowed_updates is empty / never given.
DEFAULT_ALLOWED = frozenset(set(Update.model_fields) - {
    "update_id", "chat_member", "message_reaction", "message_reaction_count",
})
_SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument", "sendmediagroup"})
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
_INLINE_ACTIONS = frozenset({
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
})
# Form fields that are plain strings on the wire; every other form value is JSON-decoded.
_STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "file_id",
    "action", "url", "language_code", "business_connection_id", "message_effect_id", "emoji",
    "photo", "document", "video", "audio", "animation", "voice", "video_note", "sticker",
    "thumbnail", "secret_token", "ip_address", "description", "short_description", "name",
    "title", "query", "question", "address", "phone_number", "first_name", "last_name",
    "vcard", "payload", "currency", "start_parameter", "result_id", "error_message",
})
_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_URL_RE = re.compile(r"^(?:(?:https?|tg)://\S+|[\w-]+(?:\.[\w-]+)+(?:/\S*)?)$", re.IGNORECASE)

Json = dict[str, Any]
_T = TypeVar("_T")


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class WaitTimeout(AssertionError):
    """`wait_for` saw no matching bot message in time (an AssertionError, so pytest shows it)."""


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _wire(model: type[BaseModel], data: Any) -> Any:
    """Validate `data` with an aiogram type and dump it the way Telegram sends it."""
    return model.model_validate(data).model_dump(mode="json", by_alias=True, exclude_none=True)


def _dump(obj: Any) -> Any:
    if isinstance(obj, TelegramObject):
        return obj.model_dump(mode="json", by_alias=True, exclude_none=True)
    return obj


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _now() -> int:
    return int(time.time())


# -- parse_mode rendering -------------------------------------------------------------------


class _ParseError(Exception):
    pass


_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "code": "code", "pre": "pre", "a": "text_link",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}


class _HtmlRenderer(HTMLParser):
    """Telegram's HTML subset: plain text plus entities; anything else is an error."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.pos = 0
        self.stack: list[tuple[str, Json | None]] = []
        self.entities: list[Json] = []

    def _byte_offset(self) -> int:
        line, col = self.getpos()
        lines = self.source.split("\n")
        return len("\n".join(lines[: line - 1]).encode()) + (line > 1) + len(
            lines[line - 1][:col].encode()
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        kind = _HTML_TAGS.get(tag)
        if tag == "span" and attr.get("class") != "tg-spoiler":
            kind = None
        if kind is None:
            raise _ParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        entity: Json | None = {"type": kind, "offset": self.pos}
        if tag == "a":
            entity = {**entity, "url": attr.get("href") or ""}
        elif tag == "blockquote" and "expandable" in attr:
            entity = {**entity, "type": "expandable_blockquote"}
        elif tag == "tg-emoji":
            entity = {**entity, "custom_emoji_id": attr.get("emoji-id") or ""}
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (attr.get("class") or "").removeprefix("language-")
            pre = self.stack[-1][1]
            if language and pre is not None:
                pre["language"] = language
                entity = None  # <pre><code class="language-x"> is one pre entity
        self.stack.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise _ParseError(f"Unexpected end tag at byte offset {self._byte_offset()}")
        open_tag, entity = self.stack.pop()
        if open_tag != tag:
            raise _ParseError(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
        if entity is not None and self.pos > entity["offset"]:
            self.entities.append({**entity, "length": self.pos - entity["offset"]})

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.pos += _utf16(data)

    def render(self) -> tuple[str, list[Json]]:
        self.feed(self.source)
        self.close()
        if self.stack:
            tag = self.stack[-1][0]
            raise _ParseError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        return "".join(self.parts), self.entities


# Which keys make which markup, in the order Telegram looks for them.
_MARKUP_MODELS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("inline_keyboard", InlineKeyboardMarkup),
    ("keyboard", ReplyKeyboardMarkup),
    ("remove_keyboard", ReplyKeyboardRemove),
    ("force_reply", ForceReply),
)
_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl",
}


def _render_markdown_v2(src: str) -> tuple[str, list[Json]]:
    return _MarkdownV2(src).render()


class _MarkdownV2:
    """Telegram's MarkdownV2 parser: entities nest, reserved characters must be escaped."""

    def __init__(self, src: str) -> None:
        self.src, self.n, self.i = src, len(src), 0
        self.out: list[str] = []
        self.entities: list[Json] = []
        self.stack: list[tuple[str, int, int, Json]] = []  # type, utf16 start, byte offset, extra
        self.pos = 0
        self.quote_start: int | None = None
        self.markers: dict[str, Callable[[], None]] = {
            "\\": self._backslash, "\n": self._newline, ">": self._quote,
            "`": self._backtick, "*": lambda: self._toggle("bold", 1),
            "_": self._underscore, "~": lambda: self._toggle("strikethrough", 1),
            "|": self._bar, "[": self._link_start, "]": self._link_end,
        }

    def render(self) -> tuple[str, list[Json]]:
        while self.i < self.n:
            top = self.stack[-1][0] if self.stack else None
            if top in ("code", "pre"):
                self._verbatim(top)
            else:
                self.markers.get(self.src[self.i], self._plain)()
        if self.stack:
            kind, _, offset, _ = self.stack[-1]
            raise _ParseError(f"Can't find end of {_MD_NAMES[kind]} entity at byte offset {offset}")
        self._end_quote()
        return "".join(self.out), self.entities

    # -- helpers ---------------------------------------------------------------------------------

    def _emit(self, text: str, width: int = 1) -> None:
        self.out.append(text)
        self.pos += _utf16(text)
        self.i += width

    def _byte_at(self, index: int) -> int:
        return len(self.src[:index].encode())

    def _open(self, kind: str, extra: Json | None = None) -> None:
        self.stack.append((kind, self.pos, self._byte_at(self.i), extra or {}))

    def _close(self, extra: Json | None = None) -> None:
        kind, start, _, data = self.stack.pop()
        if self.pos > start:
            self.entities.append({"type": kind, "offset": start, "length": self.pos - start,
                                  **data, **(extra or {})})

    def _end_quote(self) -> None:
        if self.quote_start is not None and self.pos > self.quote_start:
            self.entities.append({"type": "blockquote", "offset": self.quote_start,
                                  "length": self.pos - self.quote_start})
        self.quote_start = None

    def _toggle(self, kind: str, width: int) -> None:
        if any(entry[0] == kind for entry in self.stack):
            top = self.stack[-1]
            if top[0] != kind:
                raise _ParseError(f"Can't find end of {_MD_NAMES[top[0]]} entity at byte offset "
                                  f"{top[2]}")
            self._close()
        else:
            self._open(kind)
        self.i += width

    def _reserved(self) -> None:
        raise _ParseError(
            f"Character '{self.src[self.i]}' is reserved and must be escaped with the preceding "
            "'\\'"
        )

    # -- inside code and pre: only ` and \ are special ------------------------------------------

    def _verbatim(self, top: str) -> None:
        src, i = self.src, self.i
        if src[i] == "\\" and i + 1 < self.n and src[i + 1] in "`\\":
            self._emit(src[i + 1], 2)
        elif top == "pre" and src.startswith("```", i):
            self._close()
            self.i += 3
        elif top == "code" and src[i] == "`":
            self._close()
            self.i += 1
        else:
            self._emit(src[i])

    # -- markup: one handler per character that can start one ------------------------------------

    def _plain(self) -> None:
        if self.src[self.i] in _MD2_RESERVED:
            self._reserved()
        self._emit(self.src[self.i])

    def _backslash(self) -> None:
        i = self.i
        if i + 1 < self.n and 0 < ord(self.src[i + 1]) < 127:
            self._emit(self.src[i + 1], 2)
        else:
            self._emit("\\")

    def _newline(self) -> None:
        if self.quote_start is not None and not self.src.startswith(">", self.i + 1):
            self._end_quote()
        self._emit("\n")

    def _quote(self) -> None:
        if self.i != 0 and self.src[self.i - 1] != "\n":
            self._reserved()
        if self.quote_start is None:
            self.quote_start = self.pos
        self.i += 1

    def _backtick(self) -> None:
        if not self.src.startswith("```", self.i):
            self._open("code")
            self.i += 1
            return
        end = self.src.find("\n", self.i + 3)
        language = self.src[self.i + 3 : end].strip() if end != -1 else ""
        self._open("pre", {"language": language} if language else {})
        self.i = end + 1 if end != -1 else self.n

    def _underscore(self) -> None:
        if self.src.startswith("__", self.i):
            self._toggle("underline", 2)
        else:
            self._toggle("italic", 1)

    def _bar(self) -> None:
        if not self.src.startswith("||", self.i):
            self._reserved()
        self._toggle("spoiler", 2)

    def _link_start(self) -> None:
        self._open("text_link")
        self.i += 1

    def _link_end(self) -> None:
        src, n, i = self.src, self.n, self.i
        in_link = bool(self.stack) and self.stack[-1][0] == "text_link"
        if not in_link or not src.startswith("(", i + 1):
            self._reserved()
        j, url = i + 2, []
        while j < n and src[j] != ")":
            if src[j] == "\\" and j + 1 < n:
                j += 1
            url.append(src[j])
            j += 1
        if j >= n:
            raise _ParseError(f"Can't find end of a URL at byte offset {self._byte_at(i + 2)}")
        self._close({"url": "".join(url)})
        self.i = j + 1


def _render_markdown(src: str) -> tuple[str, list[Json]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out: list[str] = []
    entities: list[Json] = []
    pos, i, n = 0, 0, len(src)

    def emit(text: str) -> None:
        nonlocal pos
        out.append(text)
        pos += _utf16(text)

    def unclosed(index: int) -> _ParseError:
        offset = len(src[:index].encode())
        return _ParseError(f"Can't find end of the entity starting at byte offset {offset}")

    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            emit(src[i + 1])
            i += 2
            continue
        marker = "```" if src.startswith("```", i) else c
        if marker in ("```", "`", "*", "_"):
            end = src.find(marker, i + len(marker))
            if end == -1:
                raise unclosed(i)
            kind = {"```": "pre", "`": "code", "*": "bold", "_": "italic"}[marker]
            start = pos
            emit(src[i + len(marker) : end])
            if pos > start:
                entities.append({"type": kind, "offset": start, "length": pos - start})
            i = end + len(marker)
        elif c == "[":
            close_text = src.find("](", i)
            close_url = src.find(")", close_text + 2) if close_text != -1 else -1
            if close_url == -1:
                raise unclosed(i)
            start = pos
            emit(src[i + 1 : close_text])
            entities.append({"type": "text_link", "offset": start, "length": pos - start,
                             "url": src[close_text + 2 : close_url]})
            i = close_url + 1
        else:
            emit(c)
            i += 1
    return "".join(out), entities


def render_text(
    text: str, parse_mode: str | None = None, entities: list[Json] | None = None,
) -> tuple[str, list[Json]]:
    """Telegram's view of a text: markup parsed to entities, surrounding whitespace trimmed."""
    mode = (parse_mode or "").lower()
    try:
        if not mode:
            plain, ents = text, list(entities or [])
        elif mode == "html":
            plain, ents = _HtmlRenderer(text).render()
        elif mode == "markdownv2":
            plain, ents = _render_markdown_v2(text)
        elif mode == "markdown":
            plain, ents = _render_markdown(text)
        else:
            raise _bad("unsupported parse_mode")
    except _ParseError as exc:
        raise _bad(f"can't parse entities: {exc}") from None
    stripped = plain.strip()
    lead = _utf16(plain[: len(plain) - len(plain.lstrip())])
    total = _utf16(stripped)
    trimmed: list[Json] = []
    for entity in ents:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] - lead + entity["length"])
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    trimmed.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, trimmed


# -- records ----------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One HTTP call of the bot: canonical method name, decoded params, uploaded file names."""

    method: str
    params: Json
    files: dict[str, str]
    status: int = 200
    result: Any = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "photo" | "document"
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class BotMessage:
    """A snapshot of a message as the chat saw it after a send or an edit by the bot."""

    chat_id: int
    message_id: int
    method: str
    raw: Json  # Message exactly as the Bot API returned it
    reply_markup: Json | None  # markup as sent (inline or reply keyboard)
    edited: bool = False
    photo: bytes | None = None
    document: bytes | None = None
    file_id: str | None = None  # largest photo size or the document

    @property
    def text(self) -> str | None:
        """The text, or the caption of a media message."""
        return self.raw.get("text", self.raw.get("caption"))

    @property
    def caption(self) -> str | None:
        return self.raw.get("caption")

    @property
    def entities(self) -> list[Json]:
        return list(self.raw.get("entities", self.raw.get("caption_entities", [])))

    @property
    def document_name(self) -> str | None:
        return self.raw.get("document", {}).get("file_name")

    @property
    def button_rows(self) -> list[list[str]]:
        """Inline keyboard button texts, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [[button["text"] for button in row] for row in rows]

    @property
    def buttons(self) -> list[str]:
        return [text for row in self.button_rows for text in row]

    @property
    def callback_data(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]

    def button(self, text_or_data: str) -> Json | None:
        for row in (self.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                if text_or_data in (button.get("text"), button.get("callback_data")):
                    return dict(button)
        return None


@dataclass
class EmulatorStats:
    """Delivery statistics (monotonic timestamps) for notification/limit tests and benchmarks."""

    sent: int = 0
    too_many_requests: int = 0
    forbidden: int = 0
    bad_requests: int = 0
    sent_at: list[float] = field(default_factory=list)
    per_chat: dict[int, list[float]] = field(default_factory=dict)

    def max_per_second(self) -> int:
        """The most messages delivered within any 1-second window."""
        best, lo = 0, 0
        for hi, t in enumerate(self.sent_at):
            while t - self.sent_at[lo] >= 1.0:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def min_chat_interval(self) -> float | None:
        """The shortest gap between two messages to one chat (None: no chat got two)."""
        gaps = [b - a for times in self.per_chat.values() for a, b in itertools.pairwise(times)]
        return min(gaps) if gaps else None


@dataclass
class _Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class _MsgState:
    raw: Json
    markup: Json | None
    from_bot: bool
    photo: bytes | None = None
    document: bytes | None = None
    file_id: str | None = None
    deleted: bool = False


@dataclass
class _Query:
    user_id: int
    answer: Json | None = None


@dataclass
class _RateRule:
    chat_id: int | None
    remaining: int
    retry_after: int


@dataclass
class _ApiFault:
    method: str  # lower-case
    remaining: int
    status: int
    description: str
    html: bool  # a proxy's HTML error page instead of Telegram's JSON
    delay: float  # seconds before answering
    after: bool  # the call takes effect, then the answer fails
    hold: asyncio.Event | None = None  # the call waits for it before anything else
    reached: asyncio.Event | None = None  # set when a held call has arrived

    def response(self) -> web.Response:
        if self.html:
            return web.Response(status=self.status, content_type="text/html",
                                text=f"<html><body><h1>{self.status} {self.description}</h1>"
                                     "</body></html>")
        return web.json_response({"ok": False, "error_code": self.status,
                                  "description": self.description}, status=self.status)


@dataclass(frozen=True)
class _Limits:
    per_chat_interval: float
    overall_per_second: int


# -- simulated users --------------------------------------------------------------------------


class SimUser:
    """A Telegram user in a private chat with the bot (chat id == user id)."""

    def __init__(
        self, emulator: TelegramEmulator, user_id: int, first_name: str,
        last_name: str | None = None, username: str | None = None, language_code: str = "ru",
        phone: str | None = None,
    ) -> None:
        self.emulator = emulator
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.phone = phone
        self.interactions = 0  # messages sent + taps
        self._cursor = 0  # wait_for consumes the chat log up to its match
        self._last_query: str | None = None

    @property
    def chat_id(self) -> int:
        return self.id

    def as_user(self) -> Json:
        return _wire(User, {
            "id": self.id, "is_bot": False, "first_name": self.first_name,
            "last_name": self.last_name, "username": self.username,
            "language_code": self.language_code,
        })

    def as_chat(self) -> Json:
        return _wire(Chat, {
            "id": self.id, "type": "private", "first_name": self.first_name,
            "last_name": self.last_name, "username": self.username,
        })

    def open_chat(self) -> None:
        """Mark the chat as started earlier (the bot may write to it) without an update."""
        self.emulator._chats[self.id] = self.as_chat()

    # -- actions ---------------------------------------------------------------------------

    async def send(self, text: str) -> Json:
        """Send a text message; /commands get bot_command entities. Returns the Message JSON."""
        self.interactions += 1
        return await self._send_text(text)

    async def _send_text(self, text: str) -> Json:
        content: Json = {"text": text}
        entities = [
            {"type": "bot_command", "offset": _utf16(text[: m.start()]),
             "length": _utf16(m.group())}
            for m in _COMMAND_RE.finditer(text)
        ]
        if entities:
            content["entities"] = entities
        return await self.emulator._incoming(self, content)

    async def send_photo(self, caption: str | None = None, *, data: bytes | None = None) -> Json:
        """Send a photo (invented file ids, `data` or fake JPEG bytes stored for getFile)."""
        self.interactions += 1
        sizes = self.emulator._store_photo(data or _fake_jpeg())
        return await self.emulator._incoming(self, {"photo": sizes, "caption": caption})

    async def send_album(self, count: int = 2) -> list[Json]:
        """Photos picked together: Telegram delivers one message per photo, all with one
        media_group_id, in a row; the person did one thing (one interaction)."""
        self.interactions += 1
        group = str(secrets.randbits(60))
        return [await self.emulator._incoming(self, {
            "photo": self.emulator._store_photo(_fake_jpeg()), "media_group_id": group})
            for _ in range(count)]

    async def send_document(
        self, data: bytes = b"%PDF-1.4 fake\n", file_name: str = "document.pdf",
        mime_type: str = "application/pdf", caption: str | None = None,
    ) -> Json:
        self.interactions += 1
        stored = self.emulator._store_file("document", data, file_name, mime_type)
        document = _wire(Document, {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_name": file_name, "mime_type": mime_type, "file_size": len(data),
        })
        return await self.emulator._incoming(self, {"document": document, "caption": caption})

    async def share_contact(
        self, phone: str | None = None, contact_user_id: int | None = None, *,
        first_name: str | None = None, last_name: str | None = None,
    ) -> Json:
        """Share a contact: own by default; another `contact_user_id` = a forwarded foreign one."""
        self.interactions += 1
        return await self._share_contact(phone, contact_user_id, first_name, last_name)

    async def _share_contact(
        self, phone: str | None, contact_user_id: int | None, first_name: str | None,
        last_name: str | None,
    ) -> Json:
        phone = phone or self.phone
        if not phone:
            raise ValueError(f"user {self.id} has no phone; pass one or set emu.user(phone=...)")
        own = contact_user_id is None or contact_user_id == self.id
        contact = {
            "phone_number": phone,
            "first_name": first_name or (self.first_name if own else "Contact"),
            "last_name": last_name or (self.last_name if own else None),
            "user_id": self.id if contact_user_id is None else contact_user_id,
        }
        return await self.emulator._incoming(self, {"contact": contact})

    async def tap(self, target: str, message: BotMessage | int | None = None) -> str | None:
        """Tap an inline button (by text or callback_data) on the newest bot message carrying it,
        or a reply-keyboard button. Returns the callback query id (None for reply buttons)."""
        emu = self.emulator
        message_id = message.message_id if isinstance(message, BotMessage) else message
        found = emu._find_inline_button(self.id, target, message_id)
        if found is not None:
            state, button = found
            if "callback_data" not in button:
                raise AssertionError(f"button {button['text']!r} has no callback_data: {button}")
            self.interactions += 1
            query_id = str(secrets.randbits(62))
            emu._queries[query_id] = _Query(user_id=self.id)
            self._last_query = query_id
            query = _wire(CallbackQuery, {
                "id": query_id, "from": self.as_user(), "message": state.raw,
                "chat_instance": str(self.id * 7919 + 104729), "data": button["callback_data"],
            })
            emu.push_update("callback_query", query)
            await asyncio.sleep(0)
            return query_id
        if message_id is None:
            for button in emu._reply_keyboard_buttons(self.id):
                if button.get("text") == target:
                    self.interactions += 1
                    if button.get("request_contact"):
                        await self._share_contact(None, None, None, None)
                    else:
                        await self._send_text(target)
                    return None
        raise AssertionError(
            f"no button {target!r} for user {self.id}; inline: "
            f"{[m.buttons for m in self.current_messages() if m.buttons]}, "
            f"reply keyboard: {self.reply_keyboard()}"
        )

    async def press_forged(self, data: str) -> str:
        """A callback query with arbitrary data on the newest bot message in this chat, as a
        modified client can send (callback data is not trusted input)."""
        emu = self.emulator
        candidates = sorted(
            (mid for (chat, mid), s in emu._messages.items() if chat == self.id and s.from_bot),
            reverse=True,
        )
        if not candidates:
            raise AssertionError(f"user {self.id} has no bot message to attach a callback to")
        state = emu._messages[(self.id, candidates[0])]
        self.interactions += 1
        query_id = str(secrets.randbits(62))
        emu._queries[query_id] = _Query(user_id=self.id)
        self._last_query = query_id
        emu.push_update("callback_query", _wire(CallbackQuery, {
            "id": query_id, "from": self.as_user(), "message": state.raw,
            "chat_instance": str(self.id * 7919 + 104729), "data": data,
        }))
        await asyncio.sleep(0)
        return query_id

    # -- what the user sees ----------------------------------------------------------------

    def messages(self) -> list[BotMessage]:
        """Every send and edit by the bot in this chat, in order (edits are new snapshots)."""
        return list(self.emulator._log.get(self.id, []))

    def last_message(self) -> BotMessage | None:
        log_ = self.emulator._log.get(self.id)
        return log_[-1] if log_ else None

    def current_messages(self) -> list[BotMessage]:
        """The bot's messages still in the chat, in their current (edited) state."""
        return self.emulator._current_bot_messages(self.id)

    def reply_keyboard(self) -> list[str]:
        """Texts of the reply keyboard currently shown (empty when removed or never sent)."""
        return [b["text"] for b in self.emulator._reply_keyboard_buttons(self.id)]

    def reply_keyboard_rows(self) -> list[list[str]]:
        markup = self.emulator._reply_keyboards.get(self.id) or {}
        return [[b["text"] for b in row] for row in markup.get("keyboard", [])]

    async def wait_for(
        self, match: str | Callable[[BotMessage], bool], timeout: float = 5.0,  # noqa: ASYNC109
    ) -> BotMessage:
        """Wait for a bot send/edit in this chat whose text/caption contains `match` (or that
        satisfies the predicate). Consumes the chat log: later waits look past the match."""
        predicate = (lambda m: match in (m.text or "")) if isinstance(match, str) else match
        emu = self.emulator

        def scan() -> BotMessage | None:
            entries = emu._log.get(self.id, [])
            for index in range(self._cursor, len(entries)):
                if predicate(entries[index]):
                    self._cursor = index + 1
                    return entries[index]
            return None

        found = await emu._wait(lambda: emu._outbox_changed, scan, timeout)
        if found is None:
            raise WaitTimeout(f"user {self.id}: no bot message matching {match!r} within "
                              f"{timeout}s\n{emu._diagnose(self.id, self._cursor)}")
        return found

    async def expect_silence(self, seconds: float = 0.3) -> None:
        """Assert the bot sends/edits nothing new (past the wait_for cursor) for `seconds`."""
        emu = self.emulator
        extra = await emu._wait(
            lambda: emu._outbox_changed,
            lambda: emu._log.get(self.id, [])[self._cursor:] or None, seconds,
        )
        if extra:
            texts = [m.text for m in extra]
            raise AssertionError(f"user {self.id}: unexpected bot messages {texts}")

    async def wait_answer(
        self, query_id: str | None = None, timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Json:
        """Wait until the bot answers a callback query (default: this user's last tap)."""
        query_id = query_id or self._last_query
        if query_id is None or query_id not in self.emulator._queries:
            raise ValueError("no callback query to wait for")
        query = self.emulator._queries[query_id]
        answer = await self.emulator._wait(
            lambda: self.emulator._outbox_changed, lambda: query.answer, timeout,
        )
        if answer is None:
            raise WaitTimeout(f"callback query {query_id} was not answered within {timeout}s")
        return answer


def _fake_jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + secrets.token_bytes(64) + b"\xff\xd9"


# -- the emulator -----------------------------------------------------------------------------


class TelegramEmulator:
    """Bot API server state + aiohttp app. Use `run_telegram_emulator()` or `async with`."""

    def __init__(
        self, token: str = DEFAULT_TOKEN, bot_username: str = "servicedesk_test_bot", *,
        strict: bool = False,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_user: Json = _wire(User, {
            "id": self.bot_id, "is_bot": True, "first_name": "Service Desk (test)",
            "username": bot_username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
        })
        self.base_url = ""
        self.requests: list[RecordedRequest] = []
        self.stats = EmulatorStats()
        self.limits: _Limits | None = None
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: dict[str, Json] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.my_commands: dict[tuple[str, str], list[Json]] = {}
        self.menu_buttons: dict[int | None, Json] = {}
        self.dropped_updates: list[Json] = []  # filtered out by allowed_updates
        self.webhook_url = ""
        self.confirmed_through = 0  # the bot confirmed every update up to this id (offset - 1)
        self.webhook_secret = ""
        self.webhook_answers: list[int | str] = []  # what the bot answered each delivery
        self.webhook_deliveries: list[int] = []  # update ids the bot accepted
        self._delivery: asyncio.Task[None] | None = None
        self._webhook_changed = asyncio.Event()
        self._users: dict[int, SimUser] = {}
        self._chats: dict[int, Json] = {}
        self._blocked: set[int] = set()
        self._rate_rules: list[_RateRule] = []
        self._faults: list[_ApiFault] = []
        self.faults_served: dict[str, int] = {}  # method → injected faults answered
        self._messages: dict[tuple[int, int], _MsgState] = {}
        self._log: dict[int, list[BotMessage]] = {}
        self._reply_keyboards: dict[int, Json | None] = {}
        self._queries: dict[str, _Query] = {}
        self._photo_sizes: dict[str, list[Json]] = {}
        self._next_mid: dict[int, itertools.count[int]] = {}
        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._file_ids = itertools.count(1)
        self._pending: list[Json] = []
        self._allowed: frozenset[str] = DEFAULT_ALLOWED
        self._updates_changed = asyncio.Event()
        self._outbox_changed = asyncio.Event()
        self._pollers = 0
        self._pollers_changed = asyncio.Event()
        self._answered = asyncio.Event()  # a call got its answer (set and replaced)
        self._closing = False
        self._runner: web.AppRunner | None = None
        if strict:
            self.enforce_limits()
        self._methods: dict[str, tuple[str, Callable[[Json, dict[str, _Upload]], Any]]] = {
            name.lower(): (name, fn) for name, fn in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendMediaGroup": self._send_media_group,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "getFile": self._get_file,
                "sendChatAction": self._send_chat_action,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
            }.items()
        }

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self._closing = True
        self._signal_updates()
        self._signal_outbox()
        if self._delivery is not None:
            self._delivery.cancel()
            await asyncio.gather(self._delivery, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test API ----------------------------------------------------------------------------

    def user(
        self, user_id: int, first_name: str = "Test", last_name: str | None = None,
        username: str | None = None, language_code: str = "ru", phone: str | None = None,
    ) -> SimUser:
        """A simulated user (the same object for the same id). The chat is unknown to the bot
        until the user writes (or `open_chat()` is called)."""
        if user_id not in self._users:
            self._users[user_id] = SimUser(
                self, user_id, first_name, last_name, username, language_code, phone,
            )
        return self._users[user_id]

    def block(self, user_id: int) -> None:
        """The user blocked the bot: every call for this chat answers 403 until unblock()."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    def rate_limit(self, chat_id: int | None = None, count: int = 1, retry_after: int = 1) -> None:
        """The next `count` sends (to `chat_id`, or to anyone) answer 429 with `retry_after`."""
        self._rate_rules.append(_RateRule(chat_id, count, int(retry_after)))

    def fail_next(
        self, method: str, *, times: int = 1, status: int = 502,
        description: str = "Bad Gateway", html: bool = False, delay: float = 0.0,
        after: bool = False, hold: asyncio.Event | None = None,
        reached: asyncio.Event | None = None,
    ) -> None:
        """The next `times` calls of `method` fail: answer `status` (JSON, or an HTML page with
        `html`), after `delay` seconds (longer than the client waits: a timeout; `status=0`
        with a delay answers normally, late). `after`: the call takes effect first (a message
        is sent, updates are handed out), only the answer is lost. `hold`: the call waits
        until the test sets that event (`status=0`: then it answers normally); `reached` is
        set when it has arrived."""
        self._faults.append(_ApiFault(method.lower(), times, status, description, html, delay,
                                      after, hold, reached))

    def _take_fault(self, method: str) -> _ApiFault | None:
        for fault in self._faults:
            if fault.method == method and fault.remaining > 0:
                fault.remaining -= 1
                self.faults_served[method] = self.faults_served.get(method, 0) + 1
                return fault
        return None

    def enforce_limits(
        self, enabled: bool = True, *, per_chat_interval: float = 1.0,
        overall_per_second: int = 30,
    ) -> None:
        """Strict mode: sends closer than `per_chat_interval` s to one chat, or more than
        `overall_per_second` in any second, answer 429 (counted in `stats`)."""
        self.limits = _Limits(per_chat_interval, overall_per_second) if enabled else None

    def calls(self, method: str) -> list[Json]:
        """Params of every successful call of `method` (case-insensitive)."""
        method = method.lower()
        return [r.params for r in self.requests if r.method.lower() == method and r.ok]

    def commands(
        self, scope: TelegramObject | Json | None = None, language_code: str = "",
    ) -> list[Json]:
        """Commands stored by setMyCommands for this scope/language ([] when none)."""
        return list(self.my_commands.get((self._scope_key(_dump(scope)), language_code), []))

    def push_update(self, kind: str, payload: Json) -> int:
        """Queue a raw update of any type (e.g. "my_chat_member"); returns its update_id."""
        update_id = next(self._update_ids)
        self._last_update_id = update_id
        self._pending.append(_wire(Update, {"update_id": update_id, kind: payload}))
        self._signal_updates()
        return update_id

    @property
    def pending_updates(self) -> int:
        return len(self._pending)

    @property
    def is_polling(self) -> bool:
        """A getUpdates long poll is waiting right now."""
        return self._pollers > 0

    async def wait_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a getUpdates long poll is parked (polling runs and is idle)."""
        if await self._wait(lambda: self._pollers_changed, lambda: self._pollers or None,
                            timeout) is None:
            raise WaitTimeout(f"the bot did not call getUpdates within {timeout}s")

    async def wait_call(self, method: str, answered: Callable[[RecordedRequest], bool],
                        timeout: float = 10.0) -> RecordedRequest:  # noqa: ASYNC109
        """Wait until a call of `method` has been answered and satisfies `answered` (its params,
        its result)."""
        method = method.lower()

        def find() -> RecordedRequest | None:
            return next((r for r in self.requests
                         if r.method.lower() == method and r.ok and answered(r)), None)

        if (found := await self._wait(lambda: self._answered, find, timeout)) is None:
            raise WaitTimeout(f"no answered {method} as expected within {timeout}s")
        return found

    async def wait_confirmed(self, update_id: int, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has confirmed (getUpdates offset past) update `update_id`, i.e.
        it has finished it and every update before it."""
        if await self._wait(lambda: self._pollers_changed,
                            lambda: self.confirmed_through >= update_id or None,
                            timeout) is None:
            raise WaitTimeout(f"update {update_id} not confirmed within {timeout}s "
                              f"(confirmed through {self.confirmed_through})")

    @property
    def last_update_id(self) -> int:
        """The id of the newest update queued so far."""
        return self._last_update_id

    def reset_stats(self) -> None:
        self.stats = EmulatorStats()

    # -- internals used by SimUser ---------------------------------------------------------

    # Each signal wakes the current waiters; later waiters get a fresh event.
    def _signal_updates(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def _signal_outbox(self) -> None:
        self._outbox_changed.set()
        self._outbox_changed = asyncio.Event()

    def _signal_answered(self) -> None:
        self._answered.set()
        self._answered = asyncio.Event()

    def _signal_pollers(self) -> None:
        self._pollers_changed.set()
        self._pollers_changed = asyncio.Event()

    async def _wait(
        self, event: Callable[[], asyncio.Event], check: Callable[[], _T | None], seconds: float,
    ) -> _T | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            result = check()
            remaining = deadline - loop.time()
            if result is not None or remaining <= 0 or self._closing:
                return result
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event().wait(), remaining)

    def _message_id(self, chat_id: int) -> int:
        return next(self._next_mid.setdefault(chat_id, itertools.count(1)))

    async def _incoming(self, user: SimUser, content: Json) -> Json:
        self._chats[user.id] = user.as_chat()
        self._blocked.discard(user.id)  # writing to the bot unblocks it
        raw = _wire(Message, {
            "message_id": self._message_id(user.id), "from": user.as_user(),
            "chat": self._chats[user.id], "date": _now(),
            **{k: v for k, v in content.items() if v is not None},
        })
        self._messages[(user.id, raw["message_id"])] = _MsgState(raw, None, from_bot=False)
        self.push_update("message", raw)
        await asyncio.sleep(0)
        return raw

    def _store_file(
        self, kind: str, data: bytes, file_name: str | None = None, mime_type: str | None = None,
    ) -> StoredFile:
        n = next(self._file_ids)
        prefix = {"photo": "AgACAgIAAx", "document": "BQACAgIAAx"}[kind]
        ext = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else "jpg"
        stored = StoredFile(
            file_id=f"{prefix}{n:06d}{secrets.token_urlsafe(18)}",
            file_unique_id=f"AQAD{n:06d}", kind=kind, data=data,
            file_path=f"{kind}s/file_{n}.{ext}", file_name=file_name, mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def _store_photo(self, data: bytes) -> list[Json]:
        thumb = self._store_file("photo", data)
        full = self._store_file("photo", data)
        sizes = [
            _wire(PhotoSize, {"file_id": thumb.file_id, "file_unique_id": thumb.file_unique_id,
                              "width": 90, "height": 68, "file_size": len(data)}),
            _wire(PhotoSize, {"file_id": full.file_id, "file_unique_id": full.file_unique_id,
                              "width": 1280, "height": 960, "file_size": len(data)}),
        ]
        for size in sizes:
            self._photo_sizes[size["file_id"]] = sizes
        return sizes

    def _current_bot_messages(self, chat_id: int) -> list[BotMessage]:
        return [
            self._snapshot(chat_id, mid, state, "current", edited="edit_date" in state.raw)
            for (chat, mid), state in sorted(self._messages.items())
            if chat == chat_id and state.from_bot and not state.deleted
        ]

    def _find_inline_button(
        self, chat_id: int, target: str, message_id: int | None,
    ) -> tuple[_MsgState, Json] | None:
        candidates = sorted(
            ((mid, s) for (chat, mid), s in self._messages.items()
             if chat == chat_id and s.from_bot and not s.deleted
             and (message_id is None or mid == message_id)),
            key=lambda item: item[0], reverse=True,
        )
        # An exact text or callback_data first, then a button whose text contains `target`
        # (buttons carry icons and counters: "🗂 Комментарии (2)").
        for exact in (True, False):
            for _, state in candidates:
                for row in (state.markup or {}).get("inline_keyboard", []):
                    for button in row:
                        if exact and target in (button.get("text"), button.get("callback_data")):
                            return state, button
                        if not exact and target in (button.get("text") or ""):
                            return state, button
        return None

    def _reply_keyboard_buttons(self, chat_id: int) -> list[Json]:
        markup = self._reply_keyboards.get(chat_id) or {}
        return [button for row in markup.get("keyboard", []) for button in row]

    def _diagnose(self, chat_id: int, cursor: int) -> str:
        entries = self._log.get(chat_id, [])
        lines = [f"  unconsumed bot messages: {[m.text for m in entries[cursor:]][-5:]}",
                 f"  consumed before: {[m.text for m in entries[:cursor]][-3:]}"]
        errors = [f"{r.method} -> {r.status} {r.description}" for r in self.requests if not r.ok]
        if errors:
            lines.append(f"  failed bot calls: {errors[-5:]}")
        if self.dropped_updates:
            lines.append(f"  updates dropped by allowed_updates={sorted(self._allowed)}: "
                         f"{len(self.dropped_updates)}")
        if self._pending:
            lines.append(f"  updates not fetched by the bot: {len(self._pending)} "
                         f"(is polling running?)")
        return "\n".join(lines)

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        canonical = self._methods.get(name.lower(), (name, None))[0]
        record = RecordedRequest(canonical, {}, {})
        self.requests.append(record)
        try:
            params, files = await _read_params(request)
            record.params = params
            record.files = {key: upload.filename for key, upload in files.items()}
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(name.lower(), (name, None))[1]
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            fault = self._take_fault(name.lower())
            if fault is not None:
                return await self._faulty_call(fault, handler, params, files, record)
            result = handler(params, files)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as exc:
            record.status, record.description = exc.status, exc.description
            if exc.status == 403:
                self.stats.forbidden += 1
            elif exc.status == 400:
                self.stats.bad_requests += 1
            log.debug("%s -> %s %s", canonical, exc.status, exc.description)
            body: Json = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            return web.json_response(body, status=exc.status)
        record.result = result
        self._signal_answered()
        return web.json_response({"ok": True, "result": result})

    async def _faulty_call(
        self, fault: _ApiFault, handler: Callable[[Json, dict[str, _Upload]], Any],
        params: Json, files: dict[str, _Upload], record: RecordedRequest,
    ) -> web.Response:
        """A call with an injected fault (fail_next): late, failed before or after it acts."""
        if fault.reached is not None:
            fault.reached.set()
        if fault.hold is not None:
            await fault.hold.wait()
        await asyncio.sleep(fault.delay)
        if fault.status and not fault.after:
            record.status, record.description = fault.status, fault.description
            return fault.response()
        result = handler(params, files)
        if asyncio.iscoroutine(result):
            result = await result
        record.result = result
        if fault.status:
            return fault.response()
        self._signal_answered()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401,
            )
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(
                    body=stored.data, content_type=stored.mime_type or "application/octet-stream",
                )
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404,
        )

    # -- validation helpers ------------------------------------------------------------------

    def _chat(self, params: Json, *, required: bool = True) -> int:
        """The target chat id; unknown → 400 chat not found, blocked → 403."""
        value = params.get("chat_id")
        if value in (None, ""):
            if required:
                raise _bad("chat_id is empty")
            return 0
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        if chat_id not in self._chats:
            raise _bad("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _check_rate(self, chat_id: int) -> None:
        for rule in self._rate_rules:
            if rule.remaining > 0 and rule.chat_id in (None, chat_id):
                rule.remaining -= 1
                self._rate_rules = [r for r in self._rate_rules if r.remaining > 0]
                raise self._too_many(rule.retry_after)
        if self.limits is None:
            return
        now = time.monotonic()
        times = self.stats.per_chat.get(chat_id)
        if times and now - times[-1] < self.limits.per_chat_interval:
            wait = self.limits.per_chat_interval - (now - times[-1])
            raise self._too_many(max(1, math.ceil(wait)))
        sent_at = self.stats.sent_at
        if len(sent_at) - bisect.bisect_right(sent_at, now - 1.0) >= self.limits.overall_per_second:
            raise self._too_many(1)

    def _too_many(self, retry_after: int) -> ApiError:
        self.stats.too_many_requests += 1
        return ApiError(429, f"Too Many Requests: retry after {retry_after}",
                        {"retry_after": retry_after})

    def _markup(self, value: Any) -> Json | None:
        if value in (None, ""):
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise _bad("can't parse reply keyboard markup JSON object") from None
        if not isinstance(value, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        model = next((m for key, m in _MARKUP_MODELS if key in value), None)
        if model is None:
            raise _bad("can't parse reply keyboard markup JSON object")
        if model is InlineKeyboardMarkup:
            self._check_inline_keyboard(value["inline_keyboard"])
        try:
            return _wire(model, value)
        except ValidationError as exc:
            detail = exc.errors()[0]["msg"]
            raise _bad(f"can't parse reply keyboard markup JSON object: {detail}") from None

    @classmethod
    def _check_inline_keyboard(cls, rows: Any) -> None:
        for row in rows if isinstance(rows, list) else []:
            for button in row if isinstance(row, list) else []:
                cls._check_inline_button(button)

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad("can't parse inline keyboard button: object expected")
        if not button.get("text"):
            raise _bad("can't parse inline keyboard button: Text must be non-empty")
        if not _INLINE_ACTIONS & set(button):
            raise _bad("can't parse inline keyboard button: "
                       "Text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
            raise _bad("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not _URL_RE.match(str(url)):
            raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")

    def _rendered(self, params: Json, key: str, *, caption: bool) -> tuple[str, list[Json]]:
        entities_key = "caption_entities" if caption else "entities"
        raw = params.get(key)
        text, entities = render_text(
            "" if raw is None else str(raw), params.get("parse_mode"), params.get(entities_key),
        )
        if caption:
            if len(text) > MAX_CAPTION:
                raise _bad("message caption is too long")
        elif not text:
            raise _bad("message text is empty")
        elif len(text) > MAX_TEXT:
            raise _bad("message is too long")
        return text, entities

    def _reply_to(self, chat_id: int, params: Json) -> Json | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = json.loads(reply)
        message_id = (reply or {}).get("message_id") or params.get("reply_to_message_id")
        if not message_id:
            return None
        state = self._messages.get((chat_id, int(message_id)))
        if state is None or state.deleted:
            allow = (reply or {}).get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply")
            if allow:
                return None
            raise _bad("message to be replied not found")
        return state.raw

    def _input_file(self, value: Any, files: dict[str, _Upload], field_name: str,
                    kind: str) -> StoredFile:
        """An uploaded file (attach://key or a file field) or an existing file_id."""
        upload = self._upload(value, files, field_name)
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            mime = upload.content_type
            if kind == "photo" or mime == "application/octet-stream":
                mime = _guess_mime(upload.filename, mime)
            return self._store_file(kind, upload.data, upload.filename, mime)
        if not value:
            raise _bad(f"there is no {kind} in the request")
        return self._existing_file(str(value), kind)

    @staticmethod
    def _upload(value: Any, files: dict[str, _Upload], field_name: str) -> _Upload | None:
        """The upload `value` points at (attach://key) or the file field itself, if any."""
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad(f"file for {field_name} not found in the request")
            return upload
        if value in (None, "") and field_name in files:
            return files[field_name]
        return None

    def _existing_file(self, value: str, kind: str) -> StoredFile:
        """A file by HTTP URL (fetched as empty) or by a file_id of the same kind."""
        if value.startswith(("http://", "https://")):
            return self._store_file(kind, b"", value.rsplit("/", 1)[-1] or None, None)
        stored = self.files.get(value)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise _bad(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    def _deliver(
        self, method: str, chat_id: int, content: Json, markup: Json | None,
        reply_to: Json | None = None, *, photo: bytes | None = None,
        document: bytes | None = None, file_id: str | None = None, count: bool = True,
    ) -> Json:
        """Create a bot message in the chat, log it and count it as sent."""
        data: Json = {
            "message_id": self._message_id(chat_id), "from": self.bot_user,
            "chat": self._chats[chat_id], "date": _now(), **content,
        }
        if reply_to is not None:
            data["reply_to_message"] = reply_to
        if markup is not None and "inline_keyboard" in markup:
            data["reply_markup"] = markup
        raw = _wire(Message, data)
        state = _MsgState(raw, markup, True, photo=photo, document=document, file_id=file_id)
        self._messages[(chat_id, raw["message_id"])] = state
        if markup is not None and "keyboard" in markup:
            self._reply_keyboards[chat_id] = markup
        elif markup is not None and "remove_keyboard" in markup:
            self._reply_keyboards[chat_id] = None
        self._append_log(chat_id, state, method, edited=False)
        if count:
            now = time.monotonic()
            self.stats.sent += 1
            self.stats.sent_at.append(now)
            self.stats.per_chat.setdefault(chat_id, []).append(now)
        return raw

    def _snapshot(self, chat_id: int, message_id: int, state: _MsgState, method: str, *,
                  edited: bool) -> BotMessage:
        return BotMessage(chat_id, message_id, method, state.raw, state.markup, edited,
                          state.photo, state.document, state.file_id)

    def _append_log(self, chat_id: int, state: _MsgState, method: str, *, edited: bool) -> None:
        snapshot = self._snapshot(chat_id, state.raw["message_id"], state, method, edited=edited)
        self._log.setdefault(chat_id, []).append(snapshot)
        self._signal_outbox()

    def _edit_target(self, params: Json, action: str = "edit") -> tuple[int, _MsgState]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")  # inline mode is not emulated
        chat_id = self._chat(params)
        message_id = params.get("message_id")
        if message_id in (None, ""):
            raise _bad("message identifier is not specified")
        state = self._messages.get((chat_id, int(message_id)))
        if state is None or state.deleted:
            raise _bad(f"message to {action} not found")
        if action == "edit" and not state.from_bot:
            raise _bad("message can't be edited")
        return chat_id, state

    def _apply_edit(self, method: str, chat_id: int, state: _MsgState, changes: Json,
                    markup: Json | None) -> Json:
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        new = {k: v for k, v in state.raw.items() if k not in ("reply_markup", "edit_date")}
        new.update({k: v for k, v in changes.items() if v is not None})
        for key, value in changes.items():
            if value is None:
                new.pop(key, None)
        old = {k: v for k, v in state.raw.items() if k not in ("reply_markup", "edit_date")}
        if new == old and (markup or None) == (state.raw.get("reply_markup") or None):
            raise _bad(NOT_MODIFIED)
        if markup is not None:
            new["reply_markup"] = markup
        new["edit_date"] = _now()
        state.raw = _wire(Message, new)
        state.markup = markup
        self._append_log(chat_id, state, method, edited=True)
        return state.raw

    def _scope_key(self, scope: Any) -> str:
        if scope in (None, ""):
            scope = _dump(BotCommandScopeDefault())
        if isinstance(scope, str):
            try:
                scope = json.loads(scope)
            except ValueError:
                raise _bad("can't parse BotCommandScope JSON object") from None
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True)

    # -- methods -----------------------------------------------------------------------------

    def _get_me(self, params: Json, files: dict[str, _Upload]) -> Json:
        return self.bot_user

    async def _get_updates(self, params: Json, files: dict[str, _Upload]) -> list[Json]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed = frozenset(allowed) or DEFAULT_ALLOWED
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self.confirmed_through = max(self.confirmed_through, offset - 1)
        elif offset < 0:
            self._pending = self._pending[offset:]

        def take() -> list[Json] | None:
            kept = []
            for update in self._pending:
                kind = next(k for k in update if k != "update_id")
                if kind in self._allowed:
                    kept.append(update)
                else:
                    self.dropped_updates.append(update)
            self._pending = kept
            return kept[:limit] or None

        if (ready := take()) is not None:
            return ready
        self._pollers += 1
        self._signal_pollers()
        try:
            return await self._wait(lambda: self._updates_changed, take, timeout) or []
        finally:
            self._pollers -= 1

    def _delete_webhook(self, params: Json, files: dict[str, _Upload]) -> bool:
        self.webhook_url = ""
        self.webhook_secret = ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._signal_updates()  # the delivery loop ends
        return True

    def _set_webhook(self, params: Json, files: dict[str, _Upload]) -> bool:
        self.webhook_url = str(params.get("url") or "")
        self.webhook_secret = str(params.get("secret_token") or "")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        if isinstance(allowed, list):
            self._allowed = frozenset(allowed) or DEFAULT_ALLOWED
        if self.webhook_url and (self._delivery is None or self._delivery.done()):
            self._delivery = asyncio.create_task(self._deliver_to_webhook())
        self._signal_webhook()
        return True

    async def _deliver_to_webhook(self) -> None:
        """What Telegram does with a webhook: POST each pending update (in order) with the
        secret header; an update stays pending until the bot answers 2xx, then is retried."""
        async with aiohttp.ClientSession() as http:
            while self.webhook_url and not self._closing:
                update = next((u for u in self._pending
                               if next(k for k in u if k != "update_id") in self._allowed), None)
                if update is None:
                    await self._wait(lambda: self._updates_changed,
                                     lambda: self._pending or None, 60)
                    continue
                if await self._post_update(http, update):
                    self._pending = [u for u in self._pending if u is not update]
                    self.webhook_deliveries.append(update["update_id"])
                else:
                    await asyncio.sleep(0.05)  # Telegram backs off too; keep tests quick

    async def _post_update(self, http: aiohttp.ClientSession, update: Json) -> bool:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret} \
            if self.webhook_secret else {}
        try:
            async with http.post(self.webhook_url, json=update, headers=headers) as response:
                self._webhook_answered(response.status)
                return 200 <= response.status < 300
        except (OSError, aiohttp.ClientError, TimeoutError) as exc:
            self._webhook_answered(repr(exc))
            return False

    def _webhook_answered(self, answer: int | str) -> None:
        self.webhook_answers.append(answer)
        self._signal_webhook()

    def _signal_webhook(self) -> None:
        self._webhook_changed.set()
        self._webhook_changed = asyncio.Event()

    async def wait_webhook(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has set its webhook."""
        if await self._wait(lambda: self._webhook_changed, lambda: self.webhook_url or None,
                            timeout) is None:
            raise WaitTimeout(f"the bot did not call setWebhook within {timeout}s")

    async def wait_webhook_answers(self, count: int,
                                   timeout: float = 5.0) -> list[int | str]:  # noqa: ASYNC109
        """The bot's answers to the first `count` deliveries, once it has given them (a reply
        the handler sent reaches the chat before its delivery is answered)."""
        answers = await self._wait(
            lambda: self._webhook_changed,
            lambda: self.webhook_answers[:count] if len(self.webhook_answers) >= count else None,
            timeout)
        if answers is None:
            raise WaitTimeout(f"{count} webhook deliveries not answered within {timeout}s")
        return answers

    def _get_webhook_info(self, params: Json, files: dict[str, _Upload]) -> Json:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._pending)}

    def _commands_key(self, params: Json) -> tuple[str, str]:
        key = self._scope_key(params.get("scope"))
        scope = json.loads(key)
        if "chat_id" in scope:
            self._chat({"chat_id": scope["chat_id"]})
        return key, str(params.get("language_code") or "")

    def _set_my_commands(self, params: Json, files: dict[str, _Upload]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(
                r"[a-z0-9_]{1,32}", str(command.get("command", ""))
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.my_commands[self._commands_key(params)] = [_wire(BotCommand, c) for c in commands]
        return True

    def _get_my_commands(self, params: Json, files: dict[str, _Upload]) -> list[Json]:
        return list(self.my_commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: Json, files: dict[str, _Upload]) -> bool:
        self.my_commands.pop(self._commands_key(params), None)
        return True

    def _send_message(self, params: Json, files: dict[str, _Upload]) -> Json:
        chat_id = self._chat(params)
        text, entities = self._rendered(params, "text", caption=False)
        markup = self._markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat_id, params)
        self._check_rate(chat_id)
        return self._deliver("sendMessage", chat_id, {"text": text, "entities": entities or None},
                             markup, reply_to)

    def _caption_content(self, params: Json) -> Json:
        caption, entities = self._rendered(params, "caption", caption=True)
        return {"caption": caption or None, "caption_entities": entities or None}

    def _photo_content(self, stored: StoredFile) -> list[Json]:
        if stored.file_id in self._photo_sizes:
            return self._photo_sizes[stored.file_id]
        sizes = [_wire(PhotoSize, {"file_id": stored.file_id,
                                   "file_unique_id": stored.file_unique_id, "width": 1280,
                                   "height": 960, "file_size": len(stored.data)})]
        self._photo_sizes[stored.file_id] = sizes
        return sizes

    def _document_content(self, stored: StoredFile) -> Json:
        return _wire(Document, {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name, "mime_type": stored.mime_type,
            "file_size": len(stored.data),
        })

    def _send_photo(self, params: Json, files: dict[str, _Upload]) -> Json:
        chat_id = self._chat(params)
        content = self._caption_content(params)
        markup = self._markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat_id, params)
        stored = self._input_file(params.get("photo"), files, "photo", "photo")
        self._check_rate(chat_id)
        sizes = self._photo_content(stored)
        return self._deliver("sendPhoto", chat_id, {"photo": sizes, **content}, markup, reply_to,
                             photo=stored.data, file_id=sizes[-1]["file_id"])

    def _send_document(self, params: Json, files: dict[str, _Upload]) -> Json:
        chat_id = self._chat(params)
        content = self._caption_content(params)
        markup = self._markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat_id, params)
        stored = self._input_file(params.get("document"), files, "document", "document")
        self._check_rate(chat_id)
        return self._deliver("sendDocument", chat_id,
                             {"document": self._document_content(stored), **content}, markup,
                             reply_to, document=stored.data, file_id=stored.file_id)

    def _send_media_group(self, params: Json, files: dict[str, _Upload]) -> list[Json]:
        chat_id = self._chat(params)
        media = params.get("media")
        if not isinstance(media, list):
            raise _bad("can't parse media JSON object")
        if not 2 <= len(media) <= 10:
            raise _bad("wrong number of messages in the media group (must be 2-10)")
        reply_to = self._reply_to(chat_id, params)
        prepared: list[tuple[str, StoredFile, Json]] = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "document"):
                raise _bad(f"media type {kind!r} is not supported by the emulator")
            content = self._caption_content(item)
            prepared.append((kind, self._input_file(item.get("media"), files, kind, kind), content))
        self._check_rate(chat_id)
        group_id = str(secrets.randbits(60))
        results = []
        for kind, stored, content in prepared:
            if kind == "photo":
                sizes = self._photo_content(stored)
                results.append(self._deliver(
                    "sendMediaGroup", chat_id,
                    {"photo": sizes, "media_group_id": group_id, **content}, None, reply_to,
                    photo=stored.data, file_id=sizes[-1]["file_id"]))
            else:
                results.append(self._deliver(
                    "sendMediaGroup", chat_id,
                    {"document": self._document_content(stored), "media_group_id": group_id,
                     **content}, None, reply_to, document=stored.data, file_id=stored.file_id))
        return results

    def _edit_message_text(self, params: Json, files: dict[str, _Upload]) -> Json:
        chat_id, state = self._edit_target(params)
        if "text" not in state.raw:
            raise _bad("there is no text in the message to edit")
        text, entities = self._rendered(params, "text", caption=False)
        markup = self._markup(params.get("reply_markup"))
        return self._apply_edit("editMessageText", chat_id, state,
                                {"text": text, "entities": entities or None}, markup)

    def _edit_message_caption(self, params: Json, files: dict[str, _Upload]) -> Json:
        chat_id, state = self._edit_target(params)
        if "text" in state.raw:
            raise _bad("there is no caption in the message to edit")
        content = self._caption_content(params)
        markup = self._markup(params.get("reply_markup"))
        return self._apply_edit("editMessageCaption", chat_id, state, content, markup)

    def _edit_message_reply_markup(self, params: Json, files: dict[str, _Upload]) -> Json:
        chat_id, state = self._edit_target(params)
        markup = self._markup(params.get("reply_markup"))
        return self._apply_edit("editMessageReplyMarkup", chat_id, state, {}, markup)

    def _delete_message(self, params: Json, files: dict[str, _Upload]) -> bool:
        _, state = self._edit_target(params, "delete")
        state.deleted = True
        self._signal_outbox()
        return True

    def _answer_callback_query(self, params: Json, files: dict[str, _Upload]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._queries.get(query_id)
        if query is None or query.answer is not None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        query.answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        self.callback_answers[query_id] = query.answer
        self._signal_outbox()
        return True

    def _get_file(self, params: Json, files: dict[str, _Upload]) -> Json:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return _wire(File, {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                            "file_size": len(stored.data), "file_path": stored.file_path})

    def _send_chat_action(self, params: Json, files: dict[str, _Upload]) -> bool:
        chat_id = self._chat(params)
        action = str(params.get("action") or "")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat_id, action))
        return True

    def _set_chat_menu_button(self, params: Json, files: dict[str, _Upload]) -> bool:
        chat_id = self._chat(params, required=False) or None
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands",
                                                                       "web_app"):
            raise _bad("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    def _get_chat_menu_button(self, params: Json, files: dict[str, _Upload]) -> Json:
        chat_id = self._chat(params, required=False) or None
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "default"}))


def _guess_mime(filename: str, fallback: str) -> str:
    ext = filename.rpartition(".")[2].lower()
    return {
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf",
        "txt": "text/plain", "csv": "text/csv", "zip": "application/zip",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }.get(ext, fallback)


def _decode(key: str, value: str) -> Any:
    """Form values are strings; objects, numbers and booleans travel JSON-encoded."""
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> tuple[Json, dict[str, _Upload]]:
    params: Json = {key: _decode(key, value) for key, value in request.query.items()}
    files: dict[str, _Upload] = {}
    if not request.body_exists:
        return params, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad("can't parse JSON request body") from None
        if isinstance(body, dict):
            params.update(body)
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = _Upload(value.filename, value.content_type, value.file.read())
        else:
            params[key] = _decode(key, value if isinstance(value, str) else bytes(value).decode())
    return params, files


@contextlib.asynccontextmanager
async def run_telegram_emulator(
    token: str = DEFAULT_TOKEN, bot_username: str = "servicedesk_test_bot", *,
    strict: bool = False,
) -> AsyncIterator[TelegramEmulator]:
    """Serve a Bot API emulator on 127.0.0.1 (free port) for the duration of the block."""
    emulator = TelegramEmulator(token, bot_username, strict=strict)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
