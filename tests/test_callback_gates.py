"""Routers whose buttons are all CallbackData get a gate on their prefixes (handlers/routers.py
`gate_callbacks`): a callback of another feature is refused once per router, and which handler
answers does not change."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.filters import CallbackPrefixes
from handlers.gates import gate_callbacks
from tests.handler_kit import Desk
from tests.mocked_bot import make_callback_update


class RcCb(CallbackData, prefix="rc"):
    id: int


class RclCb(CallbackData, prefix="rcl"):
    id: int


class BareCb(CallbackData, prefix="bare"):
    pass


def _query(data: str) -> CallbackQuery:
    query = make_callback_update(data).callback_query
    assert query is not None
    return query


def _gates(router: Router) -> list[CallbackPrefixes]:
    return [f.callback for f in router.callback_query._handler.filters or ()
            if isinstance(f.callback, CallbackPrefixes)]


async def test_the_gate_passes_its_prefixes_only() -> None:
    gate = CallbackPrefixes([RcCb, BareCb])
    assert await gate(_query(RcCb(id=5).pack()))
    assert await gate(_query(BareCb().pack()))  # a class without fields packs to its prefix
    assert not await gate(_query(RclCb(id=5).pack()))  # "rcl:5" is not "rc:…"
    assert not await gate(_query("rc"))
    assert not await gate(_query("barely:1"))


async def test_a_gated_router_answers_as_before_and_others_still_get_theirs() -> None:
    answered: list[str] = []

    async def first(query: CallbackQuery) -> None:
        answered.append("first")

    async def second(query: CallbackQuery) -> None:
        answered.append("second")

    async def rest(query: CallbackQuery) -> None:
        answered.append("rest")

    root, gated, catch_all = Router(), Router(), Router()
    gated.callback_query.register(first, RcCb.filter())
    gated.callback_query.register(second, RclCb.filter())
    catch_all.callback_query.register(rest)
    root.include_routers(gated, catch_all)
    gate_callbacks(root)
    assert [str(g) for g in _gates(gated)] == ["CallbackPrefixes(rc, rcl)"]
    assert _gates(catch_all) == [] and _gates(root) == []  # a catch-all, a parent: no gate
    for data in ("rc:1", "rcl:2", "zz:3", "rc:not-a-number"):
        await root.propagate_event("callback_query", _query(data))
    assert answered == ["first", "second", "rest", "rest"]


def test_the_apps_feature_routers_are_gated(
        session_factory: async_sessionmaker[AsyncSession]) -> None:
    leaves: dict[str, Router] = {}

    def walk(router: Router) -> None:
        if not router.sub_routers and router.callback_query.handlers:
            leaves[router.name] = router
        for sub in router.sub_routers:
            walk(sub)

    walk(Desk(session_factory).dp)
    ungated = {name for name, router in leaves.items() if not _gates(router)}
    assert ungated == {"deny"}  # its catch-all takes any button
    assert len(leaves) > 40
