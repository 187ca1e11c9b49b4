"""/settings: every entry of the owner's settings menu, in one list."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from keyboards.audit import AuditCb
from keyboards.callbacks import SettingsAction, SettingsCb, TermsAction, TermsCb
from keyboards.common import button, markup
from keyboards.money import CashAction, CashCb, PayTypeAction, PayTypeCb
from keyboards.notify import NotifySetAction, NotifySetCb
from keyboards.reports import ReportSettingsAction, ReportSettingsCb


def settings_menu() -> tuple[str, InlineKeyboardMarkup]:
    return _("⚙️ <b>Настройки</b>"), markup([
        [button(_("📱 Типы устройств"), SettingsCb(action=SettingsAction.TYPES))],
        [button(_("💳 Способы оплаты"), PayTypeCb(action=PayTypeAction.LIST))],
        [button(_("🔔 Уведомления"), NotifySetCb(action=NotifySetAction.MENU))],
        [button(_("🧾 Квитанция о приёме"), TermsCb(action=TermsAction.MENU))],
        [button(_("📊 Отчёты и сводка"), ReportSettingsCb(action=ReportSettingsAction.MENU))],
        [button(_("📜 Журнал действий"), AuditCb())],
        [button(_("💰 Касса для мастеров"), CashCb(action=CashAction.SETTINGS))],
    ])
