"""Keyboards of the fiscal side: /shift, the Z confirmation, "Повторить" on fiscal errors,
receipt buttons. Handlers re-check roles and ids: callback data can be forged. The longest
payload is "sh:zok:<19 digits>", 26 bytes of Telegram's 64."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from db.fiscal.queue import FiscalKind
from keyboards.callbacks import ReceiptPrintCb
from keyboards.common import DbId, button, markup


class ShiftAction(StrEnum):
    SHOW = "show"  # the /shift screen
    OPEN = "open"  # open a shift by hand
    X = "x"  # X-report
    Z = "z"  # ask to close (Z-report)
    Z_OK = "zok"  # close shift `id`, confirmed
    ERRORS = "errs"  # the receipts the PRRO refused


class ShiftCb(CallbackData, prefix="sh"):
    action: ShiftAction
    id: DbId = 0  # the shift a Z confirmation is for


class FiscalRetryCb(CallbackData, prefix="fr"):
    """Put a receipt or a service cash move refused by the PRRO back in the queue."""

    kind: FiscalKind
    id: DbId


def shift_markup(*, can_manage: bool, is_open: bool, shift_id: int = 0,
                 errors: int = 0) -> InlineKeyboardMarkup:
    rows = []
    if can_manage and is_open:
        rows.append([button(_("📊 X-отчёт"), ShiftCb(action=ShiftAction.X)),
                     button(_("🔒 Закрыть смену (Z)"),
                            ShiftCb(action=ShiftAction.Z, id=shift_id))])
    if can_manage and not is_open:
        rows.append([button(_("🔓 Открыть смену"), ShiftCb(action=ShiftAction.OPEN))])
    if errors:
        rows.append([button(_("⚠️ Ошибки фискализации: {count}").format(count=errors),
                            ShiftCb(action=ShiftAction.ERRORS))])
    rows.append([button(_("🔄 Обновить"), ShiftCb(action=ShiftAction.SHOW))])
    return markup(rows)


def close_confirm_markup(shift_id: int) -> InlineKeyboardMarkup:
    return markup([[button(_("✅ Да, закрыть смену"),
                           ShiftCb(action=ShiftAction.Z_OK, id=shift_id)),
                    button(_("✖️ Отмена"), ShiftCb(action=ShiftAction.SHOW))]])


def retry_markup(kind: FiscalKind, item_id: int) -> InlineKeyboardMarkup:
    return markup([[button(_("🔁 Повторить"), FiscalRetryCb(kind=kind, id=item_id))]])


def failed_items_markup(items: list[tuple[FiscalKind, int, str]]) -> InlineKeyboardMarkup:
    """(kind, id, label) → one "Повторить" button per failed item, and back to the shift."""
    rows = [[button(_("🔁 {label}").format(label=label), FiscalRetryCb(kind=kind, id=item_id))]
            for kind, item_id, label in items]
    rows.append([button(_("⬅️ К смене"), ShiftCb(action=ShiftAction.SHOW))])
    return markup(rows)


def receipt_markup(receipt_id: int, *, client_linked: bool) -> InlineKeyboardMarkup | None:
    """Under a receipt shown to staff: send it to the client's chat when they are linked."""
    if not client_linked:
        return None
    return markup([[button(_("📤 Отправить клиенту"),
                           ReceiptPrintCb(id=receipt_id, to_client=True))]])
