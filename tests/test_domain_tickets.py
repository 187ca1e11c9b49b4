"""Tickets: numbering under concurrency, transitions, warranty linkage, comments, close/reopen."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import utcnow
from db.desk.models import AttachmentKind, Role, Status, StatusTransition, Ticket
from db.desk.tickets import (
    AttachmentIn,
    CommentIn,
    TicketDraft,
    add_comment,
    allowed_targets,
    change_status,
    get_ticket,
    list_comments,
    open_ticket,
    open_tickets,
    status_history,
    update_ticket,
)
from db.errors import (
    DeviceHasOpenTicket,
    InvalidValue,
    NotFound,
    PermissionDenied,
    TicketClosed,
    TransitionNotAllowed,
)
from tests.factories import make_client, make_staff, make_ticket

# The default transition table from DESIGN.md, as the migration seeds it.
EXPECTED = {
    "accepted": {"diagnostics", "approval", "waiting_parts", "in_work", "refused"},
    "diagnostics": {"approval", "waiting_parts", "in_work", "refused"},
    "approval": {"in_work", "waiting_parts", "diagnostics", "refused"},
    "waiting_parts": {"in_work", "approval", "refused"},
    "in_work": {"ready", "waiting_parts", "approval", "refused"},
    "ready": {"issued", "in_work"},
    "issued": {"in_work"},
    "refused": {"ready", "diagnostics"},
}


async def _statuses(session: AsyncSession) -> dict[str, Status]:
    return {s.code: s for s in await session.scalars(select(Status))}


async def _move(session: AsyncSession, actor, ticket: Ticket, *codes: str) -> None:  # type: ignore[no-untyped-def]
    statuses = await _statuses(session)
    for code in codes:
        await change_status(session, actor, ticket.id, statuses[code].id)


async def test_numbers_are_sequential(session: AsyncSession) -> None:
    master = await make_staff(session)
    numbers = [(await make_ticket(session, master)).number for _ in range(5)]
    assert numbers == [1, 2, 3, 4, 5]


async def test_numbers_unique_under_concurrency(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        master = await make_staff(s)
        client = await make_client(s)

    async def one() -> int:
        async with session_factory() as s, s.begin():
            actor = await s.get(type(master), master.id)
            assert actor is not None
            ticket = await make_ticket(s, actor, await s.get(type(client), client.id))
            await asyncio.sleep(0)  # let the others interleave before commit
            return ticket.number

    numbers = await asyncio.gather(*(one() for _ in range(40)))
    assert sorted(numbers) == list(range(1, 41))


async def test_a_rolled_back_ticket_does_not_burn_or_reuse_numbers(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s, s.begin():
        master = await make_staff(s)
        first = await make_ticket(s, master)
    async with session_factory() as s:
        await make_ticket(s, await s.get(type(master), master.id))  # type: ignore[arg-type]
        await s.rollback()
    async with session_factory() as s, s.begin():
        second = await make_ticket(s, await s.get(type(master), master.id))  # type: ignore[arg-type]
    assert (first.number, second.number) == (1, 2)


async def test_transition_table_matches_design(session: AsyncSession) -> None:
    statuses = await _statuses(session)
    by_id = {s.id: s.code for s in statuses.values()}
    rows = await session.scalars(select(StatusTransition))
    table: dict[str, set[str]] = {}
    for row in rows:
        table.setdefault(by_id[row.from_status_id], set()).add(by_id[row.to_status_id])
    assert table == EXPECTED


@pytest.mark.parametrize(
    ("start", "target"),
    [(a, b) for a in EXPECTED for b in EXPECTED if a != b],
)
async def test_every_transition_rule(session: AsyncSession, start: str, target: str) -> None:
    owner = await make_staff(session, Role.OWNER)
    ticket = await make_ticket(session, owner)
    statuses = await _statuses(session)
    ticket.status_id = statuses[start].id  # place it directly; the rule under test is the move
    await session.flush()
    if target in EXPECTED[start]:
        await change_status(session, owner, ticket.id, statuses[target].id)
        assert ticket.status_id == statuses[target].id
    else:
        with pytest.raises(TransitionNotAllowed):
            await change_status(session, owner, ticket.id, statuses[target].id)


async def test_new_ticket_cannot_jump_to_ready(session: AsyncSession) -> None:
    master = await make_staff(session)
    ticket = await make_ticket(session, master)
    targets = {s.code for s in await allowed_targets(session, ticket.status_id)}
    assert "ready" not in targets and "issued" not in targets


async def test_history_close_and_reopen(session: AsyncSession) -> None:
    master = await make_staff(session)
    manager = await make_staff(session, Role.MANAGER)
    ticket = await make_ticket(session, master)
    await _move(session, master, ticket, "diagnostics", "in_work", "ready", "issued")
    assert ticket.closed_at is not None
    history = await status_history(session, ticket.id)
    assert len(history) == 5 and history[0].from_status_id is None
    assert all(h.staff_id == master.id for h in history)
    statuses = await _statuses(session)
    with pytest.raises(PermissionDenied):
        await change_status(session, master, ticket.id, statuses["in_work"].id)
    await change_status(session, manager, ticket.id, statuses["in_work"].id)
    assert ticket.closed_at is None


async def test_client_can_move_only_as_client(session: AsyncSession) -> None:
    master = await make_staff(session)
    ticket = await make_ticket(session, master)
    await _move(session, master, ticket, "approval")
    statuses = await _statuses(session)
    with pytest.raises(PermissionDenied):
        await change_status(session, None, ticket.id, statuses["in_work"].id)
    change = await change_status(session, None, ticket.id, statuses["in_work"].id,
                                 by_client=True)
    assert change.by_client and change.staff_id is None


async def test_forged_ids(session: AsyncSession) -> None:
    master = await make_staff(session)
    ticket = await make_ticket(session, master)
    with pytest.raises(NotFound):
        await change_status(session, master, 987654, 1)
    with pytest.raises(NotFound):
        await change_status(session, master, ticket.id, 987654)
    with pytest.raises(NotFound):
        await get_ticket(session, 987654)


async def test_warranty_linkage(session: AsyncSession) -> None:
    master = await make_staff(session)
    client = await make_client(session)
    first = await make_ticket(session, master, client, warranty_days=30)
    with pytest.raises(DeviceHasOpenTicket):
        await open_ticket(session, master, TicketDraft(defect="again"), device_id=first.device_id)
    await _move(session, master, first, "in_work", "ready", "issued")
    second = await open_ticket(session, master, TicketDraft(defect="Снова не заряжается"),
                               device_id=first.device_id, now=utcnow() + timedelta(days=29))
    assert second.previous_ticket_id == first.id and second.is_warranty
    assert second.client_id == client.id and second.device_id == first.device_id
    await _move(session, master, second, "in_work", "ready", "issued")
    third = await open_ticket(session, master, TicketDraft(defect="Разбит экран"),
                              device_id=first.device_id, now=utcnow() + timedelta(days=400))
    assert third.previous_ticket_id == second.id and not third.is_warranty


async def test_refused_previous_is_not_warranty(session: AsyncSession) -> None:
    master = await make_staff(session)
    first = await make_ticket(session, master)
    await _move(session, master, first, "refused")
    again = await open_ticket(session, master, TicketDraft(defect="x"), device_id=first.device_id)
    assert again.previous_ticket_id == first.id and not again.is_warranty


async def test_defect_required_and_estimate_bounds(session: AsyncSession) -> None:
    master = await make_staff(session)
    with pytest.raises(InvalidValue):
        await make_ticket(session, master, defect="   ")
    with pytest.raises(InvalidValue):
        await make_ticket(session, master, estimate=-1)


async def test_comments_with_attachments(session: AsyncSession) -> None:
    master = await make_staff(session)
    ticket = await make_ticket(session, master)
    await add_comment(session, master, ticket.id, CommentIn(
        text="Вскрыл, окисление", attachments=[
            AttachmentIn(AttachmentKind.PHOTO, "file-1", "u1", "image/jpeg", None, 1234),
            AttachmentIn(AttachmentKind.DOCUMENT, "file-2", "u2", "application/pdf", "act.pdf"),
        ],
    ))
    await add_comment(session, master, ticket.id, CommentIn(attachments=[
        AttachmentIn(AttachmentKind.PHOTO, "file-3", "u3", caption="после"),
    ]))
    with pytest.raises(InvalidValue):
        await add_comment(session, master, ticket.id, CommentIn(text="  "))
    comments = await list_comments(session, ticket.id)
    assert [len(c.attachments) for c in comments] == [2, 1]
    assert comments[0].attachments[1].file_name == "act.pdf"


async def test_closed_ticket_is_not_edited(session: AsyncSession) -> None:
    master = await make_staff(session)
    ticket = await make_ticket(session, master)
    await update_ticket(session, master, ticket.id, text_fields={"kit": "зарядка"},
                        estimate=150000)
    assert ticket.kit == "зарядка" and ticket.estimate == 150000
    await _move(session, master, ticket, "refused")
    with pytest.raises(TicketClosed):
        await update_ticket(session, master, ticket.id, text_fields={"kit": "чехол"})


async def test_open_tickets_listing(session: AsyncSession) -> None:
    master = await make_staff(session)
    tickets = [await make_ticket(session, master) for _ in range(3)]
    await _move(session, master, tickets[0], "in_work", "ready", "issued")
    rows, total = await open_tickets(session, limit=1)
    assert total == 2 and len(rows) == 1


async def test_former_staff_change_no_ticket(session: AsyncSession) -> None:
    master = await make_staff(session, Role.MASTER)
    ticket = await make_ticket(session, master)
    gone = await make_staff(session, Role.OWNER)
    gone.active = False
    statuses = await _statuses(session)
    with pytest.raises(PermissionDenied):
        await open_ticket(session, gone, TicketDraft(defect="x"), device_id=ticket.device_id)
    with pytest.raises(PermissionDenied):
        await add_comment(session, gone, ticket.id, CommentIn(text="чужой"))
    with pytest.raises(PermissionDenied):
        await update_ticket(session, gone, ticket.id, text_fields={"defect": "другое"})
    with pytest.raises(PermissionDenied):
        await change_status(session, gone, ticket.id, statuses["diagnostics"].id)
    assert ticket.defect == "Не включается" and ticket.status_id == statuses["accepted"].id
    assert await list_comments(session, ticket.id) == []
