"""`python -m bot` with a SQL statement counter: the application process of bench.interactions.

    BOT_TOKEN=... TELEGRAM_API_URL=... DATABASE_URL=... OWNER_IDS=... \\
        .venv/bin/python -m bench.app_runner

It runs `bot.__main__.main` unchanged — the same settings, logging, `bot.app.run` (start,
workers and scheduler, polling, SIGTERM) — with one difference: the Application class it
builds installs a `before_cursor_execute` listener on `app.engine.sync_engine` right after
`start()` created the engine. Statements are attributed to the asyncio task that ran them:
the poller handles every update in a task named `update-<id>` (bot/polling.py), so when such a
task ends the runner prints one JSON line on stdout:

    {"update": 17, "queries": 12}

BEGIN is not counted (see `_executing`). At exit it prints {"totals": {<task name or
"other">: statements}} (workers, scheduler; start-up is not counted). Logs go to stderr as
usual. With BENCH_SQL_LOG=<file> every statement is also written there as
"<task name>\\t<ms>\\t<SQL on one line>" (what an interaction runs and how long each statement
took, cursor execute to its return, the driver's thread hop included).
"""

from __future__ import annotations

import gc

if __name__ == "__main__":
    gc.disable()  # as `python -m bot` starts (bot/__main__.py); bot.app.settle_heap ends it

import asyncio
import functools
import json
import os
import sys
import time
from collections import Counter
from typing import Any, TextIO

from sqlalchemy import event
from sqlalchemy.engine import Engine

import bot.app
from bot.__main__ import main as bot_main

UPDATE_TASK = "update-"


class QueryCounter:
    def __init__(self, engine: Engine, sql_log: TextIO | None = None) -> None:
        self.by_task: Counter[str] = Counter()
        self.sql_log = sql_log
        event.listen(engine, "before_cursor_execute", self._executing)
        if sql_log is not None:
            event.listen(engine, "after_cursor_execute", self._executed)

    def _executing(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            # SQLite's BEGIN IMMEDIATE (db/engine.py) is a statement, PostgreSQL's BEGIN is
            # not (asyncpg starts transactions itself): leave both out, count alike.
            return
        # Runs synchronously inside the awaiting task (SQLAlchemy's greenlet bridge), so the
        # current task is the one that issued the statement.
        task = _current_task()
        name = task.get_name() if task is not None else "other"
        if not name.startswith(UPDATE_TASK):
            name = "other" if task is None else name.split("-")[0]
        elif name not in self.by_task and task is not None:
            task.add_done_callback(functools.partial(self._finished, name))
        self.by_task[name] += 1
        if self.sql_log is not None:
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _executed(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        started = conn.info.get("bench_started")
        if not started or self.sql_log is None:
            return
        elapsed = (time.perf_counter() - started.pop()) * 1000
        task = _current_task()
        name = task.get_name() if task is not None else "other"
        self.sql_log.write(f"{name}\t{elapsed:.2f}\t{' '.join(statement.split())}\n")

    def _finished(self, name: str, _task: asyncio.Task[Any]) -> None:
        update_id = int(name.removeprefix(UPDATE_TASK))
        print(json.dumps({"update": update_id, "queries": self.by_task[name]}), flush=True)

    def totals(self) -> dict[str, int]:
        grouped: Counter[str] = Counter()
        for name, count in self.by_task.items():
            grouped["updates" if name.startswith(UPDATE_TASK) else name] += count
        return dict(grouped)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop (a thread of the driver)
        return None


class CountingApplication(bot.app.Application):
    counter: QueryCounter | None = None
    sql_log: TextIO | None = None  # opened by main(), before the loop runs

    async def start(self) -> None:
        await super().start()
        assert self.engine is not None
        self.counter = QueryCounter(self.engine.sync_engine, self.sql_log)

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            if self.counter is not None:
                print(json.dumps({"totals": self.counter.totals()}), flush=True)
                if self.counter.sql_log is not None:
                    self.counter.sql_log.close()


def main() -> int:
    # bot.app.run builds `Application(settings)`: point the name at the counting subclass so
    # everything else is exactly what `python -m bot` runs.
    bot.app.Application = CountingApplication  # type: ignore[misc]
    if path := os.environ.get("BENCH_SQL_LOG"):
        CountingApplication.sql_log = open(path, "a", encoding="utf-8")
    return bot_main([])


if __name__ == "__main__":
    sys.exit(main())
