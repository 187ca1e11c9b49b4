"""Application settings from the environment and `.env` (pydantic-settings).

Every setting named in DESIGN.md lives here with its default; `.env.example` mirrors this file.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from db.notify.templates import ShopInfo

DATA_DIR = Path("data")
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{DATA_DIR / 'bot.sqlite3'}"
# Telegram tokens are "<bot id>:<35 chars>"; the emulators in tests use the same shape.
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,}$")
LANGUAGES = ("ru", "uk")
WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{32,256}")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = SecretStr("")
    telegram_api_url: str = ""
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = ""
    owner_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: str = "Europe/Kyiv"
    default_region: str = "UA"
    default_language: Literal["ru", "uk"] = "ru"
    client_language: Literal["ru", "uk"] = "uk"
    shop_name: str = "Сервисный центр"
    shop_address: str = ""
    shop_phone: str = ""
    shop_hours: str = ""
    warranty_days: int = Field(default=30, ge=0, le=3650)
    invite_ttl_hours: int = Field(default=48, ge=1, le=24 * 30)
    # Non-staff updates handled per window (bot/throttle.py); 0 = no throttling.
    throttle_updates: int = Field(default=30, ge=0, le=100_000)
    throttle_window: int = Field(default=60, ge=1, le=24 * 3600)

    fiscal_provider: Literal["none", "checkbox"] = "none"
    checkbox_api_url: str = "https://api.checkbox.ua/api/v1"
    checkbox_license_key: SecretStr = SecretStr("")
    checkbox_pin_code: SecretStr = SecretStr("")

    sms_provider: Literal["none", "log", "turbosms", "smsfly"] = "log"
    turbosms_token: SecretStr = SecretStr("")
    turbosms_sender: str = ""
    turbosms_api_url: str = "https://api.turbosms.ua"
    smsfly_api_key: SecretStr = SecretStr("")
    smsfly_sender: str = ""
    smsfly_api_url: str = "https://sms-fly.ua/api/v2/api.php"

    shift_autoclose_at: str = "23:50"
    # How often each instance checks whether the owners' daily digest is due (it is claimed in
    # the database, so it goes once whichever instance checks first).
    digest_check_seconds: int = Field(default=300, ge=1, le=3600)

    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_listen: str = "0.0.0.0:8080"
    # The app's own web server (health, status pages) in polling mode; empty = none. In
    # webhook mode these routes are served on WEBHOOK_LISTEN.
    web_listen: str = ""
    # Where the app's web server is reachable from outside (status links in SMS and QR codes
    # open its status page); empty = Telegram links.
    public_url: str = ""
    log_format: Literal["text", "json"] = "text"

    # Daily backup into this folder (empty = off) at BACKUP_AT shop time, keeping the newest
    # BACKUP_KEEP files (bot/ops/backup.py; `python -m bot backup FILE` works regardless).
    backup_dir: str = ""
    backup_at: str = "03:30"
    backup_keep: int = Field(default=14, ge=1, le=3650)

    @field_validator("owner_ids", mode="before")
    @classmethod
    def _split_owner_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s;]+", value.strip()) if p]
            bad = [p for p in parts if not p.isdigit()]
            if bad:
                raise ValueError(f"Telegram user ids are numbers, got {', '.join(bad)!r}")
            return [int(p) for p in parts]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, e.g. Europe/Kyiv") from exc
        return value

    @field_validator("default_region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}, e.g. UA")
        return value

    @field_validator("shift_autoclose_at", "backup_at")
    @classmethod
    def _check_autoclose(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"expected HH:MM or empty, got {value!r}")
        return value

    @model_validator(mode="after")
    def _check_fiscal(self) -> Settings:
        if self.fiscal_provider == "checkbox":
            for name in ("checkbox_license_key", "checkbox_pin_code"):
                if not getattr(self, name).get_secret_value():
                    raise ValueError(f"{name.upper()} is required when FISCAL_PROVIDER=checkbox")
        return self

    @model_validator(mode="after")
    def _check_webhook(self) -> Settings:
        """Without a secret anyone who finds the webhook URL can post updates "from" the
        owner; Telegram sends it back in X-Telegram-Bot-Api-Secret-Token."""
        if not self.webhook_url:
            return self
        secret = self.webhook_secret.get_secret_value()
        if not WEBHOOK_SECRET_RE.fullmatch(secret):
            raise ValueError(
                "WEBHOOK_SECRET is required when WEBHOOK_URL is set: 32-256 characters of "
                "A-Z a-z 0-9 _ - (python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        return self

    @property
    def shop(self) -> ShopInfo:
        """The shop as clients see it (message templates, receipts)."""
        return ShopInfo(self.shop_name, self.shop_address, self.shop_phone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def autoclose_time(self) -> time | None:
        if not self.shift_autoclose_at:
            return None
        hours, minutes = self.shift_autoclose_at.split(":")
        return time(int(hours), int(minutes))

    @property
    def backup_time(self) -> time | None:
        """When the daily backup runs (shop time); None when BACKUP_DIR or BACKUP_AT is empty."""
        if not self.backup_dir.strip() or not self.backup_at:
            return None
        hours, minutes = self.backup_at.split(":")
        return time(int(hours), int(minutes))

    def require_token(self) -> str:
        if not self.bot_token.get_secret_value():
            raise ConfigError(
                "BOT_TOKEN is not set: put the token from @BotFather into BOT_TOKEN "
                "(environment or .env)"
            )
        if not TOKEN_RE.match(token := self.bot_token.get_secret_value()):
            raise ConfigError(
                "BOT_TOKEN is malformed: expected '<digits>:<secret>' as given by @BotFather"
            )
        return token


def load_settings(**overrides: Any) -> Settings:
    """Read settings; turn pydantic's report into one line naming the bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper()
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if name else message)
        raise ConfigError("Invalid settings: " + "; ".join(problems)) from None
