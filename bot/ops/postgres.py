"""pg_dump / pg_restore for a PostgreSQL DATABASE_URL: the libpq URL without the password
(it goes in PGPASSWORD, never on a command line that `ps` shows), and the two commands."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from bot.ops.errors import BackupError

# asyncpg's URL options that libpq understands (under another name for `ssl`).
_LIBPQ_QUERY = {"ssl": "sslmode", "sslmode": "sslmode", "sslrootcert": "sslrootcert",
                "sslcert": "sslcert", "sslkey": "sslkey", "host": "host", "port": "port",
                "application_name": "application_name", "connect_timeout": "connect_timeout"}


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """(libpq URL without the password, environment with PGPASSWORD) for DATABASE_URL."""
    url = make_url(database_url)
    query: dict[str, str] = {}
    for key, value in url.query.items():
        if key in _LIBPQ_QUERY:
            query[_LIBPQ_QUERY[key]] = value if isinstance(value, str) else value[-1]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                       database=url.database, query=query)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError("tool_missing", f"{name} is not installed (apt install "
                          f"postgresql-client, the same major version as the server)")
    return path


async def _run(*args: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        raise BackupError("failed", f"{Path(args[0]).name} exited with {process.returncode}: "
                          + " | ".join(tail))
    return out.decode(errors="replace")


async def dump(database_url: str, target: Path) -> None:
    """A consistent snapshot (pg_dump runs in one repeatable-read transaction, so writes that
    commit meanwhile are either wholly in it or not at all), custom format (compressed)."""
    url, env = libpq_target(database_url)
    await _run(_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
               f"--file={target}", f"--dbname={url}", env=env)


async def archive_tables(source: Path) -> set[str]:
    """Table names in a custom-format archive (also proves it is one)."""
    listing = await _run(_tool("pg_restore"), "--list", str(source), env=dict(os.environ))
    tables = set()
    for line in listing.splitlines():
        parts = line.split()
        # "215; 1259 16390 TABLE public clients postgres"
        if len(parts) >= 6 and parts[3] == "TABLE" and not line.startswith(";"):
            tables.add(parts[5])
    return tables


async def load(database_url: str, source: Path) -> None:
    """Restore the archive in one transaction: --clean drops the archive's objects first, so a
    failure leaves the database as it was."""
    url, env = libpq_target(database_url)
    await _run(_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
               "--single-transaction", "--exit-on-error", f"--dbname={url}", str(source),
               env=env)
