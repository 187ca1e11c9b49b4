"""Settings: defaults, .env.example completeness, clear one-line errors at start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields
           and k.lower() not in Settings.model_fields}
    env.update(extra)
    return env


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z_]+)=", text, flags=re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_env_example_defaults_match(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name, value in re.findall(r"^([A-Z_]+)=(.*)$", text, flags=re.M):
        current = getattr(defaults, name.lower())
        shown = ",".join(map(str, current)) if isinstance(current, list) else str(current)
        assert shown == value, name


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("TIMEZONE", "Mars/Base", "TIMEZONE"),
        ("OWNER_IDS", "abc", "OWNER_IDS"),
        ("DEFAULT_REGION", "XX", "DEFAULT_REGION"),
        ("SHIFT_AUTOCLOSE_AT", "25:99", "SHIFT_AUTOCLOSE_AT"),
        ("FISCAL_PROVIDER", "paper", "FISCAL_PROVIDER"),
        ("FISCAL_PROVIDER", "checkbox", "CHECKBOX_LICENSE_KEY"),
        ("SMS_PROVIDER", "pigeon", "SMS_PROVIDER"),
        ("DEFAULT_LANGUAGE", "en", "DEFAULT_LANGUAGE"),
        ("WEBHOOK_URL", "https://example.com/hook", "WEBHOOK_SECRET is required"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT"),
    ],
)
def test_invalid_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert fragment in str(info.value)


def test_owner_ids_and_autoclose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OWNER_IDS", "11, 22;33")
    monkeypatch.setenv("SHIFT_AUTOCLOSE_AT", "")
    settings = load_settings(_env_file=None)
    assert settings.owner_ids == [11, 22, 33] and settings.autoclose_time is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN is malformed"),
        ({"BOT_TOKEN": "1:" + "a" * 35, "TIMEZONE": "Mars/Base"}, "TIMEZONE"),
        ({"BOT_TOKEN": "1:" + "a" * 35, "OWNER_IDS": "abc"}, "OWNER_IDS"),
    ],
)
def test_python_m_bot_fails_with_one_line(tmp_path: Path, env: dict[str, str],
                                          message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=_clean_env(PYTHONPATH=str(ROOT), **env),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"], cwd=tmp_path,
        env=_clean_env(PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "bot.sqlite3").exists()


@pytest.mark.parametrize("secret", ["", "short", "x" * 31, "has spaces in it and is long enough!!"])
def test_webhook_mode_needs_a_real_secret(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://example.com/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert "WEBHOOK_SECRET" in str(info.value) and "\n" not in str(info.value)


def test_secrets_are_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "42:TESTTOKEN_abcdefghijklmnopqrstuvwxyz0123")
    monkeypatch.setenv("CHECKBOX_PIN_CODE", "1234")
    settings = load_settings(_env_file=None)
    assert "TESTTOKEN" not in repr(settings) and "1234" not in repr(settings)
    assert settings.require_token().endswith("0123")
