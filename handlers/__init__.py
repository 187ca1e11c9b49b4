"""Telegram UI: module-level handlers, each module's thin `setup()` registering them on a fresh
router; the router tree is handlers/routers.py."""
