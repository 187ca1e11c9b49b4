"""Logging for operators: one line per event, as text or JSON (LOG_FORMAT), carrying the update
id, the user and the ticket number of the update being handled when they are known."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Set per update by the middlewares (update, user) and by whatever opens a ticket (ticket).
_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)
FIELDS = ("update_id", "user_id", "ticket", "incident")


def bind(**values: Any) -> None:
    """Add fields to the current update's log context (a copy: other tasks are unaffected)."""
    _context.set({**(_context.get() or {}), **values})


@contextmanager
def scope(**values: Any) -> Iterator[None]:
    """The log context of one update: `values` inside, the previous context after."""
    token = _context.set(dict(values))
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, Any]:
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    """Puts the update's fields on every record (absent ones as None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({name: value for name in FIELDS
                      if (value := getattr(record, name, None)) is not None})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(where)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"{name}={value}" for name in FIELDS
                 if (value := getattr(record, name, None)) is not None]
        record.where = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


def setup_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # one line per update: noise
