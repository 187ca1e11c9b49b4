"""Typed errors of the notification domain (outbox, templates, chat links).

Each has a stable `code` (and `params`) the bot maps to a catalog message, like db/errors.py.
"""

from __future__ import annotations

from db.errors import DomainError


class ForeignContact(DomainError):
    """A shared contact that is not the sender's own (forwarded, or someone else's card)."""

    code = "foreign_contact"

    def __init__(self, tg_user_id: int, contact_user_id: int | None) -> None:
        super().__init__("contact is not the sender's own", tg_user_id=tg_user_id,
                         contact_user_id=contact_user_id)


class PhoneMismatch(DomainError):
    """A deep-link token was used with a phone that is not that ticket's client's."""

    code = "phone_mismatch"

    def __init__(self, ticket_number: int) -> None:
        super().__init__("phone is not the ticket client's", ticket_number=ticket_number)
        self.ticket_number = ticket_number


class TokenInvalid(DomainError):
    """No ticket has this public token."""

    code = "token_invalid"


class NoRecipient(DomainError):
    """A message with neither a chat nor a phone to go to."""

    code = "no_recipient"


class EstimateStale(DomainError):
    """A client's answer to an estimate the ticket is no longer waiting for (moved on, or a
    button from an earlier approval round)."""

    code = "estimate_stale"

    def __init__(self, ticket_id: int) -> None:
        super().__init__("the ticket is not waiting for this answer", ticket_id=ticket_id)


class InvalidMessage(DomainError):
    """The outbox refused a message; `reason` says why (empty_text, caption_too_long,
    bad_button, callback_data_too_long, bad_media, unknown_client, ...)."""

    code = "invalid_message"

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(f"invalid message: {reason}", reason=reason, **params)
        self.reason = reason


class TemplateInvalid(DomainError):
    """A template text cannot be saved. `reason`: empty, too_long, unknown_placeholder,
    broken_brace, bad_placeholder (positional `{}`, `{name.attr}`, `{name!r}`, `{name:>9}`).
    `placeholder` names the offending one where there is one; `position` is its offset."""

    code = "template_invalid"

    def __init__(self, reason: str, placeholder: str = "", position: int | None = None,
                 **params: object) -> None:
        super().__init__(f"template invalid: {reason} {placeholder}".strip(), reason=reason,
                         placeholder=placeholder, position=position, **params)
        self.reason = reason
        self.placeholder = placeholder


class TemplateNameTaken(DomainError):
    code = "template_name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(f"template {name!r} exists", name=name)
