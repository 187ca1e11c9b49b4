"""What an operation refuses, with a stable `code` (the chat translates it; the CLI prints the
English detail)."""

from __future__ import annotations


class BackupError(Exception):
    """`code`: tool_missing, failed, unsupported, not_empty, wrong_kind, not_a_backup,
    newer_schema."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
