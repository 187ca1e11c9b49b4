"""How fast the real app answers the desk's everyday interactions, next to a bare echo bot.

    .venv/bin/python -m bench.interactions --url DATABASE_URL [--n 100] [--warmup 3]
                                           [--owner 5000001] [--seed 1] [--sql-log FILE]

Two processes poll two instances of the project's Bot API emulator (tests/emulators, with a
clock: bench/timed_emulator.py) in this process over HTTP: the application as `python -m bot`
runs it (bench/app_runner.py: DATABASE_URL, OWNER_IDS, ...) and a bare aiogram echo bot
(bench/echo_bot.py). As the owner, each iteration sends to the app

    the phone "067 123 45 67" of an existing client · its last 4 digits · #N · /ticket N ·
    /today · then taps 💳 Оплатить, Карта, ✅ Оплачено on that card (a ticket with one
    unpaid receipt)

and right after each one the same interaction to the echo bot (the same text; a tap on its
button), so both share the machine's load of the moment; which of the two goes first
alternates between iterations. Before the first iteration the database gets `n + warmup`
fresh unpaid receipts (the app's own intake and receipt functions, as the owner), and a shift
left open more than 24 h ago is closed with its Z-report (it would refuse payments).

Measured (definitions in bench/README.md): latency from the update being queued in the
emulator to the arrival of the bot's answer (a text: the first send/edit in the chat; a tap:
the later of the edit and answerCallbackQuery; the echo bot only answers the callback), SQL
statements per update (the app's engine, bench/app_runner.py), Bot API calls per interaction,
cold start (process start to the first getUpdates) and RSS after the run (VmRSS; VmHWM is
the peak). The table is printed and written as markdown to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import json
import os
import platform
import random
import secrets
import signal
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bench.timed_emulator import TimedEmulator, run_timed_emulator
from db.desk.clients import get_client
from db.desk.models import CLOSED_STATUS_KINDS, Client, Device, Staff, Status, Ticket
from db.desk.phones import format_phone
from db.desk.tickets import NewDevice, TicketDraft, open_ticket
from db.engine import create_engine, create_session_factory
from db.money.models import Receipt, ReceiptKind, ReceiptStatus, Service
from db.money.receipts import add_service_line, create_receipt
from db.money.shifts import close_shift, current_shift, shift_is_stale
from tests.emulators.telegram import BotMessage, SimUser

ROOT = Path(__file__).resolve().parent.parent
UPDATE_TASK = "update-"  # bot/polling.py names each update's task so (bench/app_runner.py)
RESULTS = ROOT / "bench" / "results"
TIMEOUT = 120.0  # seconds for one answer: a slow path must show up, not hang the run
START_TIMEOUT = 180.0


class BenchError(Exception):
    """The app answered something else than the interaction's screen."""


# -- the data an iteration uses -------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    phone: str  # E.164 of an existing client
    number: int  # a ticket with exactly one unpaid receipt
    imei_part: str  # 8 digits from inside a device's IMEI (no phone ends in them)
    imei_phone: str  # the phone of that device's client


@dataclass
class Prepared:
    targets: list[Target]
    created_receipts: int
    sizes: dict[str, int]
    staff_tg: list[int]  # their chats are open (the app sets their commands at start)


def national(e164: str) -> str:
    """+380671234567 → "067 123 45 67", the way the desk types it."""
    d = "0" + e164.removeprefix("+380")
    return f"{d[:3]} {d[3:6]} {d[6:8]} {d[8:]}"


async def _owner(session: AsyncSession, tg_user_id: int) -> Staff:
    owner = await session.scalar(select(Staff).where(Staff.tg_user_id == tg_user_id))
    if owner is None:
        raise SystemExit(f"no staff with tg_user_id {tg_user_id}: generate the database with "
                         "bench.generate or pass --owner")
    return owner


async def _payable_tickets(session: AsyncSession) -> list[int]:
    """Open tickets with exactly one unpaid sale (the card offers "💳 Оплатить" then)."""
    rows = await session.execute(
        select(Ticket.number).join(Receipt, Receipt.ticket_id == Ticket.id)
        .join(Status, Status.id == Ticket.status_id)
        .where(Receipt.status == ReceiptStatus.UNPAID, Receipt.kind == ReceiptKind.SALE,
               Receipt.total > 0, Status.kind.not_in(CLOSED_STATUS_KINDS))
        .group_by(Ticket.number).having(func.count(Receipt.id) == 1))
    return sorted(n for (n,) in rows)


