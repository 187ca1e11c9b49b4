"""Deployment files (Docker cannot run here): every environment variable they pass is a setting,
the image runs as a non-root user with compiled catalogs and stops on SIGTERM, the compose
file and the systemd unit have what a graceful restart needs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {name.upper() for name in Settings.model_fields}
# Python's and pip's own variables, not the bot's settings.
RUNTIME = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR",
           "PIP_DISABLE_PIP_VERSION_CHECK"}


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _sep, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def env_names(arguments: str) -> set[str]:
    """ENV A=1 B="x y"  or  ENV A 1"""
    parts = shlex.split(arguments)
    if parts and "=" not in parts[0]:
        return {parts[0]}
    return {part.split("=", 1)[0] for part in parts}


def test_dockerfile_env_settings_user_catalogs_signal_health() -> None:
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    passed = set().union(*(env_names(args) for word, args in steps if word == "ENV"))
    assert passed - RUNTIME <= SETTINGS, passed - RUNTIME - SETTINGS
    assert "WEB_LISTEN" in passed
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1] not in {"root", "0", "0:0"}
    runs = [args for word, args in steps if word == "RUN"]
    assert any("python -m bot.i18n" in run for run in runs)
    compiled = next(i for i, (w, a) in enumerate(steps) if "python -m bot.i18n" in a)
    assert compiled > max(i for i, (w, _a) in enumerate(steps) if w == "COPY")
    # /app is read-only at run time: the bytecode of every copied package is built here.
    packages = {a.split()[0] for w, a in steps if w == "COPY" and (ROOT / a.split()[0]).is_dir()}
    bytecode = next(a for w, a in steps if w == "RUN" and "compileall" in a)
    assert packages <= set(bytecode.split("compileall", 1)[1].split()), packages
    assert ("STOPSIGNAL", "SIGTERM") in steps
    health = next(args for word, args in steps if word == "HEALTHCHECK")
    assert "/healthz" in health and "urllib.request" in health and "curl" not in health
    assert set(re.findall(r"os\.environ\.get\('([A-Z_]+)'", health)) <= SETTINGS
    assert ("VOLUME", '["/app/data"]') in steps
    assert steps[-1] == ("CMD", '["python", "-m", "bot"]')


def test_dockerignore_keeps_secrets_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".git", "data"} <= set(ignored)


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_env_is_settings_and_services_are_healthy() -> None:
    services = compose()["services"]
    bot = services["bot"]
    assert set(bot["environment"]) <= SETTINGS, set(bot["environment"]) - SETTINGS
    assert bot["env_file"] == ["../.env"] and bot["build"]["context"] == ".."
    assert "/app/data" in " ".join(bot["volumes"])
    assert bot["stop_grace_period"] == "60s"
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
    assert bot["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert {name: dep["condition"] for name, dep in bot["depends_on"].items()} == {
        "postgres": "service_healthy", "redis": "service_healthy"}
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
        assert services[name]["stop_grace_period"]
    named = {v.split(":", 1)[0] for s in services.values() for v in s.get("volumes", [])}
    assert named <= set(compose()["volumes"])


def unit() -> dict[str, list[str]]:
    """systemd's "Key=value" lines of [Service] (keys may repeat)."""
    service: dict[str, list[str]] = {}
    section = ""
    for line in (ROOT / "deploy" / "servicedesk-bot.service").read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            service.setdefault(key, []).append(value)
    return service


def test_systemd_unit() -> None:
    service = unit()
    assert service["Restart"] == ["on-failure"] and service["KillSignal"] == ["SIGTERM"]
    assert int(service["TimeoutStopSec"][0]) >= 60
    assert service["WorkingDirectory"] and service["EnvironmentFile"]
    assert service["ExecStart"][0].endswith("python -m bot")
    passed = {value.split("=", 1)[0] for entry in service.get("Environment", [])
              for value in shlex.split(entry)}
    assert passed - RUNTIME <= SETTINGS
