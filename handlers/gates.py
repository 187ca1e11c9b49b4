"""Gates on the router tree: filters that refuse an update once, for a router or a run of
routers, where none of their handlers could take it. A gate never changes which handler
answers; it only spares aiogram offering the update to handlers and routers that would all
refuse it (tests/test_message_gates.py, tests/test_callback_gates.py, tests/test_router_groups.py).

- `gate_callbacks`, `gate_messages`: a gate on each leaf router (button prefixes, form states).
- `grouped`: runs of a feature list whose message handlers all need a form state, a command
  or a menu button go under one parent router with the union of those as its gate."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup

from handlers.filters import CallbackPrefixes, InStates, MessageKeys, TextIs

FLAT = 8  # a run up to this long is one group; a longer one gets sub-groups

# What a router's callback handlers take: their CallbackData classes (None: any data).
Prefixes = frozenset[type[CallbackData]] | None


def gate_callbacks(router: Router) -> None:
    """Give every leaf router whose buttons are all CallbackData a gate on their prefixes.

    aiogram tries a callback on each handler of each router in turn, and a CallbackData filter
    of another prefix refuses it by raising inside `unpack`: ~15 µs a handler, ~110 handlers
    before a ticket card's buttons. The gate refuses once per router and changes no answer,
    since none of the router's handlers could match another prefix. A router with any other
    kind of callback handler (a catch-all) gets no gate."""
    _gate_leaves(router, "callback_query", _prefix_gate)


def gate_messages(router: Router) -> None:
    """Give every leaf router whose message handlers are all steps of forms a gate on those
    forms' states.

    Text typed outside a form (a phone, "#N", a command) is otherwise offered to every form
    step before it: ~50 handlers, whose filters aiogram prepares and calls one by one, ahead of
    the ticket card's. As with the callback gates, a refusal changes no answer (no handler of
    the router takes another state)."""
    _gate_leaves(router, "message", _state_gate)


def grouped(features: Iterable[Router], *, least: int = 2) -> Iterator[Router]:
    """The features in order, each run of `least` or more that no message outside a form
    reaches except as a command or a menu button put under one parent router, whose gate is
    what its members' message handlers take together (and their button prefixes, when all of
    their callback handlers are CallbackData).

    aiogram offers an update to each router in turn, ~15 µs a router even when the router's
    own gate refuses it; a phone or "#N" met ~40 routers before the ones that answer it. A run
    gated as one is refused with one check. A router that takes text outside any form (the
    ticket card's "#N", the client search) stays on its own, so each run is one that such
    text passes by."""
    run: list[Router] = []
    for feature in features:
        keys = message_keys(feature)
        if keys is not None and None not in keys.states:
            run.append(feature)
            continue
        yield from _close(run, least)
        run = []
        yield feature
    yield from _close(run, least)


def _close(run: list[Router], least: int) -> Iterator[Router]:
    if len(run) < least:
        yield from run
        return
    yield _group(run)


def _group(run: list[Router]) -> Router:
    """One parent for the run, gated by what its members take. A run longer than `FLAT` is
    split into about √n sub-groups of about √n routers, each gated too, so a command that
    passes the outer gate is offered to ~2√n routers and gates instead of all n."""
    group = Router(name=f"gated({run[0].name} … {run[-1].name})")
    keys = [message_keys(member) for member in run]
    group.message.filter(MessageKeys.union(k for k in keys if k is not None))
    prefixes = [callback_prefixes(member) for member in run]
    if all(p is not None for p in prefixes):
        group.callback_query.filter(
            CallbackPrefixes(frozenset().union(*(p for p in prefixes if p is not None))))
    if len(run) <= FLAT:
        group.include_routers(*run)
        return group
    span = math.isqrt(len(run) - 1) + 1  # ⌈√n⌉
    chunks = [run[i:i + span] for i in range(0, len(run), span)]
    group.include_routers(*(_group(chunk) if len(chunk) > 1 else chunk[0] for chunk in chunks))
    return group


def message_keys(router: Router) -> MessageKeys | None:
    """What a message must carry for some handler of the router (or of its sub-routers) to
    take it; None when some handler could take any message."""
    keys = [_handler_keys(h.filters or []) for h in router.message.handlers]
    keys += [message_keys(sub) for sub in router.sub_routers]
    if any(k is None for k in keys):
        return None
    return MessageKeys.union(k for k in keys if k is not None)


def callback_prefixes(router: Router) -> Prefixes:
    """The CallbackData classes the router's callback handlers (and its sub-routers') take;
    None when one takes other data."""
    found = [_handlers_prefixes(router.callback_query.handlers),
             *(callback_prefixes(sub) for sub in router.sub_routers)]
    if any(p is None for p in found):
        return None
    return frozenset().union(*(p for p in found if p is not None))


def _handler_keys(filters: list[FilterObject]) -> MessageKeys | None:
    """A handler's filters all have to pass, so any one of them that needs a state, a command
    or a button's text bounds what the handler takes."""
    for item in filters:
        given: Any = item.callback
        if (states := _states_in(given)) is not None:
            return MessageKeys(states=states)
        if isinstance(given, Command) and all(isinstance(c, str) for c in given.commands):
            return MessageKeys(commands=[str(c) for c in given.commands], prefixes=given.prefix)
        if isinstance(given, TextIs):
            return MessageKeys(texts=(given.text,))
    return None


