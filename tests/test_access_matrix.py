"""The access matrix, derived from the Dispatcher: every message and callback handler
registered on the router tree gets an update built from its own filters (the command, the
CallbackData class packed with ids of another client's objects, the text, photo, document or
contact it wants, the form state it needs) and is sent as the people who may not use it — a
stranger, a linked client, a master (for manager and owner actions), a manager (for owner
actions). Each must change nothing in the database and learn nothing about another client; a
stranger and a client must not even reach a staff handler.

Who may use what is the one explicit table below. A handler registered without a rule fails
the test, and so does a rule for a handler that no longer exists."""

from __future__ import annotations

import asyncio
import enum
import hashlib
import inspect
import itertools
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, Update
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import Base
from db.desk.models import Comment, Role, Staff
from db.engine import create_engine, create_session_factory
from db.money.expenses import add_expense
from db.money.models import PaymentKind
from db.money.payment_types import default_payment_type
from db.money.payments import pay_receipt
from db.money.price_list import add_service
from db.money.receipts import add_free_line, create_receipt
from tests.factories import make_client, make_staff, make_ticket
from tests.fuzz_kit import USERS, IncidentLog, Probe, callback_classes
from tests.handler_kit import Desk
from tests.mocked_bot import (
    make_callback_update,
    make_contact_update,
    make_document_update,
    make_message_update,
    make_photo_update,
)

ANYONE, CLIENT, STAFF, MANAGER, OWNER = "anyone", "client", "staff", "manager", "owner"
# A linked client acting on their own record only (no ids in the update): refused to strangers.
SELF = "self"

