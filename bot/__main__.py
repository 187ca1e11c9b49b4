"""`python -m bot` runs the bot; `python -m bot migrate` only applies migrations;
`backup FILE`, `restore FILE [--force]` and `import FILE [--yes]` are bot/ops/cli.py."""

from __future__ import annotations

import gc

if __name__ == "__main__":
    # No collections while the process starts: every full one walks the whole heap as it
    # grows to ~290,000 objects of modules, models and routers, almost none of them garbage
    # (4 of them took 0.3-0.8 s of a 3 s start here). bot.app.settle_heap freezes that heap
    # and switches the collector back on once the bot is up; the other commands switch it
    # back on at once. Importing this module (tests, bench.app_runner) leaves it alone.
    gc.disable()

import asyncio
import logging
import sys

from bot.config import ConfigError, load_settings
from bot.logs import setup_logging


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        setup_logging(settings.log_format)
        if argv:
            gc.enable()
        if argv[:1] == ["migrate"]:
            from db.engine import create_engine
            from db.migrate import upgrade

            async def migrate() -> None:
                engine = create_engine(settings.database_url)
                try:
                    await upgrade(engine)
                finally:
                    await engine.dispose()

            asyncio.run(migrate())
            print("database is up to date")
            return 0
        if argv[:1] and argv[0] in ("backup", "restore", "import"):
            from bot.ops.cli import run_command

            return run_command(settings, argv)
        if argv:
            print(f"unknown command {argv[0]!r}; use: python -m bot "
                  "[migrate | backup FILE | restore FILE [--force] | import FILE [--yes]]",
                  file=sys.stderr)
            return 2
        settings.require_token()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from bot.app import run

    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
