"""CallbackData factories of the money UI. Short prefixes and actions, integer ids only, so every
payload stays far below 64 bytes; handlers re-check existence, ownership and roles because
callback data can be forged. Refunds use the shared `RefundCb` and people's receipts
`ReceiptPrintCb` (keyboards.callbacks), since the reports open them too."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from aiogram.filters.callback_data import CallbackData

from db.money.models import PaymentKind
from keyboards.common import DbId


class ReceiptAction(StrEnum):
    TAB = "tab"  # a ticket's receipts (id = ticket, arg = page)
    VIEW = "view"  # one receipt (id)
    NEW = "new"  # "Новый чек" on ticket `id`
    ADD = "add"  # type lines into receipt `id`
    SERVICE = "svc"  # add service `arg` × `q` (thousandths) to receipt `id`
    FREE = "free"  # a free line: ask its name
    FREE_FOUND = "freef"  # a free line named as typed in the search that found nothing
    PICK_LINE = "rml"  # which line to remove (arg = page)
    DROP_LINE = "dl"  # remove line `arg` of receipt `id`
    DELETE = "del"  # ask to delete unpaid receipt `id`
    DELETE_OK = "delok"


class ReceiptCb(CallbackData, prefix="rc"):
    """Receipts of a ticket or a quick sale; `arg` and `q` as each action says."""

    action: ReceiptAction
    id: DbId = 0
    arg: DbId = 0
    q: DbId = 0


class PayAction(StrEnum):
    START = "start"  # how does the client pay receipt `id`
    TYPE = "type"  # all by type `arg`
    EXACT = "exact"  # cash handed over exactly
    RECEIVED = "recv"  # cash handed over: `arg` kopecks
    MORE = "more"  # a split's cash was more than its part: ask how much
    SPLIT = "split"  # pay in parts
    RESET = "reset"  # the split from the start
    PART = "part"  # a part by type `arg`: ask its amount
    REST = "rest"  # the rest by type `arg`
    BACK = "back"  # back to the split
    CONFIRM = "conf"  # back to the confirmation
    OK = "ok"  # pay


class PayCb(CallbackData, prefix="py"):
    action: PayAction
    id: DbId
    arg: DbId = 0


class ExpenseAction(StrEnum):
    TAB = "tab"  # the expenses of ticket `id` (arg = page)
    ADD = "add"
    TYPE = "type"  # paid by type `arg`: record it
    DELETE = "del"  # ask to delete expense `arg`
    DELETE_OK = "delok"


class ExpenseCb(CallbackData, prefix="ex"):
    """Expenses of ticket `id` (0 = the shop's, from the drawer)."""

    action: ExpenseAction
    id: DbId = 0
    arg: DbId = 0


class CloseAction(StrEnum):
    START = "start"  # what is paid and what is not
    NEXT = "next"  # the summary with the commission
    OK = "ok"  # close, confirming the debt `debt`


class CloseCb(CallbackData, prefix="cl"):
    """Closing ticket `id`. The debt a person confirms travels with the button, so a debt that
    changed after the summary was shown is never confirmed blindly."""

    action: CloseAction
    id: DbId
    debt: DbId = 0


class PriceAction(StrEnum):
    PAGE = "page"  # the price list, page `arg`
    ARCHIVED = "apage"  # the archive, page `arg`
    CARD = "card"  # service `id`
    ADD = "add"
    EDIT = "edit"  # change field `arg` (PriceField) of service `id`
    ARCHIVE = "arch"
    UNARCHIVE = "unarch"


class PriceField(IntEnum):
    CODE = 1
    NAME = 2
    PRICE = 3


class PriceCb(CallbackData, prefix="pl"):
    action: PriceAction
    id: DbId = 0
    arg: DbId = 0


class CashAction(StrEnum):
    VIEW = "view"  # the drawer, today's movements page `page` (0 = the latest)
    CASH_IN = "in"
    CASH_OUT = "out"
    SALE = "sale"  # a quick sale without a ticket
    EXPENSE = "exp"  # a shop expense from the drawer
    SETTINGS = "set"  # the owner's switch: do masters see the cash (/settings)
    MASTERS_SEE = "msee"  # toggle it


class CashCb(CallbackData, prefix="cs"):
    action: CashAction
    page: DbId = 0


class PayTypeAction(StrEnum):
    LIST = "list"
    CARD = "card"  # type `id`
    ADD = "add"
    NAME = "name"  # rename type `id`
    KIND = "kind"  # make type `id` (0 = the one being added) of `kind`
    TOGGLE = "toggle"  # switch type `id` off or on
    UP = "up"  # one place earlier


class PayTypeCb(CallbackData, prefix="pt"):
    """The owner's payment types."""

    action: PayTypeAction
    id: DbId = 0
    kind: PaymentKind | None = None
