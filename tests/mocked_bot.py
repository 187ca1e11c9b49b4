"""A network-free Bot for fast handler tests, plus Update factories.

    bot = MockedBot()
    dp = Dispatcher(); dp.include_router(make_router())
    await dp.feed_update(bot, make_message_update("/start", user_id=7))
    assert bot.last(SendMessage).text == "Hello"
    bot.session.add_error(SendMessage, 403, "Forbidden: bot was blocked by the user")

`RecordingSession` records every TelegramMethod, answers with valid results (messages get
increasing ids and echo chat, text/caption and inline markup) and validates like Telegram does:
callback_data over 64 bytes, empty or too long texts, long captions, edits that change
nothing and a second answer to one callback query raise aiogram's TelegramBadRequest. Results
and errors go through `BaseSession.check_response`, so they are bound to the bot and classified
exactly as with the real HTTP session (403 → TelegramForbiddenError, 429 → TelegramRetryAfter, ...).
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMyCommands,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    GetMyCommands,
    GetUpdates,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    Document,
    File,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    MessageEntity,
    PhotoSize,
    TelegramObject,
    Update,
    User,
)

__all__ = [
    "BOT_USER",
    "MockedBot",
    "RecordingSession",
    "make_callback_update",
    "make_contact_update",
    "make_document_update",
    "make_message_update",
    "make_photo_update",
]

M = TypeVar("M", bound=TelegramMethod[Any])

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
BOT_USER = User(id=42, is_bot=True, first_name="Test Bot", username="test_bot")
_DEFAULT_SCOPE = '{"type": "default"}'
_TAG_RE = re.compile(r"<[^>]*>")
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@\w+)?")

# A queued answer: given (bot, method), return a result or raise an aiogram exception.
_Responder = Callable[[Bot, TelegramMethod[Any]], Any]


class _Rejected(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


def _dump(value: Any) -> Any:
    if isinstance(value, TelegramObject):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value


def _check_callback_data(markup: Any) -> None:
    """Telegram refuses an inline button whose callback_data is empty or over 64 bytes."""
    if not isinstance(markup, InlineKeyboardMarkup):
        return
    for row in markup.inline_keyboard:
        for button in row:
            data = button.callback_data
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise _Rejected(400, "Bad Request: BUTTON_DATA_INVALID")


def _markup_key(markup: Any) -> str | None:
    return None if markup is None else json.dumps(_dump(markup), sort_keys=True)


class RecordingSession(BaseSession):
    """Records calls and answers them locally; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.errors: list[tuple[TelegramMethod[Any], Exception]] = []
        self.files: dict[str, bytes] = {}  # file_id -> content for getFile + download
        self.uploads: dict[str, bytes] = {}  # file_id the session invented -> uploaded bytes
        self.blocked: set[int | str] = set()  # chats answering 403
        self.my_commands: dict[tuple[str, str], list[Any]] = {}
        self.closed = False
        self._queued: defaultdict[type, deque[_Responder]] = defaultdict(deque)
        self._state: dict[tuple[int | str, int], tuple[str | None, str | None]] = {}
        self._answered: set[str] = set()  # callback query ids answered
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)

    # -- assertions helpers ------------------------------------------------------------------

    def calls(self, method_type: type[M]) -> list[M]:
        """Every call of this method type (including rejected ones), oldest first."""
        return [m for m in self.requests if isinstance(m, method_type)]

    def last(self, method_type: type[M]) -> M:
        calls = self.calls(method_type)
        if not calls:
            made = [type(m).__name__ for m in self.requests]
            raise AssertionError(f"no {method_type.__name__} call; calls made: {made}")
        return calls[-1]

    def texts(self) -> list[str]:
        """Texts and captions of successful sends and edits, in order."""
        failed = {id(m) for m, _ in self.errors}
        out: list[str] = []
        for method in self.requests:
            if id(method) in failed:
                continue
            if isinstance(method, SendMessage | EditMessageText):
                out.append(method.text)
            elif isinstance(method, SendPhoto | SendDocument | EditMessageCaption):
                if method.caption:
                    out.append(method.caption)
            elif isinstance(method, SendMediaGroup):
                out.extend(item.caption for item in method.media if item.caption)
        return out

    def clear(self) -> None:
        self.requests.clear()
        self.errors.clear()

    # -- scripting ---------------------------------------------------------------------------

    def add_result(self, method_type: type[TelegramMethod[Any]], result: Any) -> None:
        """Answer the next call of `method_type` with `result` (an aiogram object, a dict, ...)."""
        self._queued[method_type].append(lambda bot, method: self._respond(bot, method, result))

    def add_error(
        self, method_type: type[TelegramMethod[Any]], status: int = 400,
        description: str = "Bad Request: test error", *, retry_after: int | None = None,
    ) -> None:
        """Fail the next call of `method_type` the way Telegram would (status + description)."""

        def fail(bot: Bot, method: TelegramMethod[Any]) -> Any:
            raise _Rejected(status, description, retry_after)

        self._queued[method_type].append(fail)

    def add_retry_after(self, method_type: type[TelegramMethod[Any]], retry_after: int) -> None:
        self.add_error(method_type, 429, f"Too Many Requests: retry after {retry_after}",
                       retry_after=retry_after)

    def add_forbidden(self, method_type: type[TelegramMethod[Any]]) -> None:
        self.add_error(method_type, 403, "Forbidden: bot was blocked by the user")

    def commands(self, scope: TelegramObject | None = None, language_code: str = "") -> list[Any]:
        """BotCommands stored by setMyCommands for this scope (default scope when None)."""
        key = (_markup_key(scope) or _DEFAULT_SCOPE, language_code)
        return list(self.my_commands.get(key, []))

    def add_file(self, file_id: str, data: bytes) -> None:
        """Content served by getFile + Bot.download for this file_id."""
        self.files[file_id] = data

    def remember(self, message: Message) -> None:
        """Track a message the bot sent earlier (e.g. the one inside a callback update) so that
        an edit that changes nothing is rejected as "message is not modified"."""
        self._state[(message.chat.id, message.message_id)] = (
            message.text if message.text is not None else message.caption,
            _markup_key(message.reply_markup),
        )

    # -- BaseSession -------------------------------------------------------------------------

    async def close(self) -> None:
        self.closed = True

    async def stream_content(
        self, url: str, headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536, raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        file_id = url.rsplit("/", 1)[-1]  # getFile answers file_path "files/<file_id>"
        yield self.files.get(file_id, f"fake content of {file_id}".encode())

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> Any:
        self.requests.append(method)
        try:
            queued = self._queued.get(type(method))
            if queued:
                return queued.popleft()(bot, method)
            self._validate(bot, method)
            result = await self._result(bot, method)
            response = self._respond(bot, method, result)
            self._track(method, response)
            return response
        except _Rejected as exc:
            rejected = exc
        except Exception as exc:
            self.errors.append((method, exc))
            raise
        error = self._raise(bot, method, rejected)  # outside `except`: a clean traceback
        self.errors.append((method, error))
        raise error

    # -- internals ---------------------------------------------------------------------------

    def _respond(self, bot: Bot, method: TelegramMethod[Any], result: Any) -> Any:
        content = json.dumps({"ok": True, "result": _dump(result)})
        return self.check_response(bot, method, 200, content).result

    def _raise(self, bot: Bot, method: TelegramMethod[Any], exc: _Rejected) -> Exception:
        body: dict[str, Any] = {"ok": False, "error_code": exc.status,
                                "description": exc.description}
        if exc.retry_after is not None:
            body["parameters"] = {"retry_after": exc.retry_after}
        try:
            self.check_response(bot, method, exc.status, json.dumps(body))
        except Exception as error:
            return error
        raise AssertionError("check_response accepted an error")  # pragma: no cover

    @staticmethod
    def _resolve(bot: Bot, value: Any) -> Any:
        return bot.default[value.name] if isinstance(value, Default) else value

    def _validate(self, bot: Bot, method: TelegramMethod[Any]) -> None:
        chat_id = getattr(method, "chat_id", None)
        if chat_id is not None and chat_id in self.blocked:
            raise _Rejected(403, "Forbidden: bot was blocked by the user")
        _check_callback_data(getattr(method, "reply_markup", None))
        parse_mode = self._resolve(bot, getattr(method, "parse_mode", None))
        if isinstance(method, SendMessage | EditMessageText):
            self._check_text(method.text, parse_mode)
        self._check_captions(method, parse_mode)
        if isinstance(method, AnswerCallbackQuery):
            self._check_answer(method)
        if isinstance(method, EditMessageText | EditMessageCaption | EditMessageReplyMarkup):
            self._check_modified(method)

    def _check_answer(self, method: AnswerCallbackQuery) -> None:
        if len(method.text or "") > 200:
            raise _Rejected(400, "Bad Request: MESSAGE_TOO_LONG")
        if method.callback_query_id in self._answered:
            raise _Rejected(400, "Bad Request: query is too old and response timeout expired "
                                 "or query ID is invalid")
        self._answered.add(method.callback_query_id)

    def _check_text(self, text: str, parse_mode: Any) -> None:
        rendered = self._rendered(text, parse_mode)
        if not rendered:
            raise _Rejected(400, "Bad Request: message text is empty")
        if len(rendered) > MAX_TEXT:
            raise _Rejected(400, "Bad Request: message is too long")

    def _check_captions(self, method: TelegramMethod[Any], parse_mode: Any) -> None:
        captions = [getattr(method, "caption", None)]
        if isinstance(method, SendMediaGroup):
            captions = [item.caption for item in method.media]
        for caption in captions:
            if caption and len(self._rendered(caption, parse_mode)) > MAX_CAPTION:
                raise _Rejected(400, "Bad Request: message caption is too long")

    @staticmethod
    def _rendered(text: str, parse_mode: Any) -> str:
        if str(parse_mode or "").lower() == "html":
            text = html.unescape(_TAG_RE.sub("", text))
        return text.strip()

    def _check_modified(
        self, method: EditMessageText | EditMessageCaption | EditMessageReplyMarkup,
    ) -> None:
        if method.inline_message_id or method.chat_id is None or method.message_id is None:
            return
        known = self._state.get((method.chat_id, method.message_id))
        if known is None:
            return  # unknown content: cannot tell; call remember() to enable the check
        text = known[0]
        if isinstance(method, EditMessageText):
            text = method.text
        elif isinstance(method, EditMessageCaption):
            text = method.caption
        if (text, _markup_key(method.reply_markup)) == known:
            raise _Rejected(400, NOT_MODIFIED)

    def _track(self, method: TelegramMethod[Any], response: Any) -> None:
        for message in response if isinstance(response, list) else [response]:
            if isinstance(message, Message):
                self.remember(message)

    def _chat(self, chat_id: int | str) -> Chat:
        if isinstance(chat_id, str) and not chat_id.lstrip("-").isdigit():
            return Chat(id=-1001, type="channel", username=chat_id.lstrip("@"))
        chat = int(chat_id)
        return Chat(id=chat, type="private" if chat > 0 else "supergroup")

    def _message(
        self, bot: Bot, chat_id: int | str, message_id: int | None = None, **fields: Any,
    ) -> Message:
        markup = fields.pop("reply_markup", None)
        return Message(
            message_id=message_id or next(self._message_ids), date=datetime.now(UTC),
            chat=self._chat(chat_id), from_user=self._me(bot),
            reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None, **fields,
        )

    @staticmethod
    def _me(bot: Bot) -> User:
        return User(id=bot.id, is_bot=True, first_name="Test Bot", username="test_bot")

    async def _file(self, bot: Bot, value: Any, file_name: str | None = None) -> tuple[str, str]:
        """file_id and file_unique_id for an InputFile (bytes kept in `uploads`) or a file_id."""
        n = next(self._file_ids)
        if isinstance(value, InputFile):
            file_id = f"uploaded-{n}"
            self.uploads[file_id] = b"".join([chunk async for chunk in value.read(bot)])
            self.files[file_id] = self.uploads[file_id]
            return file_id, f"unique-{n}"
        return str(value), f"unique-{value}"

    async def _media(self, bot: Bot, kind: str, value: Any) -> dict[str, Any]:
        file_id, unique = await self._file(bot, value)
        if kind == "photo":
            return {"photo": [PhotoSize(file_id=file_id, file_unique_id=unique, width=1280,
                                        height=960)]}
        name = value.filename if isinstance(value, InputFile) else None
        return {"document": Document(file_id=file_id, file_unique_id=unique, file_name=name)}

    async def _result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, SendMessage):
            return self._message(bot, method.chat_id, text=method.text,
                                 reply_markup=method.reply_markup)
        if isinstance(method, SendPhoto | SendDocument):
            kind = "photo" if isinstance(method, SendPhoto) else "document"
            media = await self._media(bot, kind, getattr(method, kind))
            return self._message(bot, method.chat_id, caption=method.caption,
                                 reply_markup=method.reply_markup, **media)
        if isinstance(method, SendMediaGroup):
            return await self._media_group(bot, method)
        if isinstance(method, EditMessageText | EditMessageCaption | EditMessageReplyMarkup):
            return self._edited(bot, method)
        if isinstance(method, SetMyCommands | GetMyCommands | DeleteMyCommands):
            return self._my_commands(method)
        return self._plain_result(bot, method)

    async def _media_group(self, bot: Bot, method: SendMediaGroup) -> list[Message]:
        group = f"group-{next(self._file_ids)}"
        messages = []
        for item in method.media:
            kind = "photo" if isinstance(item, InputMediaPhoto) else "document"
            if not isinstance(item, InputMediaPhoto | InputMediaDocument):
                raise NotImplementedError(f"{type(item).__name__} in a media group")
            media = await self._media(bot, kind, item.media)
            messages.append(self._message(bot, method.chat_id, caption=item.caption,
                                          media_group_id=group, **media))
        return messages

    def _edited(
        self, bot: Bot, method: EditMessageText | EditMessageCaption | EditMessageReplyMarkup,
    ) -> Message | bool:
        if method.inline_message_id or method.chat_id is None or method.message_id is None:
            return True
        known_text = self._state.get((method.chat_id, method.message_id), (None, None))[0]
        content: dict[str, Any] = {"text": known_text}
        if isinstance(method, EditMessageText):
            content = {"text": method.text}
        elif isinstance(method, EditMessageCaption):
            content = {"caption": method.caption}
        return self._message(bot, method.chat_id, method.message_id,
                             reply_markup=method.reply_markup,
                             edit_date=int(datetime.now(UTC).timestamp()),
                             **content)

    def _my_commands(self, method: SetMyCommands | GetMyCommands | DeleteMyCommands) -> Any:
        key = (_markup_key(method.scope) or _DEFAULT_SCOPE, method.language_code or "")
        if isinstance(method, SetMyCommands):
            self.my_commands[key] = list(method.commands)
        elif isinstance(method, DeleteMyCommands):
            self.my_commands.pop(key, None)
        else:
            return self.my_commands.get(key, [])
        return True

    def _plain_result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetMe):
            return self._me(bot)
        if isinstance(method, GetFile):
            return File(file_id=method.file_id, file_unique_id=f"unique-{method.file_id}",
                        file_size=len(self.files.get(method.file_id, b"")),
                        file_path=f"files/{method.file_id}")
        if isinstance(method, GetUpdates):
            return []
        if method.__returning__ is bool:
            return True  # answerCallbackQuery, deleteMessage, sendChatAction, setChatMenuButton...
        raise NotImplementedError(
            f"RecordingSession has no default result for {type(method).__name__}; "
            f"queue one with add_result()"
        )


