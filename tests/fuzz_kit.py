"""Random updates for the fuzz and access tests: texts people (and attackers) type, files,
contacts, real buttons from the chat (current, stale, another person's) and forged callback
data built from the app's own CallbackData classes. A `Probe` feeds one update through the real
Dispatcher and checks what Telegram would check: nothing rejected, every callback query
answered exactly once, no unexpected error behind the polite message."""

from __future__ import annotations

import enum
import logging
import traceback
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Message, Update
from hypothesis import strategies as st

from tests.handler_kit import Desk
from tests.mocked_bot import (
    make_callback_update,
    make_contact_update,
    make_document_update,
    make_message_update,
    make_photo_update,
)

# Numbers nobody should be able to store, overflow on or echo: every number parser meets them.
ODD_NUMBERS = [
    "inf", "-inf", "+inf", "Infinity", "-Infinity", "nan", "NaN", "-nan", "1e309", "-1e309",
    "1e-400", "-0", "0", "-1", "00000", "9223372036854775807", "9223372036854775808",
    "-9223372036854775809", "18446744073709551616", "1" * 400, "1,5e3", "0x1F", "1_000",
    "١٢٣", "１２３", "½", "1.2.3", "1 200,50", "1,200", "12,345,678.90", "99999999999,99",
    "10000000,01", "-5", "5%", "100.001%", "1e2%", "−5", "∞",
]
INJECTIONS = [
    "'; DROP TABLE clients; --", "\" OR 1=1 --", "{0}", "{text}", "{code!r}", "%s %d %(x)s",
    "${jndi:ldap://x}", "{{7*7}}", "<b>bold</b>", "<b>unclosed", "</b>", "<a href='x'>l</a>",
    "<script>alert(1)</script>", "&amp; &lt; &#0; &", "<tg-spoiler>x</tg-spoiler>",
    "\x00", "\u202e\u202d", "\ufeff", "\n\n\n", " ", "", "😀" * 30, "ё" * 64, "#", "#0",
    "#9223372036854775808", "#-1", "#12", "12", "/", "//", "/start tk_99999999999999999999",
    "/start inv_AAAAAAAAAAAAAAAAAAAAAA", "/start st_forged", "/start " + "x" * 64,
    "/ticket 9223372036854775808", "/ticket -1", "/ticket 0", "/ticket abc",
    "/client " + "я" * 5000, "/find %", "/find _", "/report 31.02 01.01", "/report 1e309",
    "/report 01.01.1900 31.12.9999", "/report сегодня", "/cancel", "/start", "/help",
    "/status", "/cash", "/shift", "/today", "/services", "/staff", "/templates", "/settings",
    "+380671234567", "0671234567", "+380501112233", "4567", "380", "+1 (999) 000-00-00",
    "Apple iPhone 12", "Иван Петренко", "SCR1", "scr1 *2", "стекло *0", "стекло *-1",
    "стекло *1e309", "x *9223372036854775808", "09:30", "24:00", "99:99", "1", "100",
]
USERS = {"owner": 1, "master": 2, "manager": 3, "client": 5001, "stranger": 666}
OWN_PHONES = {1: "+380671110001", 2: "+380671110002", 3: "+380671110003",
              5001: "+380501112233", 666: "+380931234567"}


def callback_classes() -> list[type[CallbackData]]:
    """Every CallbackData class the app defines (its modules are imported by the routers)."""
    import handlers.routers  # noqa: F401 - imports every keyboard module

    found: list[type[CallbackData]] = []
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("keyboards."):
            found.append(cls)
    return sorted(found, key=lambda c: c.__prefix__)


ODD_IDS = ["0", "1", "2", "3", "-1", str(2**63 - 1), str(2**63), str(2**64), "1" * 30, "",
           "x", "1.5", "1e3", " 1", "０"]


