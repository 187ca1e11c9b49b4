"""`python -m bot backup FILE | restore FILE [--force] | import FILE [--yes]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.config import Settings
from bot.ops.backup import backup, restore
from bot.ops.errors import BackupError
from bot.ops.import_file import ImportFileError, LoadedFile, load_path
from db.desk.bulk_import import ImportSummary, apply_import, preview_import
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade

COMMANDS = ("backup", "restore", "import")
SHOWN_REFUSALS = 50


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("backup", help="write a consistent snapshot of the database to FILE"
                        ).add_argument("file", type=Path)
    restore_cmd = commands.add_parser(
        "restore", help="load FILE into an empty database, then migrate it to the newest schema")
    restore_cmd.add_argument("file", type=Path)
    restore_cmd.add_argument("--force", action="store_true",
                             help="replace the data of a database that is not empty")
    import_cmd = commands.add_parser("import", help="import clients and devices from CSV/XLSX")
    import_cmd.add_argument("file", type=Path)
    import_cmd.add_argument("--yes", action="store_true", help="import without asking")
    return parser


def mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


async def _backup(settings: Settings, file: Path) -> None:
    info = await backup(settings.database_url, file)
    print(f"backup written: {info.path} ({mb(info.size)}, {info.seconds:.1f} s)")


async def _restore(settings: Settings, file: Path, force: bool) -> None:
    info = await restore(settings.database_url, file, force=force)
    print(f"restored {sum(info.rows.values())} rows in {len(info.rows)} tables "
          f"({info.seconds:.1f} s); the schema is up to date")


def describe(summary: ImportSummary, loaded: LoadedFile) -> list[str]:
    lines = [f"columns: {', '.join(f'{k}={v!r}' for k, v in loaded.columns.headers.items())}"]
    if loaded.columns.ignored:
        lines.append(f"ignored columns: {', '.join(loaded.columns.ignored)}")
    lines += [
        f"rows: {summary.rows} ({summary.blank} blank), to import: {summary.importable}, "
        f"refused: {len(summary.refused)}, same phone as an earlier row: {summary.folded}",
        f"clients: {summary.clients_new} new, {summary.clients_merged} already known "
        f"({summary.clients_filled} get new data)",
        f"devices: {summary.devices_new} new, {summary.devices_known} already known",
    ]
    lines += [f"  line {r.line}: {r.reason} ({r.field}={r.value!r})"
              for r in summary.refused[:SHOWN_REFUSALS]]
    if len(summary.refused) > SHOWN_REFUSALS:
        lines.append(f"  … and {len(summary.refused) - SHOWN_REFUSALS} more")
    return lines


async def _import(settings: Settings, file: Path, yes: bool) -> int:
    loaded = await asyncio.to_thread(load_path, file, settings.default_region)
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        factory = create_session_factory(engine)
        async with factory() as session:
            print("\n".join(describe(await preview_import(session, loaded.parsed), loaded)))
            await session.rollback()
        if not loaded.parsed.clients:
            print("nothing to import")
            return 1
        if not yes and not _confirmed():
            print("nothing imported")
            return 1
        async with factory() as session, session.begin():
            summary = await apply_import(session, None, loaded.parsed, source=file.name)
        print(f"imported: {summary.clients_new} new clients, {summary.clients_filled} updated, "
              f"{summary.devices_new} devices")
        return 0
    finally:
        await engine.dispose()


def _confirmed() -> bool:
    if not sys.stdin.isatty():
        print("add --yes to import without a terminal")
        return False
    return input("import? [y/N] ").strip().casefold() in {"y", "yes", "д", "да", "т", "так"}


def run_command(settings: Settings, argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "backup":
            asyncio.run(_backup(settings, args.file))
        elif args.command == "restore":
            asyncio.run(_restore(settings, args.file, args.force))
        else:
            return asyncio.run(_import(settings, args.file, args.yes))
    except (BackupError, ImportFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file", file=sys.stderr)
        return 1
    return 0