async def _new_quotes(session: AsyncSession, owner: Staff, count: int,
                      rnd: random.Random) -> list[int]:
    """Accept `count` new devices from existing clients and put a priced quote on each, with
    the app's own intake and receipt functions."""
    service = await session.scalar(select(Service.id).order_by(Service.id).limit(1))
    top = await session.scalar(select(func.max(Client.id))) or 0
    if service is None or not top:
        raise SystemExit("the database has no clients or price list: run bench.generate")
    numbers = []
    for _ in range(count):
        client = await get_client(session, rnd.randint(1, top))
        ticket = await open_ticket(session, owner, TicketDraft(defect="Разбит экран"),
                                   client_id=client.id,
                                   new_device=NewDevice(kind="Телефон", brand="Apple",
                                                        model="iPhone 13"))
        receipt = await create_receipt(session, owner, ticket.id)
        await add_service_line(session, owner, receipt.id, service)
        numbers.append(ticket.number)
    return numbers


async def _phones(session: AsyncSession, count: int, rnd: random.Random) -> list[str]:
    top = await session.scalar(select(func.max(Client.id))) or 0
    ids = [rnd.randint(1, top) for _ in range(count)]
    found = dict((await session.execute(
        select(Client.id, Client.phone).where(Client.id.in_(ids)))).all())
    return [found[i] for i in ids if i in found]


async def _imei_parts(session: AsyncSession, count: int, rnd: random.Random
                      ) -> list[tuple[str, str]]:
    """(8 digits from the middle of an IMEI, its client's phone): what a master reads off a
    sticker. Digits that some phone ends in are left out: the search would find that client
    first, as it should."""
    top = await session.scalar(select(func.max(Device.id))) or 0
    ids = [rnd.randint(1, top) for _ in range(count * 4)]
    rows = (await session.execute(
        select(Device.id, Device.serial_norm, Client.phone).join(Client)
        .where(Device.id.in_(ids), func.length(Device.serial_norm) == 15))).all()
    by_id = {device_id: (serial[4:12], phone) for device_id, serial, phone in rows}
    parts = []
    for device_id in ids:
        if device_id not in by_id or len(parts) == count:
            continue
        part, phone = by_id[device_id]
        if not await session.scalar(select(Client.id).where(
                Client.phone_rev.startswith(part[::-1])).limit(1)):
            parts.append((part, phone))
    return parts


async def _sizes(session: AsyncSession) -> dict[str, int]:
    sizes = {}
    for name, model in (("clients", Client), ("devices", Device), ("tickets", Ticket),
                        ("receipts", Receipt)):
        sizes[name] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return sizes


async def prepare(url: str, owner_tg: int, count: int, seed: int) -> Prepared:
    """Pick phones and payable tickets for `count` iterations; make the missing quotes."""
    rnd = random.Random(seed)
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            owner = await _owner(session, owner_tg)
            shift = await current_shift(session)
            if shift is not None and shift_is_stale(shift):
                await close_shift(session, owner)
            payable = await _payable_tickets(session)
            chosen = rnd.sample(payable, min(count, len(payable)))
            created = await _new_quotes(session, owner, count - len(chosen), rnd)
            numbers = chosen + created
            phones = (await _phones(session, count * 2, rnd))[:count]
            imei_parts = await _imei_parts(session, count, rnd)
            sizes = await _sizes(session)
            staff_tg = list(await session.scalars(select(Staff.tg_user_id)))
    finally:
        await engine.dispose()
    if len(phones) < count or len(imei_parts) < count:
        raise SystemExit("not enough clients to pick phones from, or devices with an IMEI")
    targets = [Target(p, n, part, imei_phone) for p, n, (part, imei_phone)
               in zip(phones, numbers, imei_parts, strict=True)]
    return Prepared(targets, len(created), sizes, staff_tg)


# -- the two bots ---------------------------------------------------------------------------

@dataclass
class Sample:
    interaction: str
    update_id: int
    queued: float  # perf_counter when the update was queued in the emulator
    latency: float  # seconds to the answer
    queries: int | None = None
    calls: int = 0


