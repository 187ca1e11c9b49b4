"""The router tree: every feature's router, in the order updates try them. Each module builds
fresh routers in its `setup()`, so every Dispatcher (one per test) gets its own."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.filters import Filter, StateFilter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup

from bot.config import Settings
from handlers import (
    audit_log,
    backup,
    client,
    client_answers,
    clients,
    comments,
    common,
    deny,
    import_clients,
    intake,
    intake_receipt,
    staff_admin,
    tickets,
)
from handlers.filters import CallbackPrefixes, InStates
from handlers.fiscal import receipts as fiscal_receipts
from handlers.fiscal import retries as fiscal_retries
from handlers.fiscal import shift as fiscal_shift
from handlers.money import (
    cash,
    cash_settings,
    closing,
    expenses,
    pay,
    pay_split,
    pay_types,
    price_edit,
    price_list,
    receipt_lines,
    receipts,
    refund_amount,
    refunds,
)
from handlers.notify import card as notify_card
from handlers.notify import switches, template_form, templates
from handlers.reports import router as reports

log = logging.getLogger(__name__)


def setup_routers(settings: Settings) -> Router:
    root = Router(name="root")
    root.include_routers(
        common.setup(),  # /start, /help, /cancel: for everyone, in any state
        staff_admin.setup(),
        intake.setup(),
        receipts.setup(),
        receipt_lines.setup(),
        pay.setup(),
        pay_split.setup(),
        expenses.setup(),
        closing.setup(),
        refunds.setup(),
        refund_amount.setup(),
        price_list.setup(),
        price_edit.setup(),
        cash.setup(),
        cash_settings.setup(),
        pay_types.setup(),
        fiscal_shift.setup(),
        fiscal_retries.setup(),
        fiscal_receipts.setup(),
        reports.setup(),
        notify_card.setup(),
        templates.setup(),
        template_form.setup(),
        switches.setup(),
        tickets.setup(),
        intake_receipt.setup(),
        comments.setup(),
        backup.setup(),  # /backup (owner)
        audit_log.setup(),  # /audit (owner): money, statuses, access
        import_clients.setup(),  # a .csv/.xlsx sent outside any form (owner)
        # Clients last among staff routers: it owns the catch-all "typed a phone or a name".
        clients.setup(),
        client.setup(),  # what clients (non-staff) see
        client_answers.setup(),
        deny.setup(),  # the rest: strangers learn nothing, stale buttons get a hint
    )
    gate_callbacks(root)
    gate_messages(root)
    return root


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
    classes = [_callback_data_of(h.filters or []) for h in handlers]
    return CallbackPrefixes(c for c in classes if c is not None) if all(classes) else None


def _callback_data_of(filters: list[FilterObject]) -> type[CallbackData] | None:
    for item in filters:
        if isinstance(item.callback, CallbackQueryFilter):
            return item.callback.callback_data
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
        given = item.callback
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


def describe(router: Router, depth: int = 0) -> list[str]:
    """The tree as indented names (logged at start, so a reader sees the order)."""
    name = router.name if depth else "dispatcher"
    lines = ["  " * depth + name]
    for sub in router.sub_routers:
        lines.extend(describe(sub, depth + 1))
    return lines