class MockedBot(Bot):
    """A Bot whose session is a RecordingSession (no network)."""

    session: RecordingSession

    def __init__(self, token: str = "42:TEST", **kwargs: Any) -> None:
        super().__init__(token, session=RecordingSession(), **kwargs)

    def calls(self, method_type: type[M]) -> list[M]:
        return self.session.calls(method_type)

    def last(self, method_type: type[M]) -> M:
        return self.session.last(method_type)

    def texts(self) -> list[str]:
        return self.session.texts()

    def clear(self) -> None:
        self.session.clear()


# -- update factories -------------------------------------------------------------------------

_update_ids = itertools.count(1)
_message_ids = itertools.count(100_000)  # far from the session's ids for bot messages


def _user(user_id: int, first_name: str = "Test", last_name: str | None = None,
          username: str | None = None, language_code: str | None = "ru") -> User:
    return User(id=user_id, is_bot=False, first_name=first_name, last_name=last_name,
                username=username, language_code=language_code)


def _private_chat(chat_id: int, user: User) -> Chat:
    if chat_id < 0:
        return Chat(id=chat_id, type="supergroup", title="Test group")
    return Chat(id=chat_id, type="private", first_name=user.first_name,
                last_name=user.last_name, username=user.username)


def _user_message(user: User, chat_id: int | None, **fields: Any) -> Update:
    message = Message(
        message_id=fields.pop("message_id", None) or next(_message_ids), date=datetime.now(UTC),
        chat=_private_chat(user.id if chat_id is None else chat_id, user), from_user=user,
        **fields,
    )
    return Update(update_id=next(_update_ids), message=message)


