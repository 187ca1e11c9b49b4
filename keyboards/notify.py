"""Callback factories and keyboards of client notifications (issue 7).

Prefixes (unique across keyboards/): nt = staff actions on a ticket's notifications,
tp = the /templates editor, ns = the owner's notification switches, mt = a client's own
tickets, ea = a client's answer to an estimate, lg = a client's choice of language. Every
handler re-checks who taps and what the ids point to: callback data can be forged. The
longest payload (two ids at their maximum) is "nt:retry:<19 digits>:<19 digits>", 48 bytes
of Telegram's 64.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from pydantic import Field

from db.notify.models import MessageKind
from keyboards.common import DbId

# /start payload of the client's status link: st_<Ticket.public_token> (22 urlsafe chars).
STATUS_PREFIX = "st_"

# One tap of ➖ / ➕ on the reminder's numbers.
Step = Annotated[int, Field(ge=-1, le=1)]


class NotifyAction(StrEnum):
    READY = "ready"  # move to the READY status `arg` and ask whether to notify
    SEND = "send"  # send template `arg`
    SKIP = "skip"  # do not notify
    RETRY = "retry"  # send the failed outbox message `arg` again
    QR = "qr"  # the status link as a QR for the client


class NotifyCb(CallbackData, prefix="nt"):
    """Staff, on a ticket card."""

    action: NotifyAction
    id: DbId  # ticket id
    arg: DbId = 0


class TemplateAction(StrEnum):
    LIST = "list"
    OPEN = "open"
    NEW = "new"  # a new template: which kind?
    KIND = "kind"  # … `kind` chosen: which language?
    LANG = "lang"  # … `kind` and `lang` chosen: the name, then the text
    TEXT = "text"  # edit the text
    NAME = "name"  # edit the name
    DEFAULT = "default"
    DELETE = "del"  # ask
    DELETE_OK = "delok"  # confirmed
    SAVE = "save"  # the previewed text


class TemplateCb(CallbackData, prefix="tp"):
    """/templates; `id` is the template's."""

    action: TemplateAction
    id: DbId = 0
    kind: MessageKind | None = None
    lang: str = ""


class NotifySetAction(StrEnum):
    MENU = "menu"
    SWITCH = "sw"  # toggle `kind`
    STATUS_SMS = "ssms"  # status updates by SMS too
    DAYS = "days"  # reminder after N days, by `step`
    MAX = "max"  # at most M reminders, by `step`
    NOOP = "noop"  # the label between ➖ and ➕


class NotifySetCb(CallbackData, prefix="ns"):
    """The owner's switches."""

    action: NotifySetAction
    kind: MessageKind | None = None
    step: Step = 0


class MyTicketAction(StrEnum):
    LIST = "list"  # the client's tickets
    VIEW = "view"  # one ticket, below a notification (the notification stays)
    OPEN = "open"  # one ticket, from the list (in place)


class MyTicketCb(CallbackData, prefix="mt"):
    """A client's own tickets."""

    action: MyTicketAction
    id: DbId = 0


class ClientLanguage(StrEnum):
    RU = "ru"
    UK = "uk"


class ClientLangCb(CallbackData, prefix="lg"):
    """A client chooses the language the shop writes to them in."""

    lang: ClientLanguage


class EstimateAction(StrEnum):
    APPROVE = "ok"
    DECLINE = "no"


class EstimateCb(CallbackData, prefix="ea"):
    """A client's answer to an estimate. `ev` is the status change that opened this approval,
    so a button from an earlier round does nothing."""

    action: EstimateAction
    id: DbId  # ticket id
    ev: DbId


def contact_keyboard(text: str) -> ReplyKeyboardMarkup:
    """One big "share my number" button (Telegram sends the user's own contact)."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=text, request_contact=True)]],
        resize_keyboard=True, one_time_keyboard=True,
    )