def _choices(annotation: Any) -> list[str]:
    """Plausible and implausible values of one CallbackData field, as packed text."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and args:
        annotation = args[0]
        extra = [""]
    else:
        extra = []
    base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated \
        else annotation
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return [str(m.value) for m in base] + ["zzz", *extra]
    if base is bool:
        return ["1", "0", "", "2", "true", *extra]
    if base is int:
        return ODD_IDS + extra
    return ["", "x", "a" * 40, *extra]


def forged_callback(cls: type[CallbackData]) -> st.SearchStrategy[str]:
    parts = [st.sampled_from(_choices(f.annotation)) for f in cls.model_fields.values()]
    sep = cls.__separator__

    def pack(values: list[str]) -> str:
        data = sep.join([cls.__prefix__, *values])
        return data.encode()[:64].decode(errors="ignore") or cls.__prefix__

    return st.tuples(*parts).map(lambda values: pack(list(values)))


def callback_data_strategy() -> st.SearchStrategy[str]:
    classes = callback_classes()
    return st.one_of(
        st.sampled_from(classes).flatmap(forged_callback),
        st.text(min_size=1, max_size=64).filter(lambda s: 0 < len(s.encode()) <= 64),
        st.sampled_from([c.__prefix__ for c in classes]),
    )


def text_strategy(menu: list[str]) -> st.SearchStrategy[str]:
    long_text = st.builds(lambda ch, n: ch * n, st.sampled_from(["я", "x", "<", "&", "😀", "1"]),
                          st.sampled_from([4090, 4097, 5000]))
    return st.one_of(
        st.sampled_from(ODD_NUMBERS),
        st.sampled_from(INJECTIONS),
        st.sampled_from(menu),
        st.text(min_size=1, max_size=80),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.floats().map(repr),
        long_text,
    ).filter(lambda s: s != "")


@dataclass
class Finding:
    kind: str  # crash, rejected, unanswered, answered_twice
    update: str
    detail: str


class IncidentLog(logging.Handler):
    """Collects the error handler's "failed, incident" records (an unexpected exception)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "failed, incident" in record.getMessage():
            self.records.append(record)

    def __enter__(self) -> IncidentLog:
        logging.getLogger("bot.errors").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("bot.errors").removeHandler(self)


@dataclass
class Probe:
    """Feeds updates and records what went wrong; `findings` must stay empty."""

    desk: Desk
    incidents: IncidentLog
    findings: list[Finding] = field(default_factory=list)
    fed: int = 0
    states: set[str | None] = field(default_factory=set)
    # Which handler (module.function) took each update (filled by instrument()).
    handled: list[str] = field(default_factory=list)

    async def feed(self, update: Update) -> list[TelegramMethod[Any]]:
        bot = self.desk.bot
        bot.clear()
        before = len(self.incidents.records)
        self.fed += 1
        label = _label(update)
        try:
            await self.desk.dp.feed_update(bot, update)
        except Exception as exc:
            self.findings.append(Finding("crash", label, repr(exc)))
        for record in self.incidents.records[before:]:
            self.findings.append(Finding("crash", label, _where(record)))
        for method, error in bot.session.errors:
            self.findings.append(Finding("rejected", label,
                                         f"{type(method).__name__}: {error}"))
        if update.callback_query is not None:
            answers = [m for m in bot.session.requests if isinstance(m, AnswerCallbackQuery)
                       and m.callback_query_id == update.callback_query.id]
            if len(answers) != 1:
                kind = "unanswered" if not answers else "answered_twice"
                self.findings.append(Finding(kind, label, str(len(answers))))
        return list(bot.session.requests)

    async def text(self, user: int, text: str) -> list[TelegramMethod[Any]]:
        return await self.feed(make_message_update(text, user_id=user))

    async def press(self, user: int, data: str, message: Message | None = None
                    ) -> list[TelegramMethod[Any]]:
        """A tap with `data` on `message`; on the chat's latest message when None or not in
        the user's chat (data copied from another chat is a forgery). Telegram sends the
        message as it is now, so that is what the update carries."""
        if message is None or message.chat.id != user:
            message = self.latest(user)
        if message is None:  # the bot never wrote here: a message it does not know
            return await self.feed(make_callback_update(data, user_id=user,
                                                        message_id=10**9))
        current = self.desk.messages.get((message.chat.id, message.message_id), message)
        return await self.feed(make_callback_update(
            data, user_id=user, message_id=current.message_id,
            message_text=current.text or current.caption or "",
            reply_markup=current.reply_markup))

    def latest(self, chat_id: int) -> Message | None:
        for (chat, _id), message in reversed(self.desk.messages.items()):
            if chat == chat_id:
                return message
        return None

    async def tap(self, user: int, label: str) -> list[TelegramMethod[Any]]:
        data, message = self.desk.find_button(user, label)
        return await self.press(user, data, message)

    def buttons_of(self, chat_id: int, last: int = 4) -> list[tuple[str, Message]]:
        """Buttons on the chat's latest messages that have any (latest first)."""
        out: list[tuple[str, Message]] = []
        seen = 0
        for (chat, _id), message in reversed(self.desk.messages.items()):
            markup = message.reply_markup
            if chat != chat_id or not isinstance(markup, InlineKeyboardMarkup):
                continue
            out.extend((b.callback_data, message) for row in markup.inline_keyboard
                       for b in row if b.callback_data)
            seen += 1
            if seen >= last:
                break
        return out


