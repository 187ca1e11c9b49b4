"""Staff side of client notifications (issue 7): templates, "notify?" prompt, delivery state.
Filled in by the notifications UI work."""

from __future__ import annotations

from aiogram import Router

from bot.config import Settings


def setup(settings: Settings) -> Router:
    return Router(name="notify")
