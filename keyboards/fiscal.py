"""Keyboards of the fiscal side: /shift, the Z confirmation, "Повторить" on fiscal errors,
receipt buttons. Handlers re-check roles and ids: callback data can be forged."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from keyboards.callbacks import ReceiptPrintCb
from keyboards.common import button, markup


class ShiftCb(CallbackData, prefix="sh"):
    action: str  # show, open, x, z, zok, errs
    id: int = 0  # the shift a Z confirmation is for


class FiscalRetryCb(CallbackData, prefix="fr"):
    """Put a receipt (kind "r") or a service cash move ("m") refused by the PRRO back in the
    queue."""

    kind: str
    id: int


def shift_markup(*, can_manage: bool, is_open: bool, shift_id: int = 0,
                 errors: int = 0) -> InlineKeyboardMarkup:
    rows = []
    if can_manage and is_open:
        rows.append([button(_("📊 X-отчёт"), ShiftCb(action="x")),
                     button(_("🔒 Закрыть смену (Z)"), ShiftCb(action="z", id=shift_id))])
    if can_manage and not is_open:
        rows.append([button(_("🔓 Открыть смену"), ShiftCb(action="open"))])
    if errors:
        rows.append([button(_("⚠️ Ошибки фискализации: {count}").format(count=errors),
                            ShiftCb(action="errs"))])
    rows.append([button(_("🔄 Обновить"), ShiftCb(action="show"))])
    return markup(rows)


def close_confirm_markup(shift_id: int) -> InlineKeyboardMarkup:
    return markup([[button(_("✅ Да, закрыть смену"), ShiftCb(action="zok", id=shift_id)),
                    button(_("✖️ Отмена"), ShiftCb(action="show"))]])


def retry_markup(kind: str, item_id: int) -> InlineKeyboardMarkup:
    return markup([[button(_("🔁 Повторить"), FiscalRetryCb(kind=kind, id=item_id))]])


def failed_items_markup(items: list[tuple[str, int, str]]) -> InlineKeyboardMarkup:
    """(kind, id, label) → one "Повторить" button per failed item, and back to the shift."""
    rows = [[button(_("🔁 {label}").format(label=label), FiscalRetryCb(kind=kind, id=item_id))]
            for kind, item_id, label in items]
    rows.append([button(_("⬅️ К смене"), ShiftCb(action="show"))])
    return markup(rows)


def receipt_markup(receipt_id: int, *, client_linked: bool) -> InlineKeyboardMarkup | None:
    """Under a receipt shown to staff: send it to the client's chat when they are linked."""
    if not client_linked:
        return None
    return markup([[button(_("📤 Отправить клиенту"),
                           ReceiptPrintCb(id=receipt_id, to_client=True))]])