@dataclass
class Side:
    """One bot: its emulator, the owner's chat there, its process and what it measured."""

    name: str
    emu: TimedEmulator
    user: SimUser
    proc: asyncio.subprocess.Process | None = None
    spawned: float = 0.0
    cold_start: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    queries: dict[int, int] = field(default_factory=dict)  # update id → SQL statements
    totals: dict[str, int] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None
    spy: asyncio.subprocess.Process | None = None  # py-spy, with --profile
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def read_stdout(self) -> None:
        """The runner's JSON lines: per-update statement counts, then the totals."""
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if "update" in data:
                    self.queries[int(data["update"])] = int(data["queries"])
                elif "totals" in data:
                    self.totals = data["totals"]
                self._arrived.set()
                self._arrived = asyncio.Event()

    async def finished(self, update_id: int) -> int:
        """Wait until the app's task for the update ended; its statement count."""
        deadline = time.perf_counter() + TIMEOUT
        while update_id not in self.queries:
            if time.perf_counter() > deadline:
                raise BenchError(f"{self.name}: update {update_id} did not finish")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), 1.0)
        return self.queries[update_id]


Check = Callable[[BotMessage], bool]


async def _answer(side: Side, interaction: str, start: int,
                  find: Callable[[], tuple[BotMessage | None, float] | None]
                  ) -> tuple[BotMessage | None, float]:
    """Wait for the expected answer; other messages in between (the daily digest, a
    reminder) are passed over, a wrong screen ends in a BenchError after TIMEOUT."""
    try:
        return await side.emu.wait_until(find, TIMEOUT)
    except TimeoutError:
        seen = [(m.text or "")[:200] for m in side.user.messages()[start:]]
        raise BenchError(f"{side.name}, {interaction}: no expected answer within {TIMEOUT} s;"
                         f" the chat got {seen}") from None


async def send_text(side: Side, interaction: str, text: str, check: Check) -> BotMessage:
    """Send and wait for the first message in the chat that passes `check`."""
    chat, emu = side.user.id, side.emu
    start = emu.log_size(chat)
    await side.user.send(text)
    update_id = emu.last_update_id
    message, answered = await _answer(side, interaction, start,
                                      lambda: emu.message_after(chat, start, check))
    await _record(side, interaction, update_id, answered)
    assert message is not None
    return message


async def tap(side: Side, interaction: str, button: str, on: BotMessage, check: Check,
              *, edits: bool = True) -> None:
    """Tap and wait for the callback answer and (`edits`) the tapped message's new screen."""
    chat, emu = side.user.id, side.emu
    start = emu.log_size(chat)
    query_id = await side.user.tap(button, on)
    update_id = emu.last_update_id

    def same_message(m: BotMessage) -> bool:
        return m.message_id == on.message_id and check(m)

    def done() -> tuple[BotMessage | None, float] | None:
        answered = emu.answered_at.get(query_id or "")
        if answered is None:
            return None
        if not edits:
            return None, answered
        found = emu.message_after(chat, start, same_message)
        return None if found is None else (found[0], max(found[1], answered))

    _message, at = await _answer(side, interaction, start, done)
    await _record(side, interaction, update_id, at)


async def _record(side: Side, interaction: str, update_id: int, answered: float) -> None:
    queued = side.emu.pushed_at[update_id]
    queries = await side.finished(update_id) if side.proc and side.proc.stdout else None
    side.samples.append(Sample(interaction, update_id, queued, answered - queued, queries))


# -- one iteration --------------------------------------------------------------------------

INTERACTIONS = ("phone «067 123 45 67»", "last 4 digits", "IMEI part (8 digits)", "#N",
                "/ticket N", "/today", "💳 Оплатить", "Карта", "✅ Оплачено")


def _has(*parts: str) -> Check:
    return lambda m: any(p in (m.text or "") for p in parts)


