"""Templates: placeholder validation, rendering, preview, seeds, CRUD; notification switches."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.views.formatting import money_text as format_amount
from bot.views.templates import compose_for_ticket, preview
from db.desk.models import Role, Setting
from db.errors import InvalidValue, NotFound, PermissionDenied
from db.notify.errors import TemplateInvalid, TemplateNameTaken
from db.notify.settings import (
    NotifySettings,
    get_notify_settings,
    notification_enabled,
    set_reminder,
    set_switch,
    step_reminder,
    toggle_switch,
)
from db.notify.templates import (
    PLACEHOLDERS,
    ShopInfo,
    create_template,
    default_template,
    delete_template,
    get_template,
    list_templates,
    placeholders_in,
    render,
    update_template,
    validate_text,
)
from tests.factories import make_client, make_staff, make_ticket

SHOP = ShopInfo("Майстерня «Гвинтик»", "вул. Соборна, 12", "+380 67 123 4567")


@pytest.mark.parametrize(
    ("text", "reason", "placeholder"),
    [
        ("Вітаємо, {імя}!", "unknown_placeholder", "{імя}"),
        ("До сплати {amount}", "unknown_placeholder", "{amount}"),
        ("Звернення {ticket", "broken_brace", "{"),
        ("Звернення ticket}", "broken_brace", "}"),
        ("{name {device}}", "broken_brace", "{"),
        ("Звернення {}", "bad_placeholder", "{}"),
        ("{name!r}", "bad_placeholder", "{name!r}"),
        ("{amount_due:>10}", "bad_placeholder", "{amount_due:>10}"),
        ("{name.upper}", "bad_placeholder", "{name.upper}"),
        ("   ", "empty", ""),
        ("x" * 1001, "too_long", ""),
    ],
)
def test_invalid_templates_are_refused_naming_the_problem(
    text: str, reason: str, placeholder: str,
) -> None:
    with pytest.raises(TemplateInvalid) as err:
        validate_text(text)
    assert err.value.reason == reason
    assert err.value.placeholder == placeholder
    assert err.value.code == "template_invalid"


def test_valid_placeholders_and_literal_braces() -> None:
    text = " ".join("{" + p + "}" for p in PLACEHOLDERS) + " {{не плейсхолдер}}"
    assert validate_text(text) == text
    assert placeholders_in(text) == list(PLACEHOLDERS)
    assert render("{{x}} {name}", {"name": "Іван"}) == "{x} Іван"


def test_render_drops_lines_left_empty() -> None:
    text = "Вітаємо, {name}!\nДо сплати: {amount_due}\nАдреса: {address}\nДякуємо"
    assert render(text, {"name": "Іван", "amount_due": "", "address": None}) == \
        "Вітаємо, Іван!\nДякуємо"  # type: ignore[dict-item]
    assert render(text, {"name": "", "amount_due": "10,00 грн", "address": "Соборна 1"}) == \
        "До сплати: 10,00 грн\nАдреса: Соборна 1\nДякуємо"


def test_preview_uses_samples_and_the_shop() -> None:
    text = "{name}: {device} №{ticket}, {amount_due}. {shop}, {address}, {phone}"
    shown = preview(text, "uk", SHOP)
    assert shown.startswith("Олена: Samsung Galaxy A52 №125, 1")
    assert "грн. Майстерня «Гвинтик», вул. Соборна, 12, +380 67 123 4567" in shown
    assert preview("{name}", "ru") == "Елена"
    with pytest.raises(TemplateInvalid):
        preview("{nme}")


def test_amounts_are_formatted_for_people() -> None:
    assert format_amount(120050, "uk").replace("\u00a0", " ").replace("\u202f", " ") == \
        "1 200,50 грн"
    assert format_amount(5, "ru").endswith("0,05 грн")


async def test_seeded_ready_templates(session: AsyncSession) -> None:
    for language, title, words in (
        ("uk", "Можна забирати", "Можна забирати"),
        ("ru", "Можно забирать", "Можно забирать"),
    ):
        template = await default_template(session, "ready", language)
        assert template is not None and template.name == title and template.is_default
        assert words in template.text
        assert {"name", "device", "ticket", "amount_due", "address", "phone"} <= set(
            placeholders_in(template.text))
        validate_text(template.text)
    assert len(await list_templates(session, kind="ready")) == 4
    assert await default_template(session, "reminder", "uk") is not None


async def test_compose_for_a_ticket_in_the_clients_language(session: AsyncSession) -> None:
    master = await make_staff(session)
    client = await make_client(session, name="Іван")
    ticket = await make_ticket(session, master, client)
    composed = await compose_for_ticket(session, ticket.id, kind="ready", shop=SHOP,
                                        amount_due=120000)
    assert composed.language == "uk"
    lines = composed.text.splitlines()
    assert lines[0] == "Вітаємо, Іван!"
    assert f"Apple iPhone 12, звернення №{ticket.number}. Можна забирати." in lines[1]
    assert lines[2].startswith("До сплати: 1") and lines[2].endswith("200,00 грн")
    assert lines[-1] == SHOP.name
    client.language = "ru"
    nothing_due = await compose_for_ticket(session, ticket.id, kind="ready",
                                           shop=ShopInfo("Ремонт"))
    assert nothing_due.language == "ru"
    assert nothing_due.text.splitlines() == [
        "Здравствуйте, Іван!",
        f"Ремонт завершён: Apple iPhone 12, обращение №{ticket.number}. Можно забирать.",
        "Ремонт",
    ]
    with pytest.raises(NotFound):
        await compose_for_ticket(session, ticket.id, kind="nope", shop=SHOP)


async def test_template_crud_and_single_default(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    first = await create_template(session, owner, kind="estimate", language="uk",
                                  name="Кошторис", text="Кошторис: {amount_due}")
    assert first.is_default  # the first of its kind and language
    second = await create_template(session, owner, kind="estimate", language="uk",
                                   name="Кошторис коротко", text="{amount_due}",
                                   is_default=True)
    await session.refresh(first)
    assert second.is_default and not first.is_default
    with pytest.raises(TemplateNameTaken):
        await create_template(session, owner, kind="estimate", language="uk",
                              name="кошторис", text="x")
    with pytest.raises(TemplateInvalid) as err:
        await update_template(session, owner, first.id, text="Сума {sum}")
    assert err.value.placeholder == "{sum}"
    with pytest.raises(InvalidValue):
        await create_template(session, owner, kind="estimate", language="en", name="E",
                              text="x")
    await update_template(session, owner, first.id, name="Повний", make_default=True)
    await session.refresh(second)
    assert first.is_default and not second.is_default and first.name == "Повний"
    await delete_template(session, owner, first.id)
    await session.refresh(second)
    assert second.is_default  # the heir
    found = await default_template(session, "estimate", "ru")  # other language as fallback
    assert found is not None and found.id == second.id


async def test_notification_switches(session: AsyncSession) -> None:
    assert await get_notify_settings(session) == NotifySettings()
    defaults = await get_notify_settings(session)
    assert all(defaults.enabled(k) for k in ("intake", "ready", "status", "estimate",
                                             "reminder", "receipt", "custom"))
    assert defaults.reminder_days == 3
    owner = await make_staff(session, Role.OWNER)
    await set_switch(session, owner, "status", False)
    await set_reminder(session, owner, days=5, max_count=2)
    settings = await get_notify_settings(session)
    assert not settings.status and settings.reminder_days == 5 and settings.reminder_max == 2
    assert not await notification_enabled(session, "status")
    assert (await session.get(Setting, "notify.status")).value is False  # type: ignore[union-attr]
    await set_switch(session, owner, "status", True)
    assert await notification_enabled(session, "status")
    with pytest.raises(InvalidValue):
        await set_switch(session, owner, "receipt", False)
    with pytest.raises(InvalidValue):
        await set_reminder(session, owner, days=0)
    session.add(Setting(key="notify.reminder", value="yes"))  # hand-edited nonsense
    assert (await get_notify_settings(session)).reminder is True


async def test_templates_are_changed_by_owners_and_managers_only(session: AsyncSession) -> None:
    manager = await make_staff(session, Role.MANAGER)
    template = await create_template(session, manager, kind="ready", language="uk",
                                     name="Менеджерський", text="Готово, {name}")
    master = await make_staff(session, Role.MASTER)
    gone = await make_staff(session, Role.OWNER)
    gone.active = False
    for actor in (master, gone):
        with pytest.raises(PermissionDenied):
            await create_template(session, actor, kind="ready", language="uk", name="Ні",
                                  text="x")
        with pytest.raises(PermissionDenied):
            await update_template(session, actor, template.id, text="Змінено",
                                  make_default=True)
        with pytest.raises(PermissionDenied):
            await delete_template(session, actor, template.id)
    with pytest.raises(PermissionDenied) as err:
        await update_template(session, master, template.id, name="x")
    assert err.value.params["needs"] == "manager"
    kept = await get_template(session, template.id)
    assert (kept.name, kept.text) == ("Менеджерський", "Готово, {name}")
    assert [t.name for t in await list_templates(session, kind="ready", language="uk")
            ].count("Ні") == 0


async def test_switches_are_for_the_owner_only(session: AsyncSession) -> None:
    for role in (Role.MANAGER, Role.MASTER):
        actor = await make_staff(session, role)
        with pytest.raises(PermissionDenied) as err:
            await set_switch(session, actor, "status", False)
        assert err.value.params["needs"] == "owner"
        with pytest.raises(PermissionDenied):
            await toggle_switch(session, actor, "status")
        with pytest.raises(PermissionDenied):
            await set_reminder(session, actor, days=5)
        with pytest.raises(PermissionDenied):
            await step_reminder(session, actor, days=1)
    assert await get_notify_settings(session) == NotifySettings()


async def test_toggle_and_step_stay_within_bounds(session: AsyncSession) -> None:
    owner = await make_staff(session, Role.OWNER)
    assert await toggle_switch(session, owner, "intake") is False
    assert await toggle_switch(session, owner, "intake") is True
    with pytest.raises(InvalidValue):
        await toggle_switch(session, owner, "receipt")  # always on: no switch
    await step_reminder(session, owner, days=-1)
    await step_reminder(session, owner, days=-1)
    await step_reminder(session, owner, days=-1)  # at 1 already: stays
    await step_reminder(session, owner, max_count=1)
    settings = await get_notify_settings(session)
    assert (settings.reminder_days, settings.reminder_max) == (1, 4)
