"""/settings: every entry of the owner's settings menu, in one list."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from keyboards.callbacks import SettingsCb
from keyboards.common import button, markup
from keyboards.money import PayTypeAction, PayTypeCb
from keyboards.notify import NotifySetCb
from keyboards.reports import ReportSettingsCb


def settings_menu() -> tuple[str, InlineKeyboardMarkup]:
    return _("⚙️ <b>Настройки</b>"), markup([
        [button(_("📱 Типы устройств"), SettingsCb(action="types"))],
        [button(_("💳 Способы оплаты"), PayTypeCb(action=PayTypeAction.LIST))],
        [button(_("🔔 Уведомления"), NotifySetCb(action="menu"))],
        [button(_("📊 Отчёты и сводка"), ReportSettingsCb(action="menu"))],
    ])
