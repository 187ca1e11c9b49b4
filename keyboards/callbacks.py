"""CallbackData factories. Short prefixes and ids keep every payload far below 64 bytes;
handlers re-check permission and existence because callback data can be forged."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from keyboards.common import DbId

# /start payload of a device label's QR: tk_<ticket number> (opens the card, for staff only).
LABEL_PREFIX = "tk_"


class TicketAction(StrEnum):
    CARD = "card"  # open the card
    STATUS = "st"  # the status picker
    SET = "set"  # move to status `arg`
    COMMENT = "cm"  # add a comment
    COMMENTS = "cms"  # show the comments
    HISTORY = "hist"
    LABEL = "lbl"  # the printable QR label


class TicketCb(CallbackData, prefix="t"):
    action: TicketAction
    id: DbId
    arg: DbId = 0


class ClientCb(CallbackData, prefix="c"):
    action: str  # card, new, edit, pick
    id: int
    arg: int = 0


class DeviceCb(CallbackData, prefix="d"):
    action: str  # card, again
    id: int


class IntakeCb(CallbackData, prefix="i"):
    action: str  # type, field, cond, kit, master, clear, ok, cancel, back
    arg: int = 0
    cid: int = 0  # client id, where the button starts an intake


class NewClientCb(CallbackData, prefix="nc"):
    action: str  # create, skip, cancel


class ServiceAction(StrEnum):
    PAGE = "page"  # the open tickets list, page `page`


class ServiceCb(CallbackData, prefix="sv"):
    action: ServiceAction
    page: DbId = 0
    status: DbId = 0


class StaffCb(CallbackData, prefix="s"):
    action: str  # list, card, role, pct, off, on, inv, invrole
    id: int = 0
    arg: str = ""


class FormAction(StrEnum):
    DONE = "done"
    CANCEL = "cancel"


class FormCb(CallbackData, prefix="f"):
    """The buttons of a collecting form (a comment with files)."""

    action: FormAction


class SettingsCb(CallbackData, prefix="set"):
    action: str  # menu, types, type_add, type_off, type_on
    id: int = 0


# Shared entry points between features (each feature keeps its own factories in its module).
class ReceiptPrintCb(CallbackData, prefix="rp"):
    """Show a receipt for people (lines, totals, fiscal number, QR); `to_client` sends it to the
    client's chat instead."""

    id: DbId
    to_client: bool = False


class RefundAction(StrEnum):
    START = "start"  # a refund against paid receipt `id`
    PAGE = "page"  # its lines, page `arg`
    LINE = "line"  # one more item of line `arg` (wraps to none)
    NEXT = "next"  # how is the money given back
    ALL = "all"  # everything left
    TYPE = "type"  # by type `arg`: confirm
    OK = "ok"  # refund by type `arg`


class RefundCb(CallbackData, prefix="rf"):
    """A refund against a paid receipt (`id` = the receipt)."""

    action: RefundAction
    id: DbId
    arg: DbId = 0