def make_message_update(
    text: str, user_id: int = 1, chat_id: int | None = None, first_name: str = "Test",
    last_name: str | None = None, username: str | None = None, language_code: str = "ru",
    message_id: int | None = None, **message_fields: Any,
) -> Update:
    """A text message from a user; a leading /command gets its bot_command entity."""
    entities = None
    if match := _COMMAND_RE.match(text):
        entities = [MessageEntity(type="bot_command", offset=0, length=len(match.group()))]
    user = _user(user_id, first_name, last_name, username, language_code)
    return _user_message(user, chat_id, message_id=message_id, text=text, entities=entities,
                         **message_fields)


def make_callback_update(
    data: str, user_id: int = 1, message_id: int = 1, chat_id: int | None = None,
    message_text: str = "Menu", reply_markup: InlineKeyboardMarkup | None = None,
    first_name: str = "Test", username: str | None = None, language_code: str = "ru",
) -> Update:
    """A tap on an inline button of the bot's message `message_id` in the user's chat."""
    user = _user(user_id, first_name, None, username, language_code)
    chat = _private_chat(user_id if chat_id is None else chat_id, user)
    message = Message(message_id=message_id, date=datetime.now(UTC), chat=chat,
                      from_user=BOT_USER, text=message_text, reply_markup=reply_markup)
    query = CallbackQuery(id=str(next(_message_ids)), from_user=user, chat_instance="42",
                          message=message, data=data)
    return Update(update_id=next(_update_ids), callback_query=query)


