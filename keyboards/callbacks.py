"""CallbackData factories. Short prefixes and ids keep every payload far below 64 bytes;
handlers re-check permission and existence because callback data can be forged."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from db.desk.models import Role
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
    RECEIPT = "pdf"  # the intake receipt PDF (and its copy to the client's chat)


class TicketCb(CallbackData, prefix="t"):
    action: TicketAction
    id: DbId
    arg: DbId = 0


class ClientAction(StrEnum):
    CARD = "card"
    NEW = "new"  # accept a new device of the client
    EDIT = "edit"  # change the client's `field`


class ClientField(StrEnum):
    """What "✏️" on the client card changes (the values are update_client's keywords)."""

    NAME = "name"
    EXTRA_PHONE = "extra_phone"
    COMMENT = "comment"


class ClientCb(CallbackData, prefix="c"):
    action: ClientAction
    id: DbId
    field: ClientField | None = None


class DeviceAction(StrEnum):
    CARD = "card"
    AGAIN = "again"  # a new ticket for the same device


class DeviceCb(CallbackData, prefix="d"):
    action: DeviceAction
    id: DbId


class IntakeAction(StrEnum):
    TYPE = "type"  # device type `arg` for client `cid`: starts an intake
    KIND = "kind"  # the intake's device becomes of type `arg` (a guessed type changed)
    FIELD = "field"  # open the review's `field`
    OPTION = "opt"  # tick option number `arg` of `field` (condition, kit)
    MASTER = "master"  # staff `arg` repairs it
    SERVICE = "svc"  # add or remove service `arg` on the quote
    CLEAR = "clear"  # empty the field being edited
    BACK = "back"  # to the review screen
    OK = "ok"  # accept the device
    CANCEL = "cancel"


class IntakeField(StrEnum):
    """The review screen's optional fields (the values are the form's attribute names)."""

    CONDITION = "condition"
    KIT = "kit"
    SERIAL = "serial"
    LOCK_CODE = "lock_code"
    ESTIMATE = "estimate"
    MASTER = "master"
    SERVICES = "services"
    KIND = "kind"  # the device type (a new device only)


class IntakeCb(CallbackData, prefix="i"):
    action: IntakeAction
    field: IntakeField | None = None
    arg: DbId = 0
    cid: DbId = 0  # the client, where the button starts an intake


class NewClientAction(StrEnum):
    CREATE = "create"  # create the client with the phone nobody had
    SKIP = "skip"  # without a name


class NewClientCb(CallbackData, prefix="nc"):
    action: NewClientAction


class ServiceAction(StrEnum):
    PAGE = "page"  # the open tickets list, page `page`


class ServiceCb(CallbackData, prefix="sv"):
    action: ServiceAction
    page: DbId = 0
    status: DbId = 0


class StaffAction(StrEnum):
    LIST = "list"
    CARD = "card"
    ROLE = "role"  # give staff `id` the `role`
    PERCENT = "pct"  # ask for the commission of staff `id`
    DEACTIVATE = "off"
    ACTIVATE = "on"
    INVITE = "inv"  # who is invited?
    INVITE_ROLE = "invrole"  # an invite link for `role`
    REVOKE = "revoke"  # make unused invite `id` unusable


class StaffCb(CallbackData, prefix="s"):
    action: StaffAction
    id: DbId = 0
    role: Role | None = None


class FormAction(StrEnum):
    DONE = "done"
    CANCEL = "cancel"


class FormCb(CallbackData, prefix="f"):
    """The buttons of a collecting form (a comment with files)."""

    action: FormAction


class SettingsAction(StrEnum):
    MENU = "menu"
    TYPES = "types"  # the device types for intake
    TYPE_ADD = "type_add"
    TYPE_OFF = "type_off"  # hide device type `id` from intake
    TYPE_ON = "type_on"


class SettingsCb(CallbackData, prefix="set"):
    action: SettingsAction
    id: DbId = 0


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
    AMOUNT = "amt"  # type an amount of line `arg` to give back
    NEXT = "next"  # how is the money given back
    ALL = "all"  # everything left
    TYPE = "type"  # by type `arg`: confirm
    OK = "ok"  # refund by type `arg`


class RefundCb(CallbackData, prefix="rf"):
    """A refund against a paid receipt (`id` = the receipt)."""

    action: RefundAction
    id: DbId
    arg: DbId = 0


class TermsAction(StrEnum):
    MENU = "menu"
    EDIT = "edit"  # type new terms in `lang`
    RESET = "reset"  # back to the default terms in `lang`


class TermsCb(CallbackData, prefix="rt"):
    """/settings → the intake receipt's terms (owner)."""

    action: TermsAction
    lang: str = ""
