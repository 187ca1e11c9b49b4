"""Runs of routers that text outside a form passes by sit under one parent with a gate
(handlers/gates.py `grouped`): the app's tree picks the same handler as the flat, ungated list
of feature routers for every message and button tried here, and the gate passes what a Command
or TextIs filter of its members could take."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from aiogram import Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message, PhotoSize, TelegramObject
from aiogram.utils.i18n import lazy_gettext as __

from bot.config import Settings
from bot.i18n import make_i18n
from bot.inline_filters import run_filters_inline
from db.desk.models import Role, Staff
from handlers.filters import MessageKeys, TextIs
from handlers.gates import grouped, message_keys
from handlers.routers import feature_routers, setup_routers
from keyboards.menu import SECTIONS
from tests.mocked_bot import MockedBot, make_callback_update, make_message_update

I18N = make_i18n()


class Form(StatesGroup):
    step = State()


def _message(text: str | None, caption: str | None = None) -> Message:
    message = make_message_update(text or "x").message
    assert message is not None
    if text is not None:
        return message
    photo = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
    return message.model_copy(update={"text": None, "photo": photo, "caption": caption})


async def test_the_gate_passes_states_commands_and_buttons() -> None:
    gate = MessageKeys(states=[Form.step.state], commands=["Ticket"], prefixes="/",
                       texts=[__("👥 Клиенты")])
    with I18N.context(), I18N.use_locale("uk"):
        button = str(__("👥 Клиенты"))
        assert await gate(_message("anything"), raw_state=Form.step.state)
        assert await gate(_message("/ticket 5"))
        assert await gate(_message("/TICKET@other_bot"))
        assert await gate(_message(None, caption="/ticket 5"))  # Command reads captions too
        assert await gate(_message(button))
        assert button != "👥 Клиенты"
        assert not await gate(_message("👥 Клиенты"))  # the button in the other language
        for refused in ("#5", "ticket", "/tickets", "/", " ", "067 123 45 67"):
            assert not await gate(_message(refused)), refused
        assert not await gate(_message(None))  # a photo without a caption, no state


def test_runs_are_grouped_and_routers_taking_any_text_stay_alone() -> None:
    steps, commands, anything, more, last = (Router(name=n) for n in
                                             ("steps", "commands", "anything", "more", "last"))
    steps.message.register(_noop, Form.step)
    commands.message.register(_noop, Command("help"))
    commands.message.register(_noop, TextIs(__("📊 Отчеты")))
    anything.message.register(_noop)
    more.message.register(_noop, Command("more"))
    last.message.register(_noop, Command("last"))
    tree = list(grouped([steps, commands, anything, more, last]))
    assert [r.name for r in tree] == ["gated(steps … commands)", "anything",
                                      "gated(more … last)"]
    keys = message_keys(tree[0])
    assert keys is not None and keys.states == {Form.step.state}
    assert keys.commands == {"help"} and len(keys.texts) == 1
    assert message_keys(anything) is None


async def _noop(message: Message) -> None:
    return None


# -- the app's own tree against its flat list ---------------------------------------------------

def _picked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handlers answer with their own name instead of running."""
    async def call(self: HandlerObject, *_args: Any, **_kwargs: Any) -> str:
        return f"{self.callback.__module__}.{self.callback.__qualname__}"
    monkeypatch.setattr(HandlerObject, "call", call)


def _states(router: Router) -> set[str]:
    found: set[str] = set()
    for handler in router.message.handlers:
        for item in handler.filters or []:
            given = inspect.unwrap(item.callback)  # bot/inline_filters.py wraps State filters
            if isinstance(given, State) and given.state:
                found.add(given.state)
            for state in getattr(given, "states", ()):
                if isinstance(state, State) and state.state:
                    found.add(state.state)
                elif isinstance(state, type) and issubclass(state, StatesGroup):
                    found.update(state.__all_states_names__)
    for sub in router.sub_routers:
        found |= _states(sub)
    return found


def _commands(router: Router) -> set[str]:
    found = {c for h in router.message.handlers for f in h.filters or []
             if isinstance(f.callback, Command) for c in f.callback.commands
             if isinstance(c, str)}
    for sub in router.sub_routers:
        found |= _commands(sub)
    return found


def _texts(commands: set[str]) -> list[str | None]:
    buttons = [str(text) for row in SECTIONS for text, _roles in row]
    typed = ["#12", "067 123 45 67", "1234", "Иван", "/unknown", "/", None]
    return typed + buttons + [f"/{c} 5" for c in sorted(commands)] + ["/TICKET@other_bot 5"]


def _staff(role: Role | None) -> Staff | None:
    return None if role is None else Staff(id=1, tg_user_id=1, name="S", role=role, active=True)


async def _route(root: Router, event_type: str, event: TelegramObject, **data: Any) -> Any:
    return await root.propagate_event(event_type, event, **data)


async def test_the_apps_tree_answers_as_its_flat_list(monkeypatch: pytest.MonkeyPatch) -> None:
    _picked(monkeypatch)
    settings = Settings(bot_token="42:TEST", owner_ids=[1])
    tree, flat = setup_routers(settings), Router(name="flat")
    flat.include_routers(*feature_routers(settings))
    run_filters_inline(tree)  # as bot.app builds it; no thread hop per filter
    run_filters_inline(flat)
    assert any(r.name.startswith("gated(") for r in tree.sub_routers)
    with I18N.context(), I18N.use_locale("ru"):
        tried = await _compare(tree, flat, settings, (Role.OWNER, Role.MASTER, None))
    with I18N.context(), I18N.use_locale("uk"):  # the menu buttons in the other language
        tried += await _compare(tree, flat, settings, (Role.OWNER,))
    assert tried > 1000


async def _compare(tree: Router, flat: Router, settings: Settings,
                   roles: tuple[Role | None, ...]) -> int:
    states = sorted(_states(flat))
    texts = _texts(_commands(flat))
    bot, tried = MockedBot(), 0
    for role in roles:
        data = {"bot": bot, "staff": _staff(role), "session": object(), "settings": settings}
        for state in [None, "Elsewhere:step", *states]:
            for text in texts if state in (None, states[0]) else texts[:7]:
                message = _message(text, caption="/ticket 5" if text is None else None)
                picks = [await _route(r, "message", message, raw_state=state, **data)
                         for r in (tree, flat)]
                assert picks[0] == picks[1], (role, state, text, picks)
                tried += 1
        for data_text in ("t:1", "py:1:2", "fr:5", "fr:x:y", "rep:d", "zz:1", "", "cl"):
            query = make_callback_update(data_text).callback_query
            assert query is not None
            picks = [await _route(r, "callback_query", query, raw_state=None, **data)
                     for r in (tree, flat)]
            assert picks[0] == picks[1], (role, data_text, picks)
            tried += 1
    return tried
