"""The Bot API emulator against a REAL aiogram Bot over HTTP (AiohttpSession + long polling)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    MenuButtonCommands,
    Message,
    ReplyKeyboardMarkup,
)

from tests.emulators.telegram import (
    DEFAULT_TOKEN,
    TelegramEmulator,
    WaitTimeout,
    run_telegram_emulator,
)

TOKEN = DEFAULT_TOKEN


def make_router() -> Router:
    """A tiny bot: /start with a reply keyboard, an inline menu, contacts, photos, documents."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        keyboard = ReplyKeyboardMarkup(resize_keyboard=True, keyboard=[
            [KeyboardButton(text="Поделиться номером", request_contact=True)],
            [KeyboardButton(text="Помощь")],
        ])
        await message.answer(f"Привет, <b>{message.from_user.first_name}</b>! "
                             f"Код: {command.args}", reply_markup=keyboard)

    @router.message(F.text == "Помощь")
    async def help_(message: Message) -> None:
        await message.answer("Справка")

    @router.message(Command("menu"))
    async def menu(message: Message) -> None:
        await message.answer("Обращение [1]", reply_markup=InlineKeyboardMarkup(inline_keyboard=[
            [InlineKeyboardButton(text="Принять", callback_data="accept:1")],
            [InlineKeyboardButton(text="Сайт", url="https://example.com")],
        ]))

    @router.callback_query(F.data.startswith("accept:"))
    async def accept(query: CallbackQuery) -> None:
        await query.message.edit_text("Обращение [1]: принято")
        await query.answer("Готово")

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        own = message.contact.user_id == message.from_user.id
        await message.answer(f"Номер {message.contact.phone_number}" if own else "Чужой контакт")

    @router.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        data = (await bot.download(message.photo[-1])).read()
        await message.answer_photo(BufferedInputFile(data, "copy.jpg"),
                                   caption=f"{message.caption}: {len(data)} байт")

    @router.message(F.document)
    async def document(message: Message) -> None:
        await message.answer_document(message.document.file_id, caption="Вернул")

    @router.message(F.text == "ping")
    async def ping(message: Message) -> None:
        await message.answer("pong")

    return router


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with run_telegram_emulator(token=TOKEN) as emulator:
        yield emulator


def make_bot(emu: TelegramEmulator, token: str = TOKEN) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    bot = make_bot(emu)
    yield bot
    await bot.session.close()


@asynccontextmanager
async def polling(emu: TelegramEmulator, bot: Bot) -> AsyncIterator[Dispatcher]:
    dp = Dispatcher()
    dp.include_router(make_router())
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    await emu.wait_polling()
    try:
        yield dp
    finally:
        await dp.stop_polling()
        await task


async def test_start_reply_keyboard_and_contact(emu: TelegramEmulator, bot: Bot) -> None:
    async with polling(emu, bot):
        olya = emu.user(501, "Оля", phone="380501234567")
        await olya.send("/start abc")
        reply = await olya.wait_for("Код: abc")
        assert reply.text == "Привет, Оля! Код: abc"  # HTML rendered like Telegram does
        assert reply.entities == [{"type": "bold", "offset": 8, "length": 3}]
        assert olya.reply_keyboard() == ["Поделиться номером", "Помощь"]

        await olya.tap("Помощь")  # a reply-keyboard button sends its text
        await olya.wait_for("Справка")
        await olya.tap("Поделиться номером")  # request_contact shares the own contact
        await olya.wait_for("Номер 380501234567")
        await olya.share_contact("380671112233", contact_user_id=999)
        await olya.wait_for("Чужой контакт")

    assert olya.interactions == 4
    update = next(r for r in emu.requests if r.method == "getUpdates" and r.result)
    assert update.result[0]["message"]["entities"][0]["type"] == "bot_command"


async def test_inline_tap_answers_and_edits(emu: TelegramEmulator, bot: Bot) -> None:
    async with polling(emu, bot):
        user = emu.user(502, "Иван")
        await user.send("/menu")
        menu = await user.wait_for("Обращение [1]")
        assert menu.buttons == ["Принять", "Сайт"] and menu.callback_data == ["accept:1"]

        query_id = await user.tap("Принять")
        edited = await user.wait_for(lambda m: m.edited and "принято" in (m.text or ""))
        assert edited.message_id == menu.message_id
        assert edited.buttons == []  # an edit without reply_markup drops the inline keyboard
        assert (await user.wait_answer())["text"] == "Готово"
        assert emu.callback_answers[query_id]["text"] == "Готово"
        with pytest.raises(AssertionError, match="no button"):
            await user.tap("Принять")  # the keyboard is gone
        with pytest.raises(WaitTimeout, match="nothing-like-this"):
            await user.wait_for("nothing-like-this", timeout=0.05)
        await user.expect_silence(0.05)
        assert user.interactions == 2  # /menu + one tap (the failed tap does not count)

    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id, text="again")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Обращение [1]: принято", chat_id=502,
                                    message_id=menu.message_id)


