"""Typed errors for broken domain rules. The bot maps each `code` to a catalog message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str = "", **params: Any) -> None:
        super().__init__(message or self.code)
        self.params = params


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "permission_denied"


class InvalidPhone(DomainError):
    """`reason` is one of: empty, not_a_number, too_short, too_long, invalid."""

    code = "invalid_phone"

    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(f"invalid phone {text!r}: {reason}", reason=reason, text=text)
        self.reason = reason


class InvalidValue(DomainError):
    """A field failed validation; `field` names it."""

    code = "invalid_value"

    def __init__(self, field: str, message: str = "", **params: Any) -> None:
        super().__init__(message or f"invalid {field}", field=field, **params)
        self.field = field


def required_line(value: str | None, field: str, limit: int) -> str:
    """`value` as one line (any run of whitespace → one space); InvalidValue(`field`) with
    reason `required` when empty or `too_long` (with `limit`) when longer than `limit`."""
    text = " ".join((value or "").split())
    if not text:
        raise InvalidValue(field, reason="required")
    if len(text) > limit:
        raise InvalidValue(field, reason="too_long", limit=limit)
    return text


class DuplicateClient(DomainError):
    code = "duplicate_client"

    def __init__(self, phone: str, client_id: int) -> None:
        super().__init__(f"client with {phone} exists", phone=phone, client_id=client_id)
        self.client_id = client_id


class TransitionNotAllowed(DomainError):
    code = "transition_not_allowed"


class TicketClosed(DomainError):
    code = "ticket_closed"


class DeviceHasOpenTicket(DomainError):
    code = "device_has_open_ticket"

    def __init__(self, ticket_number: int) -> None:
        super().__init__(f"open ticket [{ticket_number}] exists", ticket_number=ticket_number)
        self.ticket_number = ticket_number


class InviteInvalid(DomainError):
    """`reason`: unknown, expired, used, revoked."""

    code = "invite_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(f"invite {reason}", reason=reason)
        self.reason = reason


class AlreadyStaff(DomainError):
    code = "already_staff"


class LastOwner(DomainError):
    """The shop must always keep one active owner."""

    code = "last_owner"
