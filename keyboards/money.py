"""CallbackData factories of the money UI (issue 4). Short prefixes, integer ids only, so every
payload stays far below 64 bytes; handlers re-check existence, ownership and roles because
callback data can be forged. The refund flow uses the shared `RefundCb` (prefix "rf")."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ReceiptCb(CallbackData, prefix="rc"):
    """Receipts of a ticket or a quick sale.

    tab (id=ticket, arg=page), view (id=receipt), new (id=ticket), add (id=receipt: ask for a
    line), svc (id=receipt, arg=service, q=quantity), free (id=receipt: free line), rml (id=receipt,
    arg=page: pick a line to remove), dl (id=receipt, arg=line), del / delok (id=receipt)."""

    action: str
    id: int = 0
    arg: int = 0
    q: int = 0


class PayCb(CallbackData, prefix="py"):
    """Paying receipt `id`: start, type (arg=payment type), exact, split, part (arg=type),
    rest (arg=type), reset, recv (ask cash received), ok."""

    action: str
    id: int
    arg: int = 0


class ExpenseCb(CallbackData, prefix="ex"):
    """Expenses of ticket `id` (0 = the shop's, from the drawer): tab (arg=page), add,
    type (arg=payment type), del / delok (arg=expense)."""

    action: str
    id: int = 0
    arg: int = 0


class CloseCb(CallbackData, prefix="cl"):
    """Closing ticket `id`: start, next (summary), ok (arg = the unpaid total confirmed),
    new (one more receipt)."""

    action: str
    id: int
    arg: int = 0


class PriceCb(CallbackData, prefix="pl"):
    """Price list: page (arg=page, id=1 for the archive), card (id), add, edit (id, arg=field),
    arch / unarch (id)."""

    action: str
    id: int = 0
    arg: int = 0


class CashCb(CallbackData, prefix="cs"):
    """The drawer: view (arg=page of today's movements, 0 = latest), in, out, sale, exp."""

    action: str
    arg: int = 0


class PayTypeCb(CallbackData, prefix="pt"):
    """Owner's payment types: list, card (id), add, kind (arg: 0 cash, 1 cashless; id=0 while
    adding), name (id), toggle (id), up (id)."""

    action: str
    id: int = 0
    arg: int = 0