class Iteration:
    """The app's steps for one target, each followed (or preceded) by the echo's twin."""

    def __init__(self, app: Side, echo: Side, target: Target, echo_first: bool) -> None:
        self.app, self.echo, self.target, self.echo_first = app, echo, target, echo_first
        self.card: BotMessage | None = None

    async def run(self) -> None:
        t = self.target
        await self._text(INTERACTIONS[0], national(t.phone), _has(format_phone(t.phone)))
        await self._text(INTERACTIONS[1], t.phone[-4:], _has("Найдено", "📞"))
        await self._text(INTERACTIONS[2], t.imei_part, _has(format_phone(t.imei_phone),
                                                            "Найдено"))
        await self._text(INTERACTIONS[3], f"#{t.number}",
                         lambda m: _has(f"[{t.number}]")(m) and _has("Статус")(m))
        self.card = await self._text(INTERACTIONS[4], f"/ticket {t.number}",
                                     lambda m: m.button("💳 Оплатить") is not None
                                     or any("💳 Оплатить" in b for b in m.buttons))
        await self._text(INTERACTIONS[5], "/today", _has("Итоги дня"))
        await self._tap(INTERACTIONS[6], "💳 Оплатить", _has("Оплата чека"))
        await self._tap(INTERACTIONS[7], "Карта", _has("Проверьте оплату"))
        await self._tap(INTERACTIONS[8], "✅ Оплачено", _has("оплачен"))

    async def _text(self, name: str, text: str, check: Check) -> BotMessage:
        if self.echo_first:
            await send_text(self.echo, name, text, _has(text.strip()))
        answer = await send_text(self.app, name, text, check)
        if not self.echo_first:
            await send_text(self.echo, name, text, _has(text.strip()))
        return answer

    async def _echo_tap(self, name: str) -> None:
        ping = self.echo.user.last_message()
        assert ping is not None
        await tap(self.echo, name, "ping", ping, lambda _m: True, edits=False)

    async def _tap(self, name: str, button: str, check: Check) -> None:
        assert self.card is not None
        if self.echo_first:
            await self._echo_tap(name)
        await tap(self.app, name, button, self.card, check)
        if not self.echo_first:
            await self._echo_tap(name)


# -- processes ------------------------------------------------------------------------------

def bot_env(token: str, api_url: str, **settings: str) -> dict[str, str]:
    """The environment `python -m bot` reads; nothing inherited may switch on a webhook,
    Redis or a web server."""
    env = {**os.environ, "WEBHOOK_URL": "", "REDIS_URL": "", "WEB_LISTEN": "",
           "PYTHONUNBUFFERED": "1", "BOT_TOKEN": token, "TELEGRAM_API_URL": api_url}
    env.update({k.upper(): v for k, v in settings.items()})
    return env


def _log_file(path: Path) -> Any:
    return path.open("wb")


async def start(side: Side, module: str, env: dict[str, str], log: Path, *,
                capture: bool = False) -> None:
    """Spawn the bot and wait for its first getUpdates (the cold start ends there)."""
    side.spawned = time.perf_counter()
    side.proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE if capture else asyncio.subprocess.DEVNULL,
        stderr=_log_file(log))
    if capture:
        side.reader = asyncio.create_task(side.read_stdout())
    polled = asyncio.create_task(side.emu.wait_first_poll(START_TIMEOUT))
    exited = asyncio.create_task(side.proc.wait())
    await asyncio.wait((polled, exited), return_when=asyncio.FIRST_COMPLETED)
    if not polled.done():
        polled.cancel()
        raise BenchError(f"{side.name} exited with {side.proc.returncode}; see {log}")
    exited.cancel()
    side.cold_start = polled.result() - side.spawned
    await side.emu.wait_polling(START_TIMEOUT)


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a live process, MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


async def stop(side: Side) -> None:
    """SIGTERM, as a service manager stops it; the runner prints its totals on the way out."""
    proc = side.proc
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    if side.reader is not None:
        await side.reader
    if side.spy is not None:  # it writes its file when the app is gone
        await asyncio.wait_for(side.spy.wait(), 120)


# -- figures --------------------------------------------------------------------------------

def p99(values: list[float]) -> float:
    if len(values) < 2:
        return max(values)
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def count_calls(side: Side) -> None:
    """Calls from an update's arrival to the next update to the same bot (so whatever the
    handler sends after its answer, or after the commit, is counted too)."""
    queued = [s.queued for s in side.samples] + [float("inf")]
    for sample, end in zip(side.samples, queued[1:], strict=True):
        sample.calls = side.emu.calls_between(sample.queued, end)


def _spread(values: list[int]) -> str:
    low, high = min(values), max(values)
    middle = statistics.median(values)
    return f"{middle:g}" if low == high else f"{middle:g} ({low}–{high})"