# Who may use each handler (module → function → the least role). Roles are checked again in
# db/ on every call; this table says who the test sends each update as, to prove refusal.
ACCESS: dict[str, dict[str, str]] = {
    "handlers.staff_admin.receipt_terms": {
        "edit": OWNER, "menu": OWNER, "not_text": OWNER, "reset": OWNER, "typed": OWNER,
    },
    "handlers.money.refund_amount": {
        "ask_amount": MANAGER, "typed_amount": MANAGER, "wrong_amount": MANAGER,
    },
    "handlers.money.cash_settings": {
        "refused": STAFF, "settings_view": OWNER, "toggle": OWNER,
    },
    "handlers.intake_receipt": {
        "send_receipt": STAFF,
    },
    "handlers.audit_log": {
        "audit_cb": OWNER, "audit_command": OWNER,
    },
    "handlers.backup": {
        "backup_command": OWNER,
    },
    "handlers.client": {
        "choose_language_cb": SELF,
        "got_contact": ANYONE, "help_client": ANYONE, "list_tickets": CLIENT, "other_text": ANYONE,
        "start": ANYONE, "start_status": ANYONE, "status": ANYONE, "view_ticket": CLIENT,
    },
    "handlers.client_answers": {
        "estimate_answer": CLIENT,
    },
    "handlers.clients": {
        "card": STAFF, "client_command": STAFF, "clients_section": STAFF, "create_name": STAFF,
        "create_skip": STAFF, "create_start": STAFF, "create_wrong": STAFF, "device_card": STAFF,
        "edit_start": STAFF, "edit_value": STAFF, "edit_wrong": STAFF, "typed_search": STAFF,
    },
    "handlers.comments": {
        "comment_cancel": STAFF, "comment_document": STAFF, "comment_done": STAFF,
        "comment_other": STAFF, "comment_photo": STAFF, "comment_start": STAFF,
        "comment_text": STAFF, "show_comments": STAFF,
    },
    "handlers.common": {
        "cancel": ANYONE, "help_staff": STAFF, "start_invite": ANYONE, "start_label": STAFF,
        "start_staff": STAFF, "start_status_link": STAFF,
    },
    "handlers.deny": {
        "any_button": ANYONE, "staff_command": ANYONE,
    },
    "handlers.fiscal.receipts": {
        "print_receipt": STAFF,
    },
    "handlers.fiscal.retries": {
        "fiscal_errors": STAFF, "fiscal_retry": STAFF, "unreadable_retry": STAFF,
    },
    "handlers.fiscal.shift": {
        "shift_command": STAFF, "shift_open": MANAGER, "shift_show": STAFF, "shift_x": STAFF,
        "shift_z": MANAGER, "shift_z_confirmed": MANAGER,
    },
    "handlers.import_clients": {
        "import_cancel": OWNER, "import_confirm": OWNER, "import_document": OWNER,
        "not_owner": STAFF,
    },
    "handlers.intake.accept": {
        "accept": STAFF, "cancel": STAFF,
    },
    "handlers.intake.review": {
        "review_typed": STAFF,
        "back": STAFF, "clear": STAFF, "pick_field": STAFF, "pick_service": STAFF,
        "review_document": STAFF, "review_other": STAFF, "review_photo": STAFF,
        "set_master": STAFF, "toggle_option": STAFF,
    },
    "handlers.intake.start": {
        "change_kind": STAFF, "defect_photo": STAFF, "number_in_form": STAFF,
        "new_device": STAFF, "pick_type": STAFF, "repeat_visit": STAFF, "typed_defect": STAFF,
        "typed_kind": STAFF, "typed_model": STAFF, "wrong_defect": STAFF, "wrong_kind": STAFF,
        "wrong_model": STAFF,
    },
    "handlers.intake.typed": {
        "typed_field": STAFF, "wrong_field": STAFF,
    },
    "handlers.money.cash": {
        "cash_command": STAFF, "cash_view": STAFF, "move_start": MANAGER, "typed_amount": MANAGER,
        "typed_reason": MANAGER, "wrong_amount": MANAGER, "wrong_reason": MANAGER,
    },
    "handlers.money.closing": {
        "close": STAFF, "show": STAFF,
    },
    "handlers.money.expenses": {
        "add": STAFF, "ask_delete": MANAGER, "do_delete": MANAGER, "pick_type": STAFF,
        "tab": STAFF, "typed_amount": STAFF, "typed_what": STAFF, "wrong_amount": STAFF,
        "wrong_what": STAFF,
    },
    "handlers.money.pay": {
        "ask_received": STAFF, "back_to_confirm": STAFF, "pay_now": STAFF, "pick_type": STAFF,
        "received_button": STAFF, "start": STAFF, "typed_received": STAFF, "wrong_received": STAFF,
    },
    "handlers.money.pay_split": {
        "back_to_split": STAFF, "part": STAFF, "rest": STAFF, "split": STAFF, "typed_part": STAFF,
        "wrong_part": STAFF,
    },
    "handlers.money.pay_types": {
        "ask_name": OWNER, "card": OWNER, "change": OWNER, "list_types": OWNER, "set_kind": OWNER,
        "typed_name": OWNER, "wrong_name": OWNER,
    },
    "handlers.money.price_edit": {
        "add": MANAGER, "edit": MANAGER, "typed_code": MANAGER, "typed_edit": MANAGER,
        "typed_name": MANAGER, "typed_price": MANAGER, "wrong_price": MANAGER,
        "wrong_text": MANAGER,
    },
    "handlers.money.price_list": {
        "archive": MANAGER, "card": STAFF, "page": STAFF, "services_command": STAFF,
    },
    "handlers.money.receipt_lines": {
        "free_line": STAFF, "free_line_as_found": STAFF, "pick_service": STAFF,
        "typed_free_name": STAFF, "typed_free_price": STAFF, "typed_line": STAFF,
        "wrong_price": STAFF, "wrong_text": STAFF,
    },
    "handlers.money.receipts": {
        "add": STAFF, "ask_delete": STAFF, "do_delete": STAFF, "drop_line": STAFF, "new": STAFF,
        "pick_line": STAFF, "quick_sale": STAFF, "tab": STAFF, "view": STAFF,
    },
    "handlers.money.refunds": {
        "confirm": MANAGER, "do_refund": MANAGER, "pick_type": MANAGER, "start": MANAGER,
        "toggle_line": MANAGER,
    },
    "handlers.notify.card": {
        "for_client": STAFF, "move_to_ready": STAFF, "retry": STAFF, "send_ready": STAFF,
        "skip": STAFF,
    },
    "handlers.notify.switches": {
        "status_sms": OWNER,
        "menu": OWNER, "reminder": OWNER, "toggle": OWNER,
    },
    "handlers.notify.template_form": {
        "edit_name": MANAGER, "edit_text": MANAGER, "got_name": MANAGER, "got_text": MANAGER,
        "name_not_text": MANAGER, "new_kind": MANAGER, "new_language": MANAGER,
        "new_template": MANAGER, "save_template": MANAGER, "text_not_text": MANAGER,
    },
    "handlers.notify.templates": {
        "ask_delete": MANAGER, "delete": MANAGER, "make_default": MANAGER,
        "template_open": MANAGER, "templates_command": MANAGER, "templates_list": MANAGER,
    },
    "handlers.reports.access": {
        "masters_refused": STAFF, "masters_refused_button": STAFF, "totals_refused": STAFF,
        "totals_refused_button": STAFF,
    },
    "handlers.reports.exports": {
        "export_file": MANAGER, "export_menu": MANAGER,
    },
    "handlers.reports.menu": {
        "menu_button": MANAGER, "section": MANAGER,
    },
    "handlers.reports.payroll": {
        "payroll_button": MANAGER,
    },
    "handlers.reports.period": {
        "ask_period": MANAGER, "period_button": MANAGER, "period_typed": MANAGER,
        "period_wrong": MANAGER, "report_command": MANAGER,
    },
    "handlers.reports.receipts": {
        "open_receipt": MANAGER, "pick_master": MANAGER, "pick_pay_type": MANAGER,
        "receipts_list": MANAGER,
    },
    "handlers.reports.settings": {
        "ask_digest_time": OWNER, "digest_preset": OWNER, "digest_time_typed": OWNER,
        "digest_time_wrong": OWNER, "settings_menu": OWNER, "settings_refused": STAFF,
        "toggle_managers": OWNER,
    },
    "handlers.reports.today": {
        "day_button": MANAGER, "today_command": MANAGER,
    },
    "handlers.staff_admin.settings": {
        "settings_cb": OWNER, "settings_command": OWNER, "type_add": OWNER, "type_name": OWNER,
        "type_toggle": OWNER, "type_wrong": OWNER, "types_cb": OWNER,
    },
    "handlers.staff_admin.staff": {
        "invite_revoke": OWNER,
        "active_cb": OWNER, "card_cb": OWNER, "invite_create": OWNER, "invite_pick_role": OWNER,
        "list_cb": OWNER, "percent_start": OWNER, "percent_value": OWNER, "percent_wrong": OWNER,
        "role_cb": OWNER, "staff_command": OWNER,
    },
    "handlers.tickets": {
        "card": STAFF, "hash_number": STAFF, "history": STAFF, "label": STAFF,
        "plain_number": STAFF, "service_list_page": STAFF, "service_section": STAFF,
        "set_status": STAFF, "status_picker": STAFF, "ticket_command": STAFF,
    },
    "handlers.ui": {
        "stale_button": STAFF,
    },
}

