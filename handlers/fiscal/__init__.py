"""Fiscal side (issue 5): /shift with X and Z reports, receipts for people, fiscal error notices.
Filled in by the fiscal work."""

from __future__ import annotations

from aiogram import Router

from bot.config import Settings


def setup(settings: Settings) -> Router:
    return Router(name="fiscal")