async def test_photo_upload_getfile_and_documents(emu: TelegramEmulator, bot: Bot) -> None:
    async with polling(emu, bot):
        user = emu.user(503, "Петро")
        await user.send_photo(caption="Экран", data=b"JPEG-DATA")
        echo = await user.wait_for("Экран: 9 байт")
        assert echo.photo == b"JPEG-DATA"
        upload = emu.calls("sendPhoto")[-1]
        assert str(upload["photo"]).startswith("attach://")  # aiogram sent multipart

        sent = await user.send_document(b"%PDF-1.4 act", file_name="act.pdf")
        back = await user.wait_for("Вернул")
        assert back.document == b"%PDF-1.4 act" and back.document_name == "act.pdf"
        assert back.file_id == sent["document"]["file_id"]

    file = await bot.get_file(echo.file_id)
    assert file.file_path and (await bot.download_file(file.file_path)).read() == b"JPEG-DATA"
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(503, "no-such-file-id")


REJECTIONS: list[tuple[Callable[[Bot, int], Awaitable[object]], str]] = [
    (lambda bot, chat: bot.send_message(chat, " \n "), "message text is empty"),
    (lambda bot, chat: bot.send_message(chat, "я" * 4097), "message is too long"),
    (lambda bot, chat: bot.send_message(chat, "<b>x</i>"), "can't parse entities"),
    (lambda bot, chat: bot.send_message(chat, "Итого 5.00", parse_mode="MarkdownV2"),
     "Character '.' is reserved"),
    (lambda bot, chat: bot.send_photo(chat, BufferedInputFile(b"p", "p.jpg"),
                                      caption="c" * 1025), "caption is too long"),
    (lambda bot, chat: bot.send_message(chat, "x", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]])),
     "BUTTON_DATA_INVALID"),
    (lambda bot, chat: bot.edit_message_text("x", chat_id=chat, message_id=999),
     "message to edit not found"),
    (lambda bot, chat: bot.delete_message(chat, 999), "message to delete not found"),
    (lambda bot, chat: bot.send_message(12345, "hi"), "chat not found"),
]


async def test_rejections_surface_as_telegram_bad_request(
    emu: TelegramEmulator, bot: Bot,
) -> None:
    emu.user(504, "Оксана").open_chat()
    for call, error in REJECTIONS:  # one bot for all cases: closing a session costs 0.25 s
        with pytest.raises(TelegramBadRequest, match=error):
            await call(bot, 504)
        assert emu.requests[-1].status == 400
        assert emu.requests[-1].description.startswith("Bad Request: ")
    assert emu.stats.sent == 0 and emu.stats.bad_requests == len(REJECTIONS)


async def test_limits_still_accept_valid_content(emu: TelegramEmulator, bot: Bot) -> None:
    emu.user(504, "Оксана").open_chat()
    await bot.send_message(504, "я" * 4096)
    await bot.send_message(504, "x", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="д" * 32)]]))
    await bot.send_message(504, "*Итого* 5\\.00", parse_mode="MarkdownV2")
    await bot.send_photo(504, BufferedInputFile(b"p", "p.jpg"), caption="c" * 1024)
    messages = emu.user(504).messages()
    assert messages[2].text == "Итого 5.00" and messages[2].entities[0]["type"] == "bold"
    assert emu.stats.sent == 4


async def test_wrong_token_unknown_method_and_raw_bodies(emu: TelegramEmulator) -> None:
    wrong = make_bot(emu, token="1:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await wrong.get_me()
    finally:
        await wrong.session.close()

    emu.user(505, "Raw").open_chat()
    url = f"{emu.base_url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404,
                                         "description": "Not Found: method not found"}
        async with http.post(f"{url}/sendMessage", json={"chat_id": 505, "text": "json"}) as resp:
            assert (await resp.json())["result"]["text"] == "json"
        async with http.post(f"{url}/SENDMESSAGE", data={"chat_id": "505", "text": "123"}) as resp:
            assert (await resp.json())["result"]["text"] == "123"  # stays a string
    assert [m.text for m in emu.user(505).messages()] == ["json", "123"]