OWNER_ID, MASTER_ID, MANAGER_ID = USERS["owner"], USERS["master"], USERS["manager"]
CLIENT_ID, STRANGER_ID = USERS["client"], USERS["stranger"]
# Who is refused, by the least role a handler needs.
REFUSED = {
    ANYONE: (STRANGER_ID, CLIENT_ID),  # no refusal: they must still learn and change nothing
    CLIENT: (STRANGER_ID, CLIENT_ID),  # the client with another client's ids
    SELF: (STRANGER_ID,),
    STAFF: (STRANGER_ID, CLIENT_ID),
    MANAGER: (STRANGER_ID, CLIENT_ID, MASTER_ID),
    OWNER: (STRANGER_ID, CLIENT_ID, MASTER_ID, MANAGER_ID),
}
# Another client's data: none of it may reach a stranger or the linked client.
SECRETS = ("Зоряна", "Потаємна", "ТаємнийДефект", "SECRET-4321", "внутрішня примітка")
SECRET_DIGITS = "501112244"  # the other client's phone, however it is formatted
# Bookkeeping, not shop data: forms and applied updates change with every update.
NOT_SHOP_DATA = {"fsm_states", "processed_updates"}


@dataclass(frozen=True)
class Registration:
    name: str  # module.function
    kind: str  # message | callback_query
    handler: HandlerObject
    router: Router


def registrations(router: Router) -> Iterator[Registration]:
    for kind in ("message", "callback_query"):
        for handler in getattr(router, kind).handlers:
            callback = handler.callback
            yield Registration(f"{callback.__module__}.{callback.__qualname__}", kind,
                               handler, router)
    for sub in router.sub_routers:
        yield from registrations(sub)


def audience(name: str) -> str | None:
    module, _dot, function = name.rpartition(".")
    return ACCESS.get(module, {}).get(function)


# ---- updates built from a handler's filters -------------------------------------------------

def _field_values(annotation: Any) -> list[Any]:
    optional = type(None) in typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [*annotation, *([None] if optional else [])]
    if annotation is bool:
        return [False, True]
    if annotation is int:
        return [1]  # every id 1 is another client's (or the owner's) row
    return ["uk", "x", "off"]