def make_contact_update(
    phone: str, user_id: int = 1, contact_user_id: int | None = None, first_name: str = "Test",
    last_name: str | None = None, chat_id: int | None = None,
) -> Update:
    """A shared contact: the user's own by default, a foreign one with another contact_user_id."""
    user = _user(user_id, first_name, last_name)
    contact = Contact(phone_number=phone, first_name=first_name, last_name=last_name,
                      user_id=user_id if contact_user_id is None else contact_user_id)
    return _user_message(user, chat_id, contact=contact)


def make_photo_update(
    user_id: int = 1, file_id: str = "photo-file-id", file_unique_id: str = "photo-unique-id",
    caption: str | None = None, chat_id: int | None = None, first_name: str = "Test",
    media_group_id: str | None = None,
) -> Update:
    """A photo; `message.photo[-1]` (the largest size) carries `file_id`; photos picked together
    arrive as one update each with the same `media_group_id` (an album)."""
    sizes = [
        PhotoSize(file_id=f"{file_id}-thumb", file_unique_id=f"{file_unique_id}-thumb",
                  width=90, height=68, file_size=1_024),
        PhotoSize(file_id=file_id, file_unique_id=file_unique_id, width=1280, height=960,
                  file_size=102_400),
    ]
    return _user_message(_user(user_id, first_name), chat_id, photo=sizes, caption=caption,
                         media_group_id=media_group_id)


def make_document_update(
    user_id: int = 1, file_id: str = "doc-file-id", file_unique_id: str = "doc-unique-id",
    file_name: str = "document.pdf", mime_type: str = "application/pdf",
    caption: str | None = None, chat_id: int | None = None, first_name: str = "Test",
    file_size: int = 2_048,
) -> Update:
    document = Document(file_id=file_id, file_unique_id=file_unique_id, file_name=file_name,
                        mime_type=mime_type, file_size=file_size)
    return _user_message(_user(user_id, first_name), chat_id, document=document, caption=caption)