def _where(record: logging.LogRecord) -> str:
    """The exception and the app's frames it went through (not the libraries')."""
    if not record.exc_info or record.exc_info[1] is None:
        return record.getMessage()
    exc = record.exc_info[1]
    frames = [f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}"
              for f in traceback.extract_tb(exc.__traceback__)
              if "site-packages" not in f.filename and "/tests/" not in f.filename]
    return f"{exc!r} at {' > '.join(frames[-3:])}"


def _label(update: Update) -> str:
    if update.callback_query is not None:
        return f"{update.callback_query.from_user.id} cb {update.callback_query.data!r}"
    message = update.message
    assert message is not None and message.from_user is not None
    what = (message.text or "")[:60] if message.text is not None else (
        "photo" if message.photo else "document" if message.document else
        "contact" if message.contact else "?")
    return f"{message.from_user.id} {what!r}"


KINDS = (["text"] * 6 + ["button"] * 5 + ["foreign_button", "stale_button", "forged"] * 2
         + ["photo", "document", "contact"])


def random_update(draw: Any, probe: Probe, user: int, text: st.SearchStrategy[str],
                  callbacks: st.SearchStrategy[str]) -> Update | tuple[str, Message | None]:
    """One random update from `user`, or a button to press: (data, message or None).

    What is drawn never depends on the chat's state (hypothesis requires the same draws for
    the same choices): a button is picked by an index modulo the buttons there are, and the
    forged data to send instead is always drawn."""
    kind = draw(st.sampled_from(KINDS))
    if kind in ("button", "stale_button", "foreign_button", "forged"):
        pick = draw(st.integers(0, 2**16))
        forged = draw(callbacks)
        chat = user if kind != "foreign_button" else [
            u for u in USERS.values() if u != user][pick % (len(USERS) - 1)]
        buttons = [] if kind == "forged" else probe.buttons_of(
            chat, last=1 if kind == "button" else 8)
        if buttons:
            data, message = buttons[pick % len(buttons)]
            return data, message if chat == user else None
        return forged, None
    if kind == "photo":
        caption = draw(st.one_of(st.none(), text))
        return make_photo_update(user_id=user, file_id=f"ph-{draw(st.integers(0, 9))}",
                                 caption=caption[:1024] if caption else None)
    if kind == "document":
        name = draw(st.sampled_from(["clients.csv", "base.xlsx", "old.xls", "a.pdf",
                                     "../../etc/passwd", "x" * 200 + ".csv"]))
        return make_document_update(user_id=user, file_id=f"doc-{draw(st.integers(0, 9))}",
                                    file_name=name, file_size=draw(st.sampled_from(
                                        [0, 10, 2_048, 30 * 1024 * 1024])))
    if kind == "contact":
        # Telegram sets contact.user_id from the phone's owner: a person's own contact
        # carries their own phone; any other phone comes with somebody else's id.
        phone = draw(st.sampled_from(["+380501112233", "380671234567", "+1", "abc", "0",
                                      "+380501112244", "0" * 40]))
        other = draw(st.sampled_from([None, 5002, 777]))
        if other is None:
            return make_contact_update(OWN_PHONES[user], user_id=user)
        return make_contact_update(phone, user_id=user, contact_user_id=other)
    return make_message_update(draw(text), user_id=user)
