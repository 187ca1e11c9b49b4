"""Callback factories and keyboards of client notifications (issue 7).

Prefixes (unique across keyboards/): nt = staff actions on a ticket's notifications,
tp = the /templates editor, ns = the owner's notification switches, mt = a client's own
tickets, ea = a client's answer to an estimate. Every handler re-checks who taps and what the
ids point to: callback data can be forged.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

# /start payload of the client's status link: st_<Ticket.public_token> (22 urlsafe chars).
STATUS_PREFIX = "st_"


class NotifyCb(CallbackData, prefix="nt"):
    """Staff, on a ticket card: ready (move to the READY status `arg` and ask), send (template
    `arg`), skip (do not notify), retry (failed outbox message `arg`), qr (status link QR)."""

    action: str
    id: int  # ticket id
    arg: int = 0


class TemplateCb(CallbackData, prefix="tp"):
    """/templates: list, open, new, kind, lang, text, name, default, del, delok, save."""

    action: str
    id: int = 0
    arg: str = ""


class NotifySetCb(CallbackData, prefix="ns"):
    """Owner's switches: menu, sw (toggle `arg`), days (+1/-1), max (+1/-1), noop."""

    action: str
    arg: str = ""


class MyTicketCb(CallbackData, prefix="mt"):
    """A client's own tickets: list, view."""

    action: str
    id: int = 0


class EstimateCb(CallbackData, prefix="ea"):
    """A client's answer to an estimate: ok (approve) or no (decline). `ev` is the status change
    that opened this approval, so a button from an earlier round does nothing."""

    action: str
    id: int  # ticket id
    ev: int


def contact_keyboard(text: str) -> ReplyKeyboardMarkup:
    """One big "share my number" button (Telegram sends the user's own contact)."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=text, request_contact=True)]],
        resize_keyboard=True, one_time_keyboard=True,
    )
