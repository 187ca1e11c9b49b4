"""Where an update's time goes, without HTTP: the app's own Dispatcher next to a bare one.

    .venv/bin/python -m bench.update_costs --url DATABASE_URL [--n 300] [--owner 5000001]
                                           [--seed 1] [--parts]

In one process and one event loop: the app's Dispatcher as bot.app.build_dispatcher builds it
(its middlewares, router tree and database storage, on DATABASE_URL) and a bare aiogram echo
Dispatcher, both answering through tests.mocked_bot's recording session (Telegram's checks, no
network). Each typed interaction of bench.interactions (phone, last 4 digits, IMEI part, #N,
/ticket N, /today) is fed as a real Update to the app and right after to the echo, `n` times;
printed: the median of each (the first 10 % left out) and the ratio. With --parts, the app's time
inside its main steps per update, measured by wrapping those functions (inclusive: a step's
time also counts in the steps that call it).

Not the benchmark of record (bench.interactions is: the real process over HTTP, against the
echo as its own process); this one leaves out the network, the poller and the process, so a
change inside an update shows without their noise. Phones and tickets are picked as
bench.interactions picks them (which may add the quotes that benchmark pays); the interactions
themselves only read. Update ids are random, far above those the emulator hands out.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import inspect
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from aiogram import Dispatcher, F
from aiogram.types import Message, Update

from bench.interactions import national, prepare
from bot.app import build_dispatcher, make_services, make_storage
from bot.config import Settings
from bot.i18n import make_i18n
from bot.unit_of_work import CommitBeforeSpeaking
from db.engine import create_engine, create_session_factory
from tests.mocked_bot import MockedBot, make_message_update

# (module, attribute) of the steps --parts times, in the order an update meets them.
PARTS = (
    ("bot.middlewares", "DbSessionMiddleware._in_transaction"),
    ("bot.middlewares", "DbSessionMiddleware._applied_before"),
    ("bot.fsm_storage", "DatabaseStorage.get_state"),
    ("bot.middlewares", "ensure_owners"),
    ("aiogram.dispatcher.event.handler", "HandlerObject.check"),
    ("handlers.clients", "search_clients"),
    ("handlers.clients", "show_client"),
    ("handlers.tickets", "open_by_number"),
    ("handlers.tickets", "ticket_card_by_number"),
    ("handlers.ticket_card", "render_ticket"),
    ("handlers.reports.today", "today_command"),
    ("handlers.ticket_card", "edit_or_send"),  # imported by name: wrapped where it is called
    ("handlers.clients", "edit_or_send"),
    ("bot.unit_of_work", "UnitOfWork.release"),
    ("bot.unit_of_work", "UnitOfWork.commit"),
    ("tests.mocked_bot", "RecordingSession.make_request"),
)


class Parts:
    """Time spent inside the wrapped functions, by name."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.on = False
        self._originals: list[tuple[Any, str, Any]] = []

    def unwrap(self) -> None:
        for owner, name, original in reversed(self._originals):
            setattr(owner, name, original)
        self._originals.clear()

    def wrap(self, module: str, attribute: str) -> None:
        owner: Any = importlib.import_module(module)
        *path, name = attribute.split(".")
        for step in path:
            owner = getattr(owner, step)
        original = getattr(owner, name)
        if not inspect.iscoroutinefunction(original):
            raise SystemExit(f"{module}.{attribute} is not a coroutine function")

        @functools.wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                if self.on:
                    self.seconds[attribute] += time.perf_counter() - started
                    self.calls[attribute] += 1

        self._originals.append((owner, name, original))
        setattr(owner, name, timed)

    def report(self, updates: int) -> list[str]:
        lines = []
        for name, seconds in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {name:45} {seconds / updates * 1000:7.3f} ms"
                         f"  ({self.calls[name] / updates:.1f} calls) per update")
        self.seconds.clear()
        self.calls.clear()
        return lines


def echo_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    return dp


async def run(args: argparse.Namespace) -> None:
    parts = Parts() if args.parts else None
    try:
        if parts is not None:
            for module, attribute in PARTS:
                parts.wrap(module, attribute)
        await _measure(args, parts)
    finally:
        if parts is not None:
            parts.unwrap()


async def _measure(args: argparse.Namespace, parts: Parts | None) -> None:
    prepared = await prepare(args.url, args.owner, args.n, args.seed)
    settings = Settings(database_url=args.url, owner_ids=[args.owner], bot_token="42:TEST")
    engine = create_engine(args.url)
    factory = create_session_factory(engine)
    app_bot, echo_bot = MockedBot(), MockedBot()
    app_bot.session.middleware(CommitBeforeSpeaking())
    app = build_dispatcher(settings, factory, make_i18n(settings.default_language),
                           make_storage(settings, factory), make_services(settings, factory))
    echo = echo_dispatcher()
    texts: dict[str, Callable[[int], str]] = {
        "phone": lambda i: national(prepared.targets[i].phone),
        "last 4 digits": lambda i: prepared.targets[i].phone[-4:],
        "IMEI part": lambda i: prepared.targets[i].imei_part,
        "#N": lambda i: f"#{prepared.targets[i].number}",
        "/ticket N": lambda i: f"/ticket {prepared.targets[i].number}",
        "/today": lambda i: "/today",
    }
    update_id = random.randint(10**9, 2 * 10**9)
    print(f"n = {args.n} per interaction ({args.url})")
    for name, text in texts.items():
        spent: dict[str, list[float]] = {"app": [], "echo": []}
        for i in range(args.n):
            measured = i >= args.n // 10
            for side, dp, bot in (("app", app, app_bot), ("echo", echo, echo_bot)):
                update_id += 1
                update = _update(text(i), args.owner, update_id)
                if parts is not None:
                    parts.on = measured and side == "app"
                started = time.perf_counter()
                await dp.feed_update(bot, update)
                spent[side].append(time.perf_counter() - started)
                bot.session.clear()
        app_ms, echo_ms = (statistics.median(spent[s][args.n // 10:]) * 1000
                           for s in ("app", "echo"))
        print(f"{name:14} app {app_ms:6.2f} ms   echo {echo_ms:5.2f} ms   ×{app_ms / echo_ms:5.1f}")
        if parts is not None:
            print("\n".join(parts.report(args.n - args.n // 10)))
    await engine.dispose()


def _update(text: str, user_id: int, update_id: int) -> Update:
    return make_message_update(text, user_id=user_id).model_copy(update={"update_id": update_id})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--owner", type=int, default=5_000_001)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--parts", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