def packed(flt: CallbackQueryFilter) -> str:
    """The first packing of the filter's CallbackData class that its rule accepts."""
    cls: type[CallbackData] = flt.callback_data
    fields = list(cls.model_fields.items())
    for combo in itertools.product(*(_field_values(f.annotation) for _n, f in fields)):
        data = cls(**{name: value for (name, _f), value in zip(fields, combo, strict=True)})
        if flt.rule is None or flt.rule.resolve(data):
            return data.pack()
    raise AssertionError(f"no packing of {cls.__name__} passes {flt.rule}")


def required_state(handler: HandlerObject) -> str | None:
    for flt in handler.filters or []:
        cb = inspect.unwrap(flt.callback)  # bot/inline_filters.py wraps synchronous filters
        if isinstance(cb, State):
            return cb.state
        if isinstance(cb, StateFilter):
            for state in cb.states:
                if isinstance(state, State):
                    return state.state
                if isinstance(state, type) and issubclass(state, StatesGroup):
                    return state.__all_states__[0].state
    return None


def candidates(reg: Registration, user: int) -> list[Update]:
    """Updates that may match the handler, from `user`; the first its filters accept is used."""
    if reg.kind == "callback_query":
        flt = next((f.callback for f in reg.handler.filters or []
                    if isinstance(f.callback, CallbackQueryFilter)), None)
        data = [packed(flt)] if flt is not None else [
            *(f"{cls.__prefix__}{cls.__separator__}zzz" for cls in callback_classes()), "zzz"]
        return [make_callback_update(d, user_id=user, message_id=10**9) for d in data]
    out: list[Update] = []
    for filter_object in reg.handler.filters or []:
        cb = inspect.unwrap(filter_object.callback)
        if isinstance(cb, CommandStart):
            out += [make_message_update(f"/start {p}1", user_id=user)
                    for p in ("inv_", "tk_", "st_", "")]
        elif isinstance(cb, Command):
            out += [make_message_update(f"/{c} 1", user_id=user)
                    for c in cb.commands if isinstance(c, str)]
        elif hasattr(cb, "text"):  # TextIs: a menu button
            out.append(make_message_update(str(cb.text), user_id=user))
    texts = ["+380501112244", "#1", "1", "Зоряна", "hello"]
    out += [make_message_update(t, user_id=user) for t in texts]
    out += [make_photo_update(user_id=user), make_document_update(
        user_id=user, file_name="clients.csv", mime_type="text/csv"),
        make_contact_update("+380501112244", user_id=user, contact_user_id=777)]
    return out


def event_of(update: Update) -> Message | CallbackQuery:
    event = update.message or update.callback_query
    assert event is not None
    return event


# ---- the shop -------------------------------------------------------------------------------

async def seed(sf: async_sessionmaker[AsyncSession]) -> None:
    """Ids 1 are another client's: ticket 1 (with a lock code, an internal comment, a paid
    receipt 1, an unpaid receipt 2, an expense), staff 1 is the owner. The linked client has
    ticket 2."""
    async with sf() as s, s.begin():
        owner = await make_staff(s, Role.OWNER, name="Олег", tg_user_id=OWNER_ID)
        master = await make_staff(s, Role.MASTER, name="Петя", tg_user_id=MASTER_ID,
                                  commission_bp=3000)
        await make_staff(s, Role.MANAGER, name="Марина", tg_user_id=MANAGER_ID)
        await add_service(s, owner, "SCR1", "Замена экрана", 150000)
        other = await make_client(s, "+380501112244", name="Зоряна", surname="Потаємна")
        other.tg_chat_id = 5002
        ticket = await make_ticket(s, master, other, defect="ТаємнийДефект",
                                   lock_code="SECRET-4321", master_id=master.id)
        s.add(Comment(ticket_id=ticket.id, staff_id=master.id, text="внутрішня примітка"))
        paid = await create_receipt(s, owner, ticket.id)
        await add_free_line(s, owner, paid.id, "Діагностика", 20000)
        cash = await default_payment_type(s, PaymentKind.CASH)
        await pay_receipt(s, owner, paid.id, [(cash.id, 20000, None)])
        unpaid = await create_receipt(s, owner, ticket.id)
        await add_free_line(s, owner, unpaid.id, "Скло", 30000)
        await add_expense(s, owner, ticket.id, "Запчастина", 5000, cash.id)
        mine = await make_client(s, "+380501112233", name="Олена", surname="Коваль")
        mine.tg_chat_id = CLIENT_ID
        await make_ticket(s, master, mine, defect="Не заряджається", master_id=master.id)


