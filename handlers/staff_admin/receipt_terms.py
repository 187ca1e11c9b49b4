"""/settings → 🧾 Квитанция о приёме (owner): the terms printed on the intake receipt, one text
per client language; typed as a message, back to the default with a tap. db/desk/receipt_terms
checks the role again."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.views.client_notices import in_locale
from bot.views.formatting import h
from bot.views.intake_receipt import default_terms
from bot.views.templates import language_name
from db.desk.models import Role, Staff
from db.desk.receipt_terms import TERMS_MAX, get_terms, set_terms
from db.engine import DbSession
from db.errors import InvalidValue
from db.notify.templates import LANGUAGES
from handlers.filters import IsStaff, NotCommand
from handlers.forms import FormData, load, save
from handlers.ui import callback_message, edit_and_answer
from keyboards.callbacks import SettingsAction, SettingsCb, TermsAction, TermsCb
from keyboards.common import button, markup

PREVIEW = 700  # characters of each language's terms on the screen (two fit in a message)


class TermsForm(StatesGroup):
    text = State()  # the new terms are typed here


class TermsData(FormData):
    language: str


def _preview(text: str) -> str:
    """The start of `text`, escaped, at most PREVIEW characters once escaped."""
    out: list[str] = []
    size = 0
    for char in text:
        piece = h(char)
        if size + len(piece) > PREVIEW:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


async def terms_view(session: DbSession) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("🧾 <b>Условия в квитанции о приёме</b>"),
             _("Печатаются в PDF на языке клиента. Нажмите, чтобы заменить своими.")]
    rows = []
    for language in LANGUAGES:
        own = await get_terms(session, language)
        name = language_name(language)
        if own is None:
            with in_locale(language):
                text = default_terms()
            lines += ["", _("<b>{language}</b> (по умолчанию):").format(language=h(name))]
        else:
            text = own
            lines += ["", _("<b>{language}</b> (ваши):").format(language=h(name))]
        lines.append(f"<i>{_preview(text)}</i>")
        row = [button(_("✏️ {language}").format(language=name),
                      TermsCb(action=TermsAction.EDIT, lang=language))]
        if own is not None:
            row.append(button(_("↩️ По умолчанию ({language})").format(language=name),
                              TermsCb(action=TermsAction.RESET, lang=language)))
        rows.append(row)
    rows.append([button(_("← Настройки"), SettingsCb(action=SettingsAction.MENU))])
    return "\n".join(lines), markup(rows)


async def menu(query: CallbackQuery, session: DbSession) -> None:
    text, kb = await terms_view(session)
    await edit_and_answer(query, text, kb)


async def edit(query: CallbackQuery, callback_data: TermsCb, state: FSMContext) -> None:
    if callback_data.lang not in LANGUAGES:
        await query.answer(_("Кнопка устарела — откройте /settings заново."), show_alert=True)
        return
    await state.set_state(TermsForm.text)
    await save(state, TermsData(language=callback_data.lang))
    if (message := callback_message(query)) is not None:
        await message.answer(_(
            "Пришлите условия одним сообщением ({language}, до {limit} символов): каждый пункт "
            "с новой строки. Отмена — /cancel.").format(
                language=language_name(callback_data.lang), limit=TERMS_MAX))
    await query.answer()


async def reset(query: CallbackQuery, callback_data: TermsCb, session: DbSession,
                staff: Staff) -> None:
    if callback_data.lang not in LANGUAGES:
        await query.answer(_("Кнопка устарела — откройте /settings заново."), show_alert=True)
        return
    await set_terms(session, staff, callback_data.lang, "")
    text, kb = await terms_view(session)
    await edit_and_answer(query, text, kb, note=_("Условия по умолчанию"))


async def typed(message: Message, session: DbSession, state: FSMContext, staff: Staff) -> None:
    data = await load(state, TermsData)
    if data is None:
        await state.clear()
        await message.answer(_("Форма устарела — откройте /settings заново."))
        return
    try:
        await set_terms(session, staff, data.language, message.text or "")
    except InvalidValue:
        await message.answer(_("Слишком длинный текст: не больше {limit} символов.").format(
            limit=TERMS_MAX))
        return
    await state.clear()
    text, kb = await terms_view(session)
    await message.answer(_("✅ Условия сохранены.") + "\n\n" + text, reply_markup=kb)


async def not_text(message: Message) -> None:
    await message.answer(_("Нужен текст условий. Отмена — /cancel."))


def setup() -> Router:
    router = Router(name="staff_admin.receipt_terms")
    router.message.filter(IsStaff(Role.OWNER))
    router.callback_query.filter(IsStaff(Role.OWNER))
    router.callback_query.register(menu, TermsCb.filter(F.action == TermsAction.MENU))
    router.callback_query.register(edit, TermsCb.filter(F.action == TermsAction.EDIT))
    router.callback_query.register(reset, TermsCb.filter(F.action == TermsAction.RESET))
    router.message.register(typed, TermsForm.text, F.text, NotCommand())
    router.message.register(not_text, TermsForm.text, NotCommand())
    return router