async def test_blocked_user_and_injected_429(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(506, "Блок")
    user.open_chat()
    emu.block(506)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(506, "Можно забирать")
    await user.send("/start")  # writing to the bot again unblocks it
    await bot.send_message(506, "Можно забирать")

    emu.rate_limit(chat_id=506, count=2, retry_after=3)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as exc:
            await bot.send_message(506, "Можно забирать")
        assert exc.value.retry_after == 3
    await bot.send_message(506, "Можно забирать")
    assert (emu.stats.sent, emu.stats.too_many_requests, emu.stats.forbidden) == (2, 2, 1)


async def test_strict_mode_enforces_telegram_limits(emu: TelegramEmulator, bot: Bot) -> None:
    emu.enforce_limits(per_chat_interval=1.0, overall_per_second=3)
    for user_id in range(601, 606):
        emu.user(user_id).open_chat()
    await bot.send_message(601, "first")
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(601, "too soon for this chat")
    assert exc.value.retry_after == 1
    await bot.send_message(602, "a")
    await bot.send_message(603, "b")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(604, "4th within a second overall")
    assert emu.stats.sent == 3 and emu.stats.too_many_requests == 2
    assert emu.stats.max_per_second() == 3 and set(emu.stats.per_chat) == {601, 602, 603}


async def test_commands_per_scope_menu_and_media(emu: TelegramEmulator, bot: Bot) -> None:
    staff = emu.user(507, "Мастер")
    staff.open_chat()
    await bot.set_my_commands([BotCommand(command="start", description="Начать"),
                               BotCommand(command="status", description="Статус")])
    await bot.set_my_commands([BotCommand(command="cash", description="Касса")],
                              scope=BotCommandScopeChat(chat_id=507))
    await bot.set_my_commands([BotCommand(command="status", description="Статус")],
                              scope=BotCommandScopeAllPrivateChats(), language_code="uk")
    assert [c["command"] for c in emu.commands()] == ["start", "status"]
    assert [c["command"] for c in emu.commands(BotCommandScopeChat(chat_id=507))] == ["cash"]
    assert emu.commands({"type": "all_private_chats"}, "uk") == [
        {"command": "status", "description": "Статус"}]
    assert emu.commands(BotCommandScopeAllPrivateChats()) == []
    fetched = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=507))
    assert [c.command for c in fetched] == ["cash"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=507))
    assert emu.commands(BotCommandScopeChat(chat_id=507)) == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Cash!", description="x")])
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.set_my_commands([], scope=BotCommandScopeChat(chat_id=4040))

    assert await bot.set_chat_menu_button(chat_id=507, menu_button=MenuButtonCommands())
    assert emu.menu_buttons[507] == {"type": "commands"}
    assert await bot.send_chat_action(507, "upload_photo")
    assert emu.chat_actions == [(507, "upload_photo")]
    album = await bot.send_media_group(507, media=[
        InputMediaPhoto(media=BufferedInputFile(b"one", "1.jpg"), caption="до"),
        InputMediaPhoto(media=BufferedInputFile(b"two", "2.jpg")),
    ])
    assert album[0].media_group_id == album[1].media_group_id
    assert [m.photo for m in staff.messages()] == [b"one", b"two"]
    assert await bot.delete_message(507, album[0].message_id)
    assert [m.message_id for m in staff.current_messages()] == [album[1].message_id]
    assert (await bot.get_me()).username == "servicedesk_test_bot"


async def test_long_polling_delivers_fast(emu: TelegramEmulator, bot: Bot) -> None:
    async with polling(emu, bot):
        user = emu.user(508, "Быстрый")
        for _ in range(3):
            await emu.wait_polling()  # the bot is parked in a long poll
            started = time.perf_counter()
            await user.send("ping")
            await user.wait_for("pong")
            assert time.perf_counter() - started < 0.5


async def test_get_updates_offset_timeout_and_allowed_updates(emu: TelegramEmulator) -> None:
    user = emu.user(509, "Сырой")
    url = f"{emu.base_url}/bot{TOKEN}/getUpdates"
    async with aiohttp.ClientSession() as http:
        async def get_updates(**params: object) -> list[dict[str, object]]:
            async with http.post(url, json=params) as resp:
                return (await resp.json())["result"]  # type: ignore[no-any-return]

        started = time.perf_counter()
        waiting = asyncio.create_task(get_updates(timeout=5, allowed_updates=["message"]))
        await asyncio.sleep(0.05)
        await user.send("hello")
        updates = await waiting
        assert time.perf_counter() - started < 0.5
        assert [u["message"]["text"] for u in updates] == ["hello"]

        assert len(await get_updates(timeout=0)) == 1  # not confirmed yet
        offset = updates[-1]["update_id"] + 1
        started = time.perf_counter()
        assert await get_updates(offset=offset, timeout=0.2) == []  # confirmed, then waited
        assert time.perf_counter() - started >= 0.15

        emu.push_update("callback_query", {"id": "1", "from": user.as_user(),
                                           "chat_instance": "1", "data": "x"})
        assert await get_updates(offset=offset, timeout=0) == []  # filtered out
        assert len(emu.dropped_updates) == 1
