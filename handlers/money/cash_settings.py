"""⚙️ Настройки → 💰 Касса для мастеров: the owner's switch whether masters see the drawer
balance and the shift totals (/cash, /shift). The rule and the owner check are
db/money/visibility.py's; other staff get "no access" here."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from db.desk.models import Role, Staff
from db.engine import DbSession
from db.money.visibility import masters_see_cash, set_masters_see_cash
from handlers.filters import IsStaff
from handlers.ui import edit_or_send
from keyboards.callbacks import SettingsAction, SettingsCb
from keyboards.common import button, markup
from keyboards.money import CashAction, CashCb


async def show(query: CallbackQuery, session: DbSession) -> None:
    on = await masters_see_cash(session)
    text = "\n".join([
        _("💰 <b>Касса для мастеров</b>"),
        _("Мастера видят остаток кассы и итоги смены (/cash, /shift): {value}").format(
            value=_("да") if on else _("нет")),
        _("Принимать оплату, продавать без обращения и записывать расходы мастера могут "
          "всегда. Владелец и менеджеры видят кассу всегда."),
    ])
    toggle = _("🙈 Скрыть от мастеров") if on else _("👁 Показывать мастерам")
    await edit_or_send(query, text, markup([
        [button(toggle, CashCb(action=CashAction.MASTERS_SEE))],
        [button(_("← Настройки"), SettingsCb(action=SettingsAction.MENU))]]))


async def settings_view(query: CallbackQuery, session: DbSession) -> None:
    await show(query, session)
    await query.answer()


async def toggle(query: CallbackQuery, session: DbSession, staff: Staff) -> None:
    await set_masters_see_cash(session, staff, not await masters_see_cash(session))
    await show(query, session)
    await query.answer(_("Сохранено."))


async def refused(query: CallbackQuery) -> None:
    await query.answer(_("Нет доступа."), show_alert=True)


def setup() -> Router:
    router = Router(name="money.cash_settings")
    router.callback_query.filter(IsStaff())
    owner = IsStaff(Role.OWNER)
    on = router.callback_query.register
    on(settings_view, CashCb.filter(F.action == CashAction.SETTINGS), owner)
    on(toggle, CashCb.filter(F.action == CashAction.MASTERS_SEE), owner)
    on(refused, CashCb.filter(F.action.in_({CashAction.SETTINGS, CashAction.MASTERS_SEE})))
    return router
