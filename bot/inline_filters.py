"""Synchronous filters run inline, not in a thread.

aiogram 3 calls every filter that is not a coroutine function — each `F.text == …`,
`F.data.startswith(…)`, `F.photo` and every plain function — through `asyncio.to_thread`
(`CallableObject.call`). An update is matched against many handlers in turn, so a text that
reaches the search handler paid a thread hop for each filter on the way: in the interactions
benchmark (bench/interactions.py) `to_thread` under `HandlerObject.check` was the largest
single cost of an update after SQL. Our filters are pure and cheap (they read the update's
fields), so `run_filters_inline` wraps each synchronous one into a coroutine function that
calls it directly, once, after the router tree is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject


def _inline(callback: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        return callback(*args, **kwargs)

    run.__wrapped__ = callback  # type: ignore[attr-defined]  # inspect.unwrap finds the filter
    return run


def _filters(router: Router) -> Iterator[FilterObject]:
    for observer in router.observers.values():
        handlers: list[HandlerObject] = [observer._handler, *observer.handlers]
        for handler in handlers:
            yield from handler.filters or ()
    for sub in router.sub_routers:
        yield from _filters(sub)


def run_filters_inline(router: Router) -> int:
    """Make every synchronous filter of the tree awaitable in place; how many were."""
    count = 0
    for flt in _filters(router):
        if not flt.awaitable:
            # the wrapper keeps the callback's parameters: aiogram passes only those it names
            flt.callback = _inline(flt.callback)
            flt.awaitable = True
            count += 1
    return count