@dataclass(frozen=True)
class Row:
    interaction: str
    median: float
    p99: float
    echo_median: float
    echo_p99: float
    queries: str
    calls: str

    @property
    def ratio(self) -> float:
        return self.median / self.echo_median if self.echo_median else float("nan")


def rows(app: Side, echo: Side) -> list[Row]:
    out = []
    for name in INTERACTIONS:
        mine = [s for s in app.samples if s.interaction == name]
        theirs = [s for s in echo.samples if s.interaction == name]
        if not mine or not theirs:
            continue
        ms = [s.latency * 1000 for s in mine]
        echo_ms = [s.latency * 1000 for s in theirs]
        queries = [s.queries for s in mine if s.queries is not None]
        out.append(Row(name, statistics.median(ms), p99(ms), statistics.median(echo_ms),
                       p99(echo_ms), _spread(queries) if queries else "—",
                       f"{_spread([s.calls for s in mine])} / "
                       f"{_spread([s.calls for s in theirs])}"))
    return out


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


@dataclass
class Report:
    url: str
    n: int
    warmup: int
    prepared: Prepared
    rows: list[Row]
    processes: dict[str, dict[str, float]]
    background_sql: dict[str, int]
    load: tuple[tuple[float, ...], tuple[float, ...]]
    started: datetime
    app_samples: list[Sample] = field(default_factory=list)

    def database(self) -> str:
        u = make_url(self.url)
        sizes = ", ".join(f"{v:,} {k}" for k, v in self.prepared.sizes.items())
        return f"{u.get_backend_name()} `{u.render_as_string(hide_password=True)}` ({sizes})"

    def table(self) -> list[str]:
        lines = ["| interaction | median ms | p99 ms | × echo | echo median ms | echo p99 ms "
                 "| SQL statements | Bot API calls (app / echo) |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {r.interaction} | {r.median:.1f} | {r.p99:.1f} | {r.ratio:.1f} | "
                  f"{r.echo_median:.1f} | {r.echo_p99:.1f} | {r.queries} | {r.calls} |"
                  for r in self.rows]
        return lines

    def process_table(self) -> list[str]:
        lines = ["| process | cold start s | RSS after the run MB | peak RSS MB |",
                 "|---|---:|---:|---:|"]
        lines += [f"| {name} | {p['cold_start']:.2f} | {p.get('VmRSS', 0):.0f} | "
                  f"{p.get('VmHWM', 0):.0f} |" for name, p in self.processes.items()]
        return lines

    def markdown(self) -> str:
        load = " → ".join("/".join(f"{x:.1f}" for x in la) for la in self.load)
        return "\n".join([
            f"## Interactions, {self.started:%Y-%m-%d %H:%M} UTC",
            "",
            f"- database: {self.database()}",
            f"- machine: {machine()}; load average (1/5/15 min) {load}",
            f"- n = {self.n} per interaction after {self.warmup} warm-up iterations; "
            f"{self.prepared.created_receipts} quotes created for the payments",
            "",
            *self.table(),
            "",
            *self.process_table(),
            "",
            f"SQL statements outside updates during the run: {self.background_sql or 'none'}",
            "",
        ])


def sql_summary(path: Path, samples: list[Sample], top: int = 3) -> list[str]:
    """From a --sql-log: per interaction, the median SQL time per update and the statements
    that took longest (median over the updates that ran them)."""
    kinds = {f"{UPDATE_TASK}{s.update_id}": s.interaction for s in samples}
    per_update: dict[str, float] = defaultdict(float)
    statements: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for line in path.read_text(encoding="utf-8").splitlines():
        task, ms, sql = [*line.split("\t", 2), "", ""][:3]
        if task in kinds:
            per_update[task] += float(ms)
            statements[kinds[task]][sql].append(float(ms))
    out = ["| interaction | SQL ms per update (median) | slowest statements (median ms) |",
           "|---|---:|---|"]
    for name in INTERACTIONS:
        times = [v for k, v in per_update.items() if kinds[k] == name]
        slow = sorted(statements[name].items(), key=lambda kv: -statistics.median(kv[1]))
        listed = "<br>".join(f"{statistics.median(ms):.1f} · `{sql[:90]}…`"
                             for sql, ms in slow[:top])
        if times:
            out.append(f"| {name} | {statistics.median(times):.1f} | {listed} |")
    return out


def _clear(*sides: Side) -> None:
    for side in sides:
        side.samples.clear()