async def fingerprint(sf: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """A hash of every table's rows (shop data only)."""
    out = {}
    async with sf() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_SHOP_DATA:
                continue
            rows = (await s.execute(select(table))).all()
            out[table.name] = hashlib.sha256(
                repr(sorted(repr(tuple(r)) for r in rows)).encode()).hexdigest()
    return out


def leaks(texts: list[str]) -> list[str]:
    said = "\n".join(texts)
    found = [s for s in SECRETS if s in said]
    if SECRET_DIGITS in re.sub(r"\D", "", said):
        found.append("phone")
    return found


# ---- the test -------------------------------------------------------------------------------

def instrument(desk: Desk, reached: list[str]) -> list[Registration]:
    """Wrap every handler so the test knows which one took an update."""
    regs = list(registrations(desk.dp))
    for reg in regs:
        original = reg.handler.callback

        async def recording(*args: Any, _original: Any = original, _name: str = reg.name,
                            **kwargs: Any) -> Any:
            reached.append(_name)
            return await _original(*args, **kwargs)

        reg.handler.callback = recording  # params were read from the original at registration
    return regs


async def matching_update(desk: Desk, reg: Registration, user: int, state: str | None,
                          allowed: list[Staff | None]) -> Update:
    """The first candidate the handler's own filters accept (as someone allowed to use it)."""
    with desk.i18n.context(), desk.i18n.use_locale("ru"):
        for update in candidates(reg, user):
            for staff in allowed:
                ok, _kwargs = await reg.handler.check(event_of(update), bot=desk.bot,
                                                      raw_state=state, staff=staff)
                if ok:
                    return update
    raise AssertionError(f"could not build an update that {reg.name} accepts")


async def set_state(desk: Desk, user: int, state: str | None) -> None:
    context = desk.dp.fsm.get_context(desk.bot, chat_id=user, user_id=user)
    await context.set_state(state)


async def run_matrix(url: str) -> tuple[int, int, list[str]]:
    engine = create_engine(url)
    sf = create_session_factory(engine)
    try:
        await seed(sf)
        desk = Desk(sf)
        reached: list[str] = []
        regs = instrument(desk, reached)
        names = {reg.name for reg in regs}
        problems = [f"{n}: registered but not in ACCESS" for n in sorted(names)
                    if audience(n) is None]
        problems += [f"{m}.{f}: in ACCESS but not registered" for m, fs in ACCESS.items()
                     for f in fs if f"{m}.{f}" not in names]
        async with sf() as s:
            staff = list(await s.scalars(select(Staff).order_by(Staff.id)))
        with IncidentLog() as incidents:
            probe = Probe(desk, incidents)
            for reg in regs:
                problems += await check_one(desk, sf, probe, reg, reached, staff)
            problems += [f"{f.kind}: {f.update}: {f.detail}" for f in probe.findings]
        return len(regs), probe.fed, problems
    finally:
        await engine.dispose()


async def check_one(desk: Desk, sf: async_sessionmaker[AsyncSession], probe: Probe,
                    reg: Registration, reached: list[str], staff: list[Staff]) -> list[str]:
    who = audience(reg.name)
    if who is None:
        return []
    state = required_state(reg.handler)
    allowed: list[Staff | None] = [None] if who in (ANYONE, CLIENT) else list(staff)
    problems: list[str] = []
    before = await fingerprint(sf)
    for user in REFUSED[who]:
        update = await matching_update(desk, reg, user, state, allowed)
        await set_state(desk, user, state)
        reached.clear()
        if update.callback_query is not None:
            # Sent on a real message of the user's chat when there is one.
            await probe.press(user, update.callback_query.data or "")
        else:
            await probe.feed(update)
        await set_state(desk, user, None)
        if user in (STRANGER_ID, CLIENT_ID) and (found := leaks(desk.bot.texts())):
            problems.append(f"{reg.name} as {user}: leaked {found}")
        staff_reached = [n for n in reached if audience(n) not in (ANYONE, CLIENT, SELF)]
        if user in (STRANGER_ID, CLIENT_ID) and staff_reached:
            problems.append(f"{reg.name} as {user}: reached staff handler {staff_reached}")
    after = await fingerprint(sf)
    changed = sorted(t for t in after if after[t] != before[t])
    if changed:
        problems.append(f"{reg.name}: refused people changed {changed}")
    return problems


def test_access_matrix(db_url: str) -> None:
    count, fed, problems = asyncio.run(run_matrix(db_url))
    print(f"\naccess matrix: {count} registrations, "
          f"{sum(len(f) for f in ACCESS.values())} handlers classified, {fed} probes")
    assert not problems, "\n".join(problems)


def test_table_has_no_unknown_roles() -> None:
    assert {who for fs in ACCESS.values() for who in fs.values()} <= set(REFUSED)
