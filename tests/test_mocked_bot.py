"""MockedBot + update factories: handler tests without a network, with Telegram's validation."""

from __future__ import annotations

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
)

from tests.mocked_bot import (
    MockedBot,
    make_callback_update,
    make_contact_update,
    make_document_update,
    make_message_update,
    make_photo_update,
)


def make_router() -> Router:
    """A tiny feature router, as a handlers/ module would build it."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        keyboard = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="Открыть", callback_data=f"open:{command.args or '-'}"),
        ]])
        await message.answer(f"Привет, <b>{message.from_user.first_name}</b>!",
                             reply_markup=keyboard)

    @router.message(Command("long"))
    async def long_text(message: Message) -> None:
        await message.answer("x" * 4097)

    @router.message(Command("bigdata"))
    async def big_data(message: Message) -> None:
        button = InlineKeyboardButton(text="Too long", callback_data="t" * 65)
        await message.answer("Buttons", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            button]]))

    @router.callback_query(F.data.startswith("open:"))
    async def open_ticket(query: CallbackQuery) -> None:
        await query.message.edit_text(f"Обращение {query.data.split(':')[1]}")
        await query.answer("Открыто")

    @router.callback_query(F.data == "same")
    async def same_text(query: CallbackQuery) -> None:
        await query.message.edit_text(query.message.text)

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        own = message.contact.user_id == message.from_user.id
        await message.answer("Номер сохранён" if own else "Это не ваш контакт")

    @router.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        data = await bot.download(message.photo[-1].file_id)
        await message.answer_photo(BufferedInputFile(data.read(), "copy.jpg"),
                                   caption=f"Фото: {message.caption}")

    @router.message(F.document)
    async def document(message: Message) -> None:
        await message.answer_document(BufferedInputFile(b"%PDF receipt", "receipt.pdf"),
                                      caption=f"Получен {message.document.file_name}")

    return router


@pytest.fixture
def bot() -> MockedBot:
    return MockedBot(default=DefaultBotProperties(parse_mode="HTML"))


@pytest.fixture
def dp() -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.include_router(make_router())
    return dispatcher


async def test_start_answers_with_inline_keyboard(bot: MockedBot, dp: Dispatcher) -> None:
    await dp.feed_update(bot, make_message_update("/start t42", user_id=7, first_name="Оля"))

    sent = bot.last(SendMessage)
    assert sent.chat_id == 7
    assert sent.text == "Привет, <b>Оля</b>!"
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "open:t42"
    assert bot.texts() == ["Привет, <b>Оля</b>!"]


async def test_results_echo_and_are_bound_to_the_bot(bot: MockedBot) -> None:
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="A", callback_data="a")]])
    first = await bot.send_message(5, "one", reply_markup=keyboard)
    second = await bot.send_message(5, "two")

    assert (first.message_id, second.message_id) == (1, 2)
    assert first.chat.id == 5 and first.text == "one"
    assert first.reply_markup.model_dump() == keyboard.model_dump()
    assert first.from_user.username == "test_bot"
    edited = await first.edit_text("uno")  # shortcut works: the result is bound to the bot
    assert edited.message_id == 1 and edited.text == "uno"
    assert [type(m).__name__ for m in bot.session.requests] == [
        "SendMessage", "SendMessage", "EditMessageText"]


async def test_callback_edits_message_and_answers(bot: MockedBot, dp: Dispatcher) -> None:
    update = make_callback_update("open:17", user_id=7, message_id=3, message_text="Меню")
    await dp.feed_update(bot, update)

    edit = bot.last(EditMessageText)
    assert (edit.chat_id, edit.message_id, edit.text) == (7, 3, "Обращение 17")
    answer = bot.last(AnswerCallbackQuery)
    assert answer.callback_query_id == update.callback_query.id and answer.text == "Открыто"


async def test_edit_that_changes_nothing_is_rejected(bot: MockedBot, dp: Dispatcher) -> None:
    update = make_callback_update("same", user_id=7, message_id=3, message_text="Меню")
    await dp.feed_update(bot, update)  # content unknown to the session: accepted

    bot.session.remember(update.callback_query.message)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await dp.feed_update(bot, update)

    sent = await bot.send_message(7, "Статус")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await sent.edit_text("Статус")
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Ок", callback_data="ok")]])
    await sent.edit_text("Статус", reply_markup=keyboard)  # markup changed: fine
    assert bot.texts() == ["Меню", "Статус", "Статус"]


@pytest.mark.parametrize(
    ("command", "error"),
    [("/long", "message is too long"), ("/bigdata", "BUTTON_DATA_INVALID")],
)
async def test_handler_validation_errors(
    bot: MockedBot, dp: Dispatcher, command: str, error: str,
) -> None:
    with pytest.raises(TelegramBadRequest, match=error):
        await dp.feed_update(bot, make_message_update(command, user_id=7))
    assert bot.texts() == []  # rejected sends are recorded as calls, not as texts
    assert len(bot.session.errors) == 1


async def test_direct_validation_errors(bot: MockedBot) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1, "  \n ")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1, "<b></b>")  # HTML renders to nothing
    await bot.send_message(1, "<b>" + "я" * 4096 + "</b>")  # tags do not count
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(1, "file-1", caption="c" * 1025)
    await bot.send_photo(1, "file-1", caption="c" * 1024)
    ok = InlineKeyboardButton(text="ok", callback_data="д" * 32)  # 64 bytes in UTF-8
    await bot.send_message(1, "fits", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[ok]]))
    too_long = InlineKeyboardButton(text="no", callback_data="д" * 32 + "x")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1, "x", reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[too_long]]))


async def test_queued_results_and_errors(bot: MockedBot) -> None:
    bot.session.add_forbidden(SendMessage)
    bot.session.add_retry_after(SendMessage, retry_after=5)
    bot.session.add_error(SendMessage, 400, "Bad Request: chat not found")
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(1, "a")
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(1, "b")
    assert retry.value.retry_after == 5
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(1, "c")
    assert (await bot.send_message(1, "d")).text == "d"  # queue drained

    bot.session.add_result(SendMessage, {"message_id": 999, "date": 0, "text": "scripted",
                                         "chat": {"id": 1, "type": "private"}})
    assert (await bot.send_message(1, "e")).message_id == 999
    bot.session.blocked.add(3)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(3, "f")


async def test_contact_own_and_foreign(bot: MockedBot, dp: Dispatcher) -> None:
    await dp.feed_update(bot, make_contact_update("+380501234567", user_id=7))
    await dp.feed_update(bot, make_contact_update("+380671112233", 7, 8))
    assert bot.texts() == ["Номер сохранён", "Это не ваш контакт"]


async def test_photo_download_and_upload(bot: MockedBot, dp: Dispatcher) -> None:
    bot.session.add_file("ph-1", b"\xff\xd8photo bytes")
    await dp.feed_update(bot, make_photo_update(7, "ph-1", "u-1", caption="экран"))

    sent = bot.last(SendPhoto)
    assert sent.caption == "Фото: экран"
    file_id = next(iter(bot.session.uploads))
    assert bot.session.uploads[file_id] == b"\xff\xd8photo bytes"


async def test_document_update_and_answer(bot: MockedBot, dp: Dispatcher) -> None:
    await dp.feed_update(bot, make_document_update(7, file_name="act.pdf"))
    assert bot.last(SendDocument).caption == "Получен act.pdf"
    assert list(bot.session.uploads.values()) == [b"%PDF receipt"]


async def test_media_group_and_service_methods(bot: MockedBot) -> None:
    messages = await bot.send_media_group(1, media=[
        InputMediaPhoto(media="p1", caption="до"), InputMediaPhoto(media="p2")])
    assert [m.photo[-1].file_id for m in messages] == ["p1", "p2"]
    assert messages[0].media_group_id == messages[1].media_group_id
    assert bot.last(SendMediaGroup).media[0].caption == "до"

    staff = [BotCommand(command="cash", description="Касса")]
    await bot.set_my_commands([BotCommand(command="start", description="Старт")])
    await bot.set_my_commands(staff, scope=BotCommandScopeChat(chat_id=7))
    assert [c.command for c in bot.session.commands()] == ["start"]
    assert bot.session.commands(BotCommandScopeChat(chat_id=7)) == staff
    assert bot.session.commands(BotCommandScopeAllPrivateChats()) == []
    stored = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=7))
    assert [(c.command, c.description) for c in stored] == [("cash", "Касса")]

    me = await bot.me()
    assert me.is_bot and me.username == "test_bot" and me.id == 42
    assert await bot.delete_message(1, 1) is True
    assert await bot.send_chat_action(1, "typing") is True
    assert await bot.delete_my_commands() is True
    file = await bot.get_file("anything")
    assert file.file_path == "files/anything"


def test_factories_build_valid_updates() -> None:
    first = make_message_update("/start abc", user_id=7)
    second = make_message_update("hi", user_id=7, chat_id=-100)
    assert second.update_id > first.update_id
    assert first.message.chat.id == 7 and first.message.chat.type == "private"
    assert second.message.chat.type == "supergroup"
    assert first.message.date.tzinfo is not None
    assert first.message.entities[0].type == "bot_command"
    assert first.message.entities[0].length == len("/start")
    query = make_callback_update("x", 7, 3).callback_query
    assert query.message.from_user.is_bot and query.message.message_id == 3
    assert make_contact_update("+380", 7).message.contact.user_id == 7
    assert make_photo_update(7, "f", "u").message.photo[-1].file_id == "f"