def _gate_leaves(router: Router, event: str,
                 gate: Callable[[list[HandlerObject]], Filter | None]) -> None:
    """The gate `gate` makes of each leaf router's `event` handlers (None: no gate). Leaves
    only: aiogram skips the sub-routers of a router whose gate refuses."""
    for sub in router.sub_routers:
        _gate_leaves(sub, event, gate)
    observer = router.observers[event]
    if router.sub_routers or not observer.handlers:
        return
    if (made := gate(observer.handlers)) is not None:
        observer.filter(made)


def _prefix_gate(handlers: list[HandlerObject]) -> CallbackPrefixes | None:
    prefixes = _handlers_prefixes(handlers)
    return None if prefixes is None else CallbackPrefixes(prefixes)


def _handlers_prefixes(handlers: list[HandlerObject]) -> Prefixes:
    classes = [_callback_data_of(h.filters or []) for h in handlers]
    if any(c is None for c in classes):
        return None
    return frozenset(c for found in classes if found for c in found)


def _callback_data_of(filters: list[FilterObject]) -> Prefixes:
    """The CallbackData classes a handler takes (a CallbackData filter, or the prefixes of
    data that did not parse); None when it takes other data."""
    for item in filters:
        if isinstance(item.callback, CallbackQueryFilter):
            return frozenset({item.callback.callback_data})
        if isinstance(item.callback, CallbackPrefixes):
            return item.callback.classes
    return None


def _state_gate(handlers: list[HandlerObject]) -> InStates | None:
    bound = [_states_of(h.filters or []) for h in handlers]
    if not all(states is not None for states in bound):
        return None
    return InStates(s for states in bound if states for s in states)


def _states_of(filters: list[FilterObject]) -> frozenset[str | None] | None:
    """The states a handler takes (from its State, StatesGroup or StateFilter filter); None
    when it takes any."""
    for item in filters:
        if (states := _states_in(item.callback)) is not None:
            return states
        if _is_state_filter(item.callback):
            return None  # "any state"
    return None


def _is_state_filter(given: object) -> bool:
    return isinstance(given, (StateFilter, State)) or (
        inspect.isclass(given) and issubclass(given, StatesGroup))


def _states_in(given: object) -> frozenset[str | None] | None:
    """The states one filter lets through; None when it is not a state filter or takes any."""
    if isinstance(given, StateFilter):
        states = [_state_names(s) for s in given.states]
        return None if None in states else frozenset().union(*states)  # type: ignore[arg-type]
    if isinstance(given, State) or (inspect.isclass(given) and issubclass(given, StatesGroup)):
        return _state_names(given)
    return None


def _state_names(state: object) -> frozenset[str | None] | None:
    if state is None:
        return frozenset({None})
    if isinstance(state, str):
        return None if state == "*" else frozenset({state})
    if isinstance(state, State):
        return None if state.state in (None, "*") else frozenset({state.state})
    if inspect.isclass(state) and issubclass(state, StatesGroup):
        return frozenset(state.__all_states_names__)
    return None
