"""Client chat linking: own contact only, phone matching, self-registration, deep-link tokens,
moving a chat, unlinking an unreachable chat and restoring it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.desk.models import AuditEntry, Client, Status
from db.desk.tickets import change_status, get_ticket
from db.errors import InvalidPhone, NotFound
from db.notify.client_links import (
    SharedContact,
    awaited_answer,
    client_for_chat,
    client_ticket,
    entered_change_id,
    link_by_contact,
    link_by_ticket_token,
    link_shared_contact,
    mark_chat_unreachable,
    restore_chat,
)
from db.notify.errors import ForeignContact, PhoneMismatch, TokenInvalid
from tests.factories import make_client, make_staff, make_ticket

USER = 4242


async def test_a_foreign_contact_is_refused(session: AsyncSession) -> None:
    await make_client(session, "+380671234567")
    for contact_user_id in (9999, None):  # someone else's card; a typed contact has no id
        with pytest.raises(ForeignContact) as err:
            await link_by_contact(session, tg_user_id=USER, chat_id=USER,
                                  contact_user_id=contact_user_id, phone_text="+380671234567")
        assert err.value.code == "foreign_contact"
    assert await client_for_chat(session, USER) is None


async def test_existing_client_is_linked_by_any_phone_spelling(session: AsyncSession) -> None:
    client = await make_client(session, "+380671234567")
    result = await link_by_contact(session, tg_user_id=USER, chat_id=USER,
                                   contact_user_id=USER, phone_text="380671234567",
                                   language="uk")
    assert result.client.id == client.id and not result.created
    assert result.matched_by == "phone" and result.moved_from_client_id is None
    assert client.tg_chat_id == USER and client.language == "uk"
    assert (await client_for_chat(session, USER)).id == client.id  # type: ignore[union-attr]
    # English Telegram UI: the stored language is left as it was.
    await link_by_contact(session, tg_user_id=USER, chat_id=USER, contact_user_id=USER,
                          phone_text="+380671234567", language="en")
    assert client.language == "uk"


async def test_extra_phone_matches_the_client_with_the_latest_ticket(
    session: AsyncSession,
) -> None:
    master = await make_staff(session)
    old = await make_client(session, "+380501110000")
    recent = await make_client(session, "+380501110001")
    for client in (old, recent):
        client.extra_phone = "+380939998877"
    await make_ticket(session, master, recent)
    result = await link_by_contact(session, tg_user_id=USER, chat_id=USER,
                                   contact_user_id=USER, phone_text="093 999 88 77")
    assert (result.client.id, result.matched_by) == (recent.id, "extra_phone")


async def test_unknown_phone_creates_a_self_registered_client(session: AsyncSession) -> None:
    result = await link_by_contact(session, tg_user_id=USER, chat_id=USER,
                                   contact_user_id=USER, phone_text="+380661112233",
                                   first_name="Олена", last_name="Коваль", language="ru")
    client = result.client
    assert result.created and result.matched_by == "new"
    assert (client.phone, client.name, client.surname) == ("+380661112233", "Олена", "Коваль")
    assert client.self_registered and client.tg_chat_id == USER and client.language == "ru"
    with pytest.raises(InvalidPhone):
        await link_by_contact(session, tg_user_id=7, chat_id=7, contact_user_id=7,
                              phone_text="12")


async def test_a_chat_follows_the_latest_verified_phone(session: AsyncSession) -> None:
    first = await make_client(session, "+380671111111")
    second = await make_client(session, "+380672222222")
    await link_by_contact(session, tg_user_id=USER, chat_id=USER, contact_user_id=USER,
                          phone_text=first.phone)
    # The same Telegram account now has the second number: the chat moves.
    moved = await link_by_contact(session, tg_user_id=USER, chat_id=USER,
                                  contact_user_id=USER, phone_text=second.phone)
    assert moved.client.id == second.id and moved.moved_from_client_id == first.id
    assert first.tg_chat_id is None and second.tg_chat_id == USER
    # The second client shares from a new Telegram account: the new chat replaces the old.
    await link_by_contact(session, tg_user_id=5151, chat_id=5151, contact_user_id=5151,
                          phone_text=second.phone)
    assert second.tg_chat_id == 5151 and await client_for_chat(session, USER) is None
    actions = [a.action for a in await session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("client.chat%")))]
    assert actions.count("client.chat_moved") == 1


async def test_link_by_ticket_token_only_with_the_clients_phone(session: AsyncSession) -> None:
    master = await make_staff(session)
    owner_of_ticket = await make_client(session, "+380631234567")
    owner_of_ticket.extra_phone = "+380977654321"
    ticket = await make_ticket(session, master, owner_of_ticket)
    other = await make_client(session, "+380501234567")
    kwargs = {"token": ticket.public_token, "tg_user_id": USER, "chat_id": USER,
              "contact_user_id": USER}
    with pytest.raises(PhoneMismatch) as err:
        await link_by_ticket_token(session, phone_text=other.phone, **kwargs)  # type: ignore[arg-type]
    assert err.value.params["ticket_number"] == ticket.number
    assert await client_for_chat(session, USER) is None
    with pytest.raises(TokenInvalid):
        await link_by_ticket_token(session, phone_text=owner_of_ticket.phone,  # type: ignore[arg-type]
                                   **{**kwargs, "token": "guess"})
    with pytest.raises(ForeignContact):
        await link_by_ticket_token(session, phone_text=owner_of_ticket.phone,  # type: ignore[arg-type]
                                   **{**kwargs, "contact_user_id": 1})
    result = await link_by_ticket_token(session, phone_text="097 765 43 21", language="uk",
                                        **kwargs)  # type: ignore[arg-type]
    assert result.client.id == owner_of_ticket.id and result.matched_by == "ticket"
    assert owner_of_ticket.tg_chat_id == USER and owner_of_ticket.language == "uk"


async def test_unreachable_chat_is_unlinked_and_restored_on_return(
    session: AsyncSession,
) -> None:
    client = await make_client(session)
    client.tg_chat_id = USER
    assert await mark_chat_unreachable(session, USER, "telegram 403: blocked") == client.id
    assert client.tg_chat_id is None
    assert await mark_chat_unreachable(session, USER, "again") is None  # nothing linked now
    restored = await restore_chat(session, USER)
    assert restored is not None and restored.id == client.id and client.tg_chat_id == USER
    assert await restore_chat(session, USER) is None  # once
    # Relinked elsewhere meanwhile: nothing to restore.
    await mark_chat_unreachable(session, USER, "blocked")
    other = await make_client(session)
    other.tg_chat_id = 6000
    client.tg_chat_id = 6001
    await session.flush()
    assert await restore_chat(session, USER) is None
    assert (await session.get(Client, client.id)).tg_chat_id == 6001  # type: ignore[union-attr]


async def test_shared_contact_goes_by_the_token_when_there_is_one(session: AsyncSession) -> None:
    master = await make_staff(session)
    owner = await make_client(session, "+380671234567")
    ticket = await make_ticket(session, master, owner)
    other = SharedContact(tg_user_id=USER, chat_id=USER, contact_user_id=USER,
                          phone_text="+380671234500", first_name="Сусід")
    with pytest.raises(PhoneMismatch):
        await link_shared_contact(session, other, token=ticket.public_token)
    result = await link_shared_contact(session, other, token=None)  # no link: by the phone
    assert result.created and result.client.name == "Сусід"
    own = SharedContact(tg_user_id=USER, chat_id=USER, contact_user_id=USER,
                        phone_text="380671234567")
    result = await link_shared_contact(session, own, token=ticket.public_token)
    assert result.matched_by == "ticket" and result.client.id == owner.id


async def test_a_client_sees_only_own_tickets(session: AsyncSession) -> None:
    master = await make_staff(session)
    mine, theirs = await make_client(session), await make_client(session)
    ticket = await make_ticket(session, master, mine)
    assert (await client_ticket(session, mine.id, ticket.id)).id == ticket.id
    for client_id, ticket_id in ((theirs.id, ticket.id), (None, ticket.id), (mine.id, 999999)):
        with pytest.raises(NotFound) as err:
            await client_ticket(session, client_id, ticket_id)
        assert err.value.params == {"ticket_id": ticket_id}


async def test_estimate_buttons_only_while_the_answer_is_awaited(session: AsyncSession) -> None:
    master = await make_staff(session)
    ticket_id = (await make_ticket(session, master)).id
    codes = {s.code: s.id for s in await session.scalars(select(Status))}
    assert await awaited_answer(session, await get_ticket(session, ticket_id)) is None
    for code in ("diagnostics", "approval"):
        await change_status(session, master, ticket_id, codes[code])
    ticket = await get_ticket(session, ticket_id)
    event = await awaited_answer(session, ticket)
    assert event is not None and event == await entered_change_id(session, ticket)
    await change_status(session, master, ticket_id, codes["in_work"])
    assert await awaited_answer(session, await get_ticket(session, ticket_id)) is None
