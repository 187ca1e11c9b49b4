"""A receipt for people (lines, totals, fiscal number, the tax office's QR): shown to the staff
member who asked, or sent to the client's chat in the client's language."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.views.client_notices import client_lang
from bot.views.receipts import load_receipt, receipt_qr, render_receipt
from db.engine import DbSession
from db.errors import NotFound
from db.money.receipts import ReceiptFacts
from handlers.filters import IsStaff
from keyboards.callbacks import ReceiptPrintCb
from keyboards.fiscal import receipt_markup

logger = logging.getLogger(__name__)
QR_FILE = "receipt-qr.png"


def qr_caption() -> str:
    return _("QR-код для проверки чека на сайте налоговой")


async def to_staff(query: CallbackQuery, bundle: ReceiptFacts, lang: str, bot: Bot,
                   settings: Settings) -> None:
    text = render_receipt(bundle, settings, lang)
    markup = receipt_markup(bundle.receipt.id, client_linked=bundle.client_chat_id is not None)
    await bot.send_message(query.from_user.id, text, reply_markup=markup)
    qr = receipt_qr(bundle)
    if qr is not None:
        await bot.send_photo(query.from_user.id, BufferedInputFile(qr, QR_FILE),
                             caption=qr_caption())
    await query.answer()


async def to_client(query: CallbackQuery, bundle: ReceiptFacts, chat_id: int, bot: Bot,
                    i18n: I18n, settings: Settings) -> None:
    language = client_lang(bundle.client, settings)
    with i18n.use_locale(language):
        text = render_receipt(bundle, settings, language, for_client=True)
        caption = qr_caption()
    qr = receipt_qr(bundle)
    try:
        await bot.send_message(chat_id, text)
        if qr is not None:
            await bot.send_photo(chat_id, BufferedInputFile(qr, QR_FILE), caption=caption)
    except TelegramForbiddenError:
        await query.answer(_("Клиент заблокировал бота: чек не доставлен."), show_alert=True)
        return
    except TelegramAPIError as exc:
        logger.warning("receipt %s to client chat failed: %s", bundle.receipt.id, exc)
        await query.answer(_("Не удалось отправить чек клиенту, попробуйте позже."),
                           show_alert=True)
        return
    await query.answer(_("Чек отправлен клиенту."))


async def print_receipt(query: CallbackQuery, callback_data: ReceiptPrintCb, session: DbSession,
                        lang: str, bot: Bot, i18n: I18n, settings: Settings) -> None:
    try:
        bundle = await load_receipt(session, callback_data.id)
    except NotFound:
        await query.answer(_("Чек не найден."), show_alert=True)
        return
    if not callback_data.to_client:
        await to_staff(query, bundle, lang, bot, settings)
        return
    if bundle.client_chat_id is None:
        await query.answer(_("Клиент не подключён к боту: чек можно показать с экрана."),
                           show_alert=True)
        return
    await to_client(query, bundle, bundle.client_chat_id, bot, i18n, settings)


def setup() -> Router:
    router = Router(name="fiscal_receipts")
    router.callback_query.filter(IsStaff())
    router.callback_query.register(print_receipt, ReceiptPrintCb.filter())
    return router
