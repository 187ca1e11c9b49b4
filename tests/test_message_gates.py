"""Routers whose message handlers are all steps of forms get a gate on those forms' states
(handlers/routers.py `gate_messages`): text typed outside them is refused once per router, and
which handler answers does not change."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.filters import InStates
from handlers.gates import gate_messages
from tests.handler_kit import Desk
from tests.mocked_bot import MockedBot, make_message_update


class Form(StatesGroup):
    name = State()
    price = State()


class Other(StatesGroup):
    text = State()


def _message(text: str) -> Message:
    message = make_message_update(text).message
    assert message is not None
    return message


def _gates(router: Router) -> list[InStates]:
    return [f.callback for f in router.message._handler.filters or ()
            if isinstance(f.callback, InStates)]


async def test_the_gate_passes_its_states_only() -> None:
    gate = InStates([Form.name.state, None])
    assert await gate(_message("x"), raw_state=Form.name.state)
    assert await gate(_message("x"), raw_state=None)
    assert not await gate(_message("x"), raw_state=Form.price.state)


def _tree(answered: list[str]) -> tuple[Router, dict[str, Router]]:
    def answer(name: str):  # type: ignore[no-untyped-def]
        async def handler(message: Message) -> None:
            answered.append(name)
        return handler

    root = Router()
    steps, group, mixed, any_state, rest = Router(), Router(), Router(), Router(), Router()
    steps.message.register(answer("name"), Form.name, F.text)
    steps.message.register(answer("price"), StateFilter(Form.price), F.text.regexp(r"^\d+$"))
    group.message.register(answer("in Other"), StateFilter(Other))
    mixed.message.register(answer("/cmd"), Command("cmd"))
    mixed.message.register(answer("other text"), Other.text)
    any_state.message.register(answer("/any"), StateFilter("*"), Command("any"))
    rest.message.register(answer("rest"))
    root.include_routers(steps, group, mixed, any_state, rest)
    return root, {"steps": steps, "group": group, "mixed": mixed, "any": any_state,
                  "rest": rest}


async def _answers(gated: bool) -> list[str]:
    answered: list[str] = []
    root, _ = _tree(answered)
    if gated:
        gate_messages(root)
    bot = MockedBot()
    for text, state in [("Bob", Form.name.state), ("12", Form.price.state),
                        ("twelve", Form.price.state), ("hi", Other.text.state),
                        ("/cmd", Other.text.state), ("/any", Form.name.state),
                        ("/any", "Elsewhere:step"), ("#5", None), ("/cmd", None)]:
        await root.propagate_event("message", _message(text), raw_state=state, bot=bot)
    return answered


async def test_a_gated_tree_answers_as_before() -> None:
    answered: list[str] = []
    root, routers = _tree(answered)
    gate_messages(root)
    assert [str(g) for g in _gates(routers["steps"])] == ["InStates(Form:name, Form:price)"]
    assert [str(g) for g in _gates(routers["group"])] == ["InStates(Other:text)"]
    # A command beside a step, a step of any state, a catch-all, the parent: no gate.
    assert all(_gates(routers[name]) == [] for name in ("mixed", "any", "rest"))
    assert _gates(root) == []
    assert await _answers(gated=True) == await _answers(gated=False) == [
        "name", "price", "rest", "in Other", "in Other", "name", "/any", "rest", "/cmd"]


def test_the_apps_form_routers_are_gated(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    gated: set[str] = set()

    def walk(router: Router) -> None:
        if _gates(router):
            gated.add(router.name)
        for sub in router.sub_routers:
            walk(sub)

    walk(Desk(session_factory).dp)
    assert {"intake.start", "money.pay", "money.receipt_lines", "comments"} <= gated
    assert not gated & {"tickets", "clients", "common", "client", "deny"}  # take text anywhere
    assert len(gated) >= 12