async def measure(args: argparse.Namespace, prepared: Prepared, log_dir: Path,
                  stamp: str) -> Report:
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    bot_id = 7_000_000_000 + secrets.randbelow(10**9)  # fresh: processed_updates are per bot
    app_token = f"{bot_id}:{secrets.token_urlsafe(27)}"
    echo_token = f"{bot_id + 1}:{secrets.token_urlsafe(27)}"
    async with run_timed_emulator(app_token) as app_emu, \
            run_timed_emulator(echo_token) as echo_emu:
        for tg in prepared.staff_tg:
            app_emu.user(tg, "Staff").open_chat()
        app = Side("app", app_emu, app_emu.user(args.owner, "Власник"))
        echo = Side("echo", echo_emu, echo_emu.user(args.owner, "Власник"))
        extra = {"BENCH_SQL_LOG": str(args.sql_log)} if args.sql_log else {}
        try:
            await start(echo, "bench.echo_bot", bot_env(echo_token, echo_emu.base_url),
                        log_dir / f"{stamp}-echo.log")
            await start(app, "bench.app_runner",
                        bot_env(app_token, app_emu.base_url, database_url=args.url,
                                owner_ids=str(args.owner), **extra),
                        log_dir / f"{stamp}-app.log", capture=True)
            await iterate(args, prepared, app, echo)
            processes = {s.name: {"cold_start": s.cold_start, **memory(s.proc.pid)}
                         for s in (app, echo) if s.proc is not None}
        finally:
            await stop(app)
            await stop(echo)
    for side in (app, echo):
        count_calls(side)
    background = {k: v for k, v in app.totals.items() if k != "updates"}
    return Report(args.url, args.n, args.warmup, prepared, rows(app, echo), processes,
                  background, (load_before, os.getloadavg()), started, app.samples)


async def profile(pid: int, out: Path) -> asyncio.subprocess.Process:
    """py-spy sampling the app until it exits: collapsed stacks, thread ids first, only
    samples holding the GIL (Python on CPU; SQLite and the sockets release it)."""
    spy = Path(sys.executable).with_name("py-spy")
    return await asyncio.create_subprocess_exec(
        str(spy) if spy.exists() else "py-spy", "record", "-p", str(pid), "-f", "raw",
        "--threads", "--gil", "-r", "200", "-o", str(out), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)


async def iterate(args: argparse.Namespace, prepared: Prepared, app: Side, echo: Side) -> None:
    for i, target in enumerate(prepared.targets):
        if i == args.warmup:
            _clear(app, echo)
            if args.profile and app.proc is not None:  # the measured part only
                app.spy = await profile(app.proc.pid, args.profile)
        await Iteration(app, echo, target, echo_first=i % 2 == 1).run()
        if not args.quiet and (i + 1) % 10 == 0:
            print(f"  {i + 1}/{len(prepared.targets)} iterations", flush=True)


PACKAGES = ("bot", "db", "handlers", "keyboards", "scheduler", "sms", "fiscal", "bench")


def compile_app() -> None:
    """A deployed app starts from its bytecode; with PYTHONDONTWRITEBYTECODE set (as in this
    environment) every start would compile the project's sources again instead. The
    __pycache__ folders are git-ignored."""
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="DATABASE_URL (from bench.generate)")
    parser.add_argument("--n", type=int, default=100, help="measured iterations")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--owner", type=int, default=5_000_001, help="owner's tg_user_id")
    parser.add_argument("--seed", type=int, default=1, help="which phones and tickets")
    parser.add_argument("--sql-log", type=Path, default=None,
                        help="write every statement of the app here (task name, SQL)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy the app over the measured iterations into this file "
                             "(collapsed stacks; bench.profile_report reads it)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.sql_log:
        args.sql_log.write_text("")  # the runner appends; update ids restart every run
    compile_app()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    prepared = asyncio.run(prepare(args.url, args.owner, args.n + args.warmup, args.seed))
    report = asyncio.run(measure(args, prepared, RESULTS, stamp))
    text = report.markdown()
    if args.sql_log:
        text += "\n" + "\n".join(sql_summary(args.sql_log, report.app_samples)) + "\n"
    backend = make_url(args.url).get_backend_name()
    path = RESULTS / f"interactions-{backend}-{stamp}.md"
    path.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
