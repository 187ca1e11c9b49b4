"""A year of a repair-shop chain as rows: the model behind `python -m bench.generate`.

Pure Python, no database: `ChainYear` walks the days oldest first and appends row tuples to
`rows[table]` in the column order of `COLUMNS[table]`; the writer (bench/generate.py) drains
them in foreign-key order whenever they pile up. Every row is decided when its ticket (or
quick sale) is born — the ticket's whole path, its receipts, payments, refunds, expenses and
comments — so nothing is ever updated afterwards; what would happen after `now` is cut off
(open tickets, unpaid quotes). Parents are always emitted before their children.

Columns the application derives are derived by the application's own functions
(`reversed_digits`, `_search_name`, `normalize_serial`, `line_amount`, `commission_for`), so
the generated rows are what the app would have written.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from db.desk.clients import _search_name, normalize_serial
from db.desk.phones import reversed_digits
from db.money.amounts import line_amount
from db.money.closing import commission_for

TZ = ZoneInfo("Europe/Kyiv")
DAYS = 365
OPEN_AT, CLOSE_AT = dtime(9), dtime(20)  # business hours, local
SHIFT_OPEN, SHIFT_CLOSE = dtime(8, 50), dtime(20, 30)
DRAWER_FLOAT = 200_000  # kopecks left in the drawer after the evening collection

# At scale 1.0. Quick sales (no ticket) make receipts ≈ 508k with the tickets' ~300k.
BASE = {"tickets": 300_000, "clients": 100_000, "devices": 150_000, "quick_sales": 193_000}

# Migration 0001/0002 ids (seeded by the migrations in this order).
STATUS = {code: i for i, code in enumerate(
    ("accepted", "diagnostics", "approval", "waiting_parts", "in_work", "ready", "issued",
     "refused"), start=1)}
CASH_TYPE, CARD_TYPE = 1, 2

COLUMNS: dict[str, tuple[str, ...]] = {
    "staff": ("id", "tg_user_id", "name", "role", "commission_bp", "active", "language",
              "created_at"),
    "services": ("id", "code", "name", "price", "archived", "search_name", "created_at",
                 "updated_at"),
    "shifts": ("id", "number", "status", "opened_at", "opened_by_id", "closed_at",
               "closed_by_id", "drawer_at_open", "drawer_at_close"),
    "clients": ("id", "name", "surname", "phone", "phone_rev", "extra_phone", "extra_phone_rev",
                "comment", "search_name", "tg_chat_id", "language", "self_registered",
                "created_at"),
    "devices": ("id", "client_id", "kind", "brand", "model", "serial", "serial_norm", "notes",
                "created_at"),
    "tickets": ("id", "number", "device_id", "client_id", "master_id", "accepted_by_id",
                "status_id", "defect", "condition", "kit", "lock_code", "estimate", "created_at",
                "closed_at", "is_warranty", "previous_ticket_id", "warranty_days", "public_token",
                "commission", "commission_bp", "commission_base"),
    "status_history": ("id", "ticket_id", "from_status_id", "to_status_id", "staff_id",
                       "by_client", "created_at"),
    "comments": ("id", "ticket_id", "staff_id", "text", "public", "created_at"),
    "receipts": ("id", "kind", "status", "ticket_id", "related_receipt_id", "total", "change",
                 "created_at", "created_by_id", "paid_at", "paid_by_id", "shift_id",
                 "fiscal_state", "fiscal_id", "fiscal_attempts", "fiscal_updated_at"),
    "receipt_lines": ("id", "receipt_id", "service_id", "refund_of_line_id", "code", "name",
                      "price", "quantity", "amount"),
    "payments": ("id", "receipt_id", "payment_type_id", "kind", "amount", "received", "change",
                 "staff_id", "created_at", "shift_id"),
    "expenses": ("id", "ticket_id", "description", "amount", "payment_type_id", "kind",
                 "staff_id", "created_at", "shift_id"),
    "cash_moves": ("id", "amount", "reason", "staff_id", "created_at", "shift_id",
                   "fiscal_state", "fiscal_attempts"),
}
# Foreign-key order: a table's parents come before it.
TABLE_ORDER = tuple(COLUMNS)

OPERATORS = ("67", "68", "96", "97", "98", "50", "66", "95", "99", "63", "73", "93")
FIRST_NAMES = ("Олександр", "Андрій", "Сергій", "Дмитро", "Іван", "Максим", "Микола", "Олег",
               "Віталій", "Юрій", "Олена", "Наталія", "Тетяна", "Ірина", "Марина", "Оксана",
               "Світлана", "Юлія", "Анна", "Катерина", "Богдан", "Тарас", "Ольга", "Дарина")
SURNAMES = ("Коваленко", "Бондаренко", "Ткаченко", "Шевченко", "Кравченко", "Олійник",
            "Мельник", "Шевчук", "Поліщук", "Бойко", "Ткачук", "Марченко", "Руденко", "Лисенко",
            "Савченко", "Петренко", "Клименко", "Мороз", "Павленко", "Кузьменко", "Гончаренко",
            "Левченко", "Карпенко", "Литвиненко", "Сидоренко", "Романенко")
DEVICE_KINDS = (  # kind (the intake button's name), weight, (brand, model) pairs
    ("Телефон", 60, (("Apple", "iPhone 11"), ("Apple", "iPhone 12"), ("Apple", "iPhone 13"),
                     ("Apple", "iPhone 14 Pro"), ("Samsung", "Galaxy A52"),
                     ("Samsung", "Galaxy S21"), ("Xiaomi", "Redmi Note 10"),
                     ("Xiaomi", "Redmi Note 12"), ("Motorola", "Moto G54"),
                     ("Google", "Pixel 6"), ("Realme", "C55"), ("OnePlus", "Nord 2"))),
    ("Ноутбук", 15, (("Lenovo", "IdeaPad 3"), ("Lenovo", "ThinkPad T14"), ("HP", "Pavilion 15"),
                     ("Asus", "VivoBook 15"), ("Acer", "Aspire 5"), ("Apple", "MacBook Air M1"),
                     ("Dell", "Inspiron 15"))),
    ("Планшет", 10, (("Apple", "iPad 9"), ("Samsung", "Galaxy Tab A8"), ("Lenovo", "Tab M10"))),
    ("Компьютер", 5, (("", "системный блок"), ("Dell", "OptiPlex 3080"), ("HP", "ProDesk 400"))),
    ("Телевизор", 5, (("Samsung", "UE43"), ("LG", "43UQ7500"), ("Philips", "55PUS7608"))),
    ("Другое", 5, (("Sony", "PlayStation 5"), ("JBL", "Charge 5"), ("Xiaomi", "Mi Band 7"))),
)
DEFECTS = ("Не включается", "Разбит экран", "Не заряжается", "Быстро садится батарея",
           "Не работает динамик", "Попала вода", "Не ловит сеть", "Греется", "Не работает камера",
           "Перезагружается", "Не видит SIM", "Сломан разъём", "Залипает клавиатура", "Шумит")
COMMENTS = ("Клиент просил позвонить перед ремонтом", "Заказали запчасть", "Запчасть пришла",
            "Клиент не отвечает на звонки", "Согласовали по телефону", "Проверено, работает",
            "Есть следы вскрытия", "Предупредили о сроках")
SERVICES = (  # name, price in UAH, for tickets (repair) or the counter (accessories)
    ("Диагностика", 200, "repair"), ("Замена дисплея", 2500, "repair"),
    ("Замена аккумулятора", 900, "repair"), ("Замена разъёма зарядки", 700, "repair"),
    ("Чистка после влаги", 800, "repair"), ("Прошивка", 500, "repair"),
    ("Замена динамика", 600, "repair"), ("Замена камеры", 1500, "repair"),
    ("Замена клавиатуры", 1800, "repair"), ("Чистка и замена термопасты", 700, "repair"),
    ("Пайка платы", 1200, "repair"), ("Замена стекла камеры", 400, "repair"),
    ("Защитное стекло", 250, "counter"), ("Чехол", 350, "counter"),
    ("Кабель USB-C", 200, "counter"), ("Зарядное устройство", 450, "counter"),
    ("Наклейка плёнки", 150, "counter"), ("Карта памяти 64 ГБ", 400, "counter"),
)


REPAIRS = [i for i, s in enumerate(SERVICES, start=1) if s[2] == "repair"]
COUNTER_GOODS = [i for i, s in enumerate(SERVICES, start=1) if s[2] == "counter"]
KIND_CUM = list(itertools.accumulate(k[1] for k in DEVICE_KINDS))
QTY, QTY_CUM = (1000, 2000, 1500), (90, 98, 100)


# -- staff and the price list ---------------------------------------------------------------

@dataclass(frozen=True)
class StaffPlan:
    owner_tg: int = 5_000_001
    managers: int = 3
    masters: int = 8

    @property
    def manager_ids(self) -> list[int]:
        return list(range(2, 2 + self.managers))

    @property
    def master_ids(self) -> list[int]:
        return list(range(2 + self.managers, 2 + self.managers + self.masters))

    def commission_bp(self, staff_id: int) -> int:
        """Masters earn 30-45 %; the owner and managers nothing."""
        if staff_id not in self.master_ids:
            return 0
        return 3000 + 500 * (staff_id % 4)


def staff_rows(plan: StaffPlan, created: datetime) -> list[tuple[Any, ...]]:
    """The owner (id 1, tg `plan.owner_tg`), the front-desk managers, the masters."""
    rows = [(1, plan.owner_tg, "Власник", "owner", 0, True, None, created)]
    rows += [(i, plan.owner_tg + i, f"Менеджер {n}", "manager", 0, True, None, created)
             for n, i in enumerate(plan.manager_ids, start=1)]
    rows += [(i, plan.owner_tg + i, f"Майстер {n}", "master", plan.commission_bp(i), True,
              None, created) for n, i in enumerate(plan.master_ids, start=1)]
    return rows


def service_rows(created: datetime) -> list[tuple[Any, ...]]:
    return [(i, f"S{i:03d}", name, price * 100, False, name.casefold(), created, created)
            for i, (name, price, _kind) in enumerate(SERVICES, start=1)]


# -- time -----------------------------------------------------------------------------------

class Clock:
    """Local business time ↔ aware UTC, cheaply: the offset is cached per date (the DST switch
    happens at 03:00-04:00 local, outside business hours)."""

    def __init__(self, now: datetime) -> None:
        self.now_utc = now.astimezone(UTC)
        self.now = self.now_utc.astimezone(TZ).replace(tzinfo=None)
        self.first_day = self.now.date() - timedelta(days=DAYS - 1)
        self._offsets: dict[date, timedelta] = {}

    def utc(self, local: datetime) -> datetime:
        offset = self._offsets.get(local.date())
        if offset is None:
            noon = datetime.combine(local.date(), dtime(12), tzinfo=TZ)
            offset = self._offsets[local.date()] = noon.utcoffset() or timedelta(0)
        return (local - offset).replace(tzinfo=UTC)

    def day_index(self, local: datetime) -> int:
        return (local.date() - self.first_day).days

    @staticmethod
    def later(local: datetime, hours: float) -> datetime:
        """`hours` of business time after `local` (the evening rolls over to the morning)."""
        remaining, t = timedelta(hours=hours), local
        while True:
            end = datetime.combine(t.date(), CLOSE_AT)
            if t + remaining < end:
                return t + remaining
            remaining -= max(end - t, timedelta(0))
            t = datetime.combine(t.date() + timedelta(days=1), OPEN_AT)


def at_hours(day: date, rnd: random.Random) -> datetime:
    """A random local moment of business hours on `day` (busier in the afternoon)."""
    seconds = int(rnd.triangular(0, 11 * 3600, 7 * 3600))
    return datetime.combine(day, OPEN_AT) + timedelta(seconds=seconds,
                                                      microseconds=rnd.randrange(1_000_000))


# -- the year -------------------------------------------------------------------------------

@dataclass
class Targets:
    tickets: int
    clients: int
    devices: int
    quick_sales: int

    @classmethod
    def at(cls, scale: float) -> Targets:
        return cls(**{k: max(1, round(v * scale)) for k, v in BASE.items()})


@dataclass
class Ids:
    """Next id of every table (ids are explicit, so children can point at them at once)."""

    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def next(self, table: str) -> int:
        self.counters[table] += 1
        return self.counters[table]


@dataclass
class Device:
    id: int
    client_id: int
    last_ticket: int | None = None
    last_closed: datetime | None = None  # local
    last_done: bool = False


@dataclass
class Step:
    code: str
    at: datetime  # local
    staff_id: int | None
    by_client: bool = False


# Paths through the migration's transitions after "accepted": (weight, statuses).
DONE_PATHS = ((88, ("in_work", "ready", "issued")),
              (9, ("diagnostics", "in_work", "ready", "issued")),
              (2, ("diagnostics", "approval", "in_work", "ready", "issued")),
              (1, ("diagnostics", "waiting_parts", "in_work", "ready", "issued")))
REFUSED_PATHS = ((50, ("refused",)), (35, ("diagnostics", "refused")),
                 (15, ("diagnostics", "approval", "refused")))
REFUSED_SHARE = 0.18
# Business hours spent in a status before the next one: (low, mode, high).
STAY = {"accepted": (0.2, 2, 30), "diagnostics": (1, 4, 24), "approval": (1, 6, 48),
        "waiting_parts": (24, 60, 200), "in_work": (1, 8, 60), "ready": (0.2, 6, 90)}


class ChainYear:
    """Generates the year day by day into `rows`; `run_day(i)` for i in range(DAYS)."""

    def __init__(self, scale: float, seed: int, now: datetime,
                 plan: StaffPlan | None = None) -> None:
        self.rnd = random.Random(seed)
        self.clock = Clock(now)
        self.plan = plan or StaffPlan()
        self.targets = Targets.at(scale)
        self.shops = max(1, round(10 * scale))  # the chain's shops (for per-shop expenses)
        self.ids = Ids()
        self.rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.devices: list[Device] = []
        self.free: list[Device] = []  # devices with no open ticket
        self.busy: list[tuple[datetime, int]] = []  # (closed at, device index) heap
        self.cash_delta: list[int] = [0] * DAYS  # drawer movement per day, kopecks
        self.shift_drawers: dict[int, tuple[int, int]] = {}  # shift id → (at open, at close)
        self.drawer = 0  # the first shift starts with the float as a cash move (close_day)
        self.phones = self._phone_pool(self.targets.clients * 21 // 20 + 10)
        self.cumulative = list(itertools.accumulate(self._day_weights()))
        self.quota = {"tickets": self.targets.tickets, "clients": self.targets.clients,
                      "devices": self.targets.devices}

    # -- setup --------------------------------------------------------------------------------

    def _phone_pool(self, count: int) -> list[str]:
        """Unique Ukrainian mobile numbers in E.164 (valid for `phonenumbers`)."""
        per = -(-count // len(OPERATORS))
        pool = [f"+380{op}{n:07d}" for op in OPERATORS
                for n in self.rnd.sample(range(1_000_000, 10_000_000), per)]
        self.rnd.shuffle(pool)
        return pool[:count]

    def _day_weights(self) -> list[float]:
        """Sundays are half as busy; the chain grows ~30 % over the year."""
        weights = []
        for i in range(DAYS):
            day = self.clock.first_day + timedelta(days=i)
            weights.append((0.5 if day.weekday() == 6 else 1.0) * (0.85 + 0.3 * i / DAYS))
        total = sum(weights)
        return [w / total for w in weights]

    def shift_rows(self) -> list[tuple[Any, ...]]:
        """One shift a day, opened before the first sale, closed after the last; today's is
        closed at `now` (the first payment in the bench opens the next one, as the app does).
        Drawer amounts are filled in by `shift_drawer_updates` at the end."""
        rows = []
        for i in range(DAYS):
            day = self.clock.first_day + timedelta(days=i)
            opened = datetime.combine(day, SHIFT_OPEN)
            if opened >= self.clock.now:
                break
            closed = min(datetime.combine(day, SHIFT_CLOSE), self.clock.now)
            rows.append((i + 1, i + 1, "closed", self.clock.utc(opened), 1,
                         self.clock.utc(closed), 1, 0, 0))
        self.shifts = len(rows)
        return rows

    # -- a day --------------------------------------------------------------------------------

    def count_for(self, i: int, total: int, done_so_far: int) -> int:
        """Today's share of `total`, rounded with the carry so the year sums exactly."""
        expected = round(total * self.cumulative[i])
        return max(0, expected - done_so_far)

    def run_day(self, i: int) -> None:
        day = self.clock.first_day + timedelta(days=i)
        made = self.ids.counters["tickets"]
        times = sorted(at_hours(day, self.rnd)
                       for _ in range(self.count_for(i, self.targets.tickets, made)))
        for created in times:
            if created < self.clock.now:
                self._release(created)
                self.ticket(created)
        sold = self.ids.counters["quick"]
        for _ in range(self.count_for(i, self.targets.quick_sales, sold)):
            self.ids.counters["quick"] += 1
            at = at_hours(day, self.rnd)
            if at < self.clock.now:
                self.quick_sale(at)
        self.shop_expenses(day)
        self.close_day(i, day)

    def _release(self, now: datetime) -> None:
        while self.busy and self.busy[0][0] <= now:
            _closed, device_id = heapq.heappop(self.busy)
            self.free.append(self.devices[device_id - 1])

    # -- clients and devices ------------------------------------------------------------------

    def _chance(self, key: str, left: int) -> bool:
        """Sampling without replacement: hits the quota exactly over the remaining draws."""
        return left > 0 and self.rnd.random() < self.quota[key] / left

    def pick_device(self, created: datetime) -> Device:
        tickets_left = self.targets.tickets - self.ids.counters["tickets"] + 1
        if not self.free or self._chance("devices", tickets_left):
            return self.new_device(created)
        index = self.rnd.randrange(len(self.free))
        self.free[index], self.free[-1] = self.free[-1], self.free[index]
        return self.free.pop()

    def new_device(self, created: datetime) -> Device:
        devices_left = max(self.quota["devices"], 1)
        self.quota["devices"] = max(0, self.quota["devices"] - 1)
        if not self.devices or self._chance("clients", devices_left):
            client_id = self.new_client(created)
        else:
            client_id = self.rnd.choice(self.devices).client_id
        device = Device(self.ids.next("devices"), client_id)
        kind, _weight, models = self.rnd.choices(DEVICE_KINDS, cum_weights=KIND_CUM)[0]
        brand, model = self.rnd.choice(models)
        serial = self._serial(kind)
        self.rows["devices"].append((
            device.id, client_id, kind, brand, model, serial,
            normalize_serial(serial) if serial else None, "", self.clock.utc(created)))
        self.devices.append(device)
        return device

    def _serial(self, kind: str) -> str | None:
        r = self.rnd.random()
        if kind == "Телефон":
            if r < 0.7:
                return "".join(str(self.rnd.randrange(10)) for _ in range(15))  # IMEI
            return None
        if r < 0.5:
            letters = "".join(self.rnd.choice("ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(3))
            return f"{self.rnd.randrange(10)}{letters}-{self.rnd.randrange(10**6):06d}"
        return None

    def new_client(self, created: datetime) -> int:
        self.quota["clients"] = max(0, self.quota["clients"] - 1)
        cid = self.ids.next("clients")
        phone = self.phones[(cid - 1) % len(self.phones)]
        extra = self.phones[-cid] if self.rnd.random() < 0.05 and cid < len(self.phones) // 21 \
            else None
        name = self.rnd.choice(FIRST_NAMES)
        surname = self.rnd.choice(SURNAMES) if self.rnd.random() < 0.8 else ""
        self.rows["clients"].append((
            cid, name, surname, phone, reversed_digits(phone), extra,
            reversed_digits(extra) if extra else None, "", _search_name(name, surname),
            1_000_000_000 + cid if self.rnd.random() < 0.3 else None, None, False,
            self.clock.utc(created - timedelta(minutes=2))))
        return cid

    # -- a ticket -----------------------------------------------------------------------------

    def ticket(self, created: datetime) -> None:
        device = self.pick_device(created)
        number = self.ids.next("tickets")
        steps, refusing = self.path(created)
        master = self.rnd.choice(self.plan.master_ids) if self.rnd.random() < 0.95 else None
        last = steps[-1].code
        closed = steps[-1].at if last in ("issued", "refused") else None
        warranty = bool(device.last_done and device.last_closed
                        and created - device.last_closed <= timedelta(days=30))
        money = TicketMoney(self, number, steps, master, refusing)
        money.build()
        base, bp, commission = money.commission() if last == "issued" else (None, None, None)
        self.rows["tickets"].append((
            number, number, device.id, device.client_id, master, steps[0].staff_id,
            STATUS[last], self.rnd.choice(DEFECTS), "", "", "", money.estimate,
            self.clock.utc(created), self.clock.utc(closed) if closed else None, warranty,
            device.last_ticket, 30, f"{self.rnd.getrandbits(128):032x}", commission, bp, base))
        self.history(number, steps)
        self.comments(number, steps)
        money.emit()
        device.last_ticket, device.last_closed, device.last_done = number, closed, \
            last == "issued"
        if closed is not None:  # free for its next visit once closed
            heapq.heappush(self.busy, (closed, device.id))

    def path(self, created: datetime) -> tuple[list[Step], bool]:
        """The statuses the ticket went through, cut at `now`; and whether it ends refused."""
        refusing = self.rnd.random() < REFUSED_SHARE
        paths = REFUSED_PATHS if refusing else DONE_PATHS
        codes = self.rnd.choices([p[1] for p in paths], weights=[p[0] for p in paths])[0]
        steps = [Step("accepted", created, self.rnd.choice(self.plan.manager_ids))]
        for code in codes:
            low, mode, high = STAY[steps[-1].code]
            at = self.clock.later(steps[-1].at, self.rnd.triangular(low, high, mode))
            if at >= self.clock.now:
                break
            by_client = steps[-1].code == "approval" and self.rnd.random() < 0.5
            staff = None if by_client else self.rnd.choice(
                self.plan.master_ids if code in ("in_work", "ready") else self.plan.manager_ids)
            steps.append(Step(code, at, staff, by_client))
        return steps, refusing

    def history(self, ticket: int, steps: list[Step]) -> None:
        previous: int | None = None
        for step in steps:
            status = STATUS[step.code]
            self.rows["status_history"].append((
                self.ids.next("status_history"), ticket, previous, status, step.staff_id,
                step.by_client, self.clock.utc(step.at)))
            previous = status

    def comments(self, ticket: int, steps: list[Step]) -> None:
        """About one ticket in three gets a note (a fifth of them shown to the client)."""
        while self.rnd.random() < 0.35:
            step = self.rnd.choice(steps)
            at = self.clock.later(step.at, self.rnd.uniform(0.1, 3))
            if at >= self.clock.now:
                return
            self.rows["comments"].append((
                self.ids.next("comments"), ticket, step.staff_id or 1,
                self.rnd.choice(COMMENTS), self.rnd.random() < 0.2, self.clock.utc(at)))

    # -- money outside tickets ----------------------------------------------------------------

    def quick_sale(self, at: datetime) -> None:
        sale = Sale(self, None, at, self.rnd.choice(self.plan.manager_ids))
        sale.lines(self.rnd.choices((1, 2, 3), weights=(45, 35, 20))[0], counter=True)
        sale.pay(at)
        sale.emit()

    def shop_expenses(self, day: date) -> None:
        """Supplies, cleaning, delivery: a few a day per shop."""
        for _ in range(self.rnd.randrange(1, 5) * self.shops):
            at = at_hours(day, self.rnd)
            cash = self.rnd.random() < 0.5
            self.expense(None, at, self.rnd.randrange(5_000, 150_000), cash,
                         self.rnd.choice(("Канцтовары", "Уборка", "Доставка", "Хозтовары")))

    def expense(self, ticket: int | None, at: datetime, amount: int, cash: bool,
                text: str) -> None:
        if at >= self.clock.now:
            return
        day = self.clock.day_index(at)
        self.rows["expenses"].append((
            self.ids.next("expenses"), ticket, text, amount, CASH_TYPE if cash else CARD_TYPE,
            "cash" if cash else "cashless", self.rnd.choice(self.plan.manager_ids),
            self.clock.utc(at), day + 1))
        if cash:
            self.cash_delta[day] -= amount

    def close_day(self, i: int, day: date) -> None:
        """The evening collection: the drawer keeps DRAWER_FLOAT, the rest goes out (a
        service cash move), so the drawer never runs dry; the shift records both ends."""
        if i >= self.shifts:
            return
        at_open = self.drawer
        if i == 0:  # the float is put in at the first opening, a row like any other
            self.rows["cash_moves"].append((
                self.ids.next("cash_moves"), DRAWER_FLOAT, "Размен", 1,
                self.clock.utc(datetime.combine(day, SHIFT_OPEN)), 1, "not_fiscal", 0))
            self.drawer += DRAWER_FLOAT
        self.drawer += self.cash_delta[i]
        collect = datetime.combine(day, dtime(20, 15))
        if collect < self.clock.now and self.drawer > DRAWER_FLOAT:
            out = self.drawer - DRAWER_FLOAT
            self.rows["cash_moves"].append((
                self.ids.next("cash_moves"), -out, "Инкассация", 1, self.clock.utc(collect),
                i + 1, "not_fiscal", 0))
            self.drawer = DRAWER_FLOAT
        self.shift_drawers[i + 1] = (at_open, self.drawer)

    def counts(self) -> dict[str, int]:
        return {t: n for t, n in self.ids.counters.items() if t != "quick"}


class Sale:
    """One sale receipt with its lines, its payment parts and perhaps a refund."""

    def __init__(self, year: ChainYear, ticket: int | None, created: datetime,
                 staff: int) -> None:
        self.year, self.rnd = year, year.rnd
        self.ticket, self.created, self.staff = ticket, created, staff
        self.id = year.ids.next("receipts")
        self.items: list[tuple[Any, ...]] = []
        self.total = 0
        self.paid_at: datetime | None = None

    def lines(self, count: int, *, counter: bool = False, service: int | None = None) -> None:
        pool = COUNTER_GOODS if counter else REPAIRS
        for n in range(count):
            sid = service if service and n == 0 else self.rnd.choice(pool)
            name, price_uah, _kind = SERVICES[sid - 1]
            price = price_uah * 100 + self.rnd.choice((0, 0, 5000, -5000))
            quantity = self.rnd.choices(QTY, cum_weights=QTY_CUM)[0]
            amount = line_amount(price, quantity)
            self.items.append((self.year.ids.next("receipt_lines"), self.id, sid, None,
                               f"S{sid:03d}", name, price, quantity, amount))
            self.total += amount

    def pay(self, at: datetime) -> None:
        """Paid at `at` unless that is still ahead (then it stays an unpaid quote)."""
        if at < self.year.clock.now and self.year.clock.day_index(at) < self.year.shifts:
            self.paid_at = at

    def emit(self) -> None:
        year, clock, paid = self.year, self.year.clock, self.paid_at
        year.rows["receipt_lines"].extend(self.items)
        if paid is None:
            year.rows["receipts"].append((
                self.id, "sale", "unpaid", self.ticket, None, self.total, 0,
                clock.utc(self.created), self.staff, None, None, None, "not_fiscal", None, 0,
                None))
            return
        shift, utc = clock.day_index(paid) + 1, clock.utc(paid)
        parts = self._parts()
        change = self._payments(parts, shift, utc)
        year.rows["receipts"].append((
            self.id, "sale", "paid", self.ticket, None, self.total, change,
            clock.utc(self.created), self.staff, utc, self.staff, shift, "not_fiscal",
            self._fiscal_id(), 0, utc))
        if self.rnd.random() < 0.03:
            self.refund(parts[0][0])

    def _fiscal_id(self) -> str:
        """A UUID-shaped unique id, as pay_receipt stamps (from the seeded generator)."""
        h = f"{self.rnd.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def _parts(self) -> list[tuple[str, int]]:
        """Cash 45 %, card 40 %, split cash + card 15 %."""
        r = self.rnd.random()
        if r < 0.45:
            return [("cash", self.total)]
        if r < 0.85 or self.total < 200:
            return [("cashless", self.total)]
        cash = self.total // 2 // 100 * 100 or self.total // 2
        return [("cash", cash), ("cashless", self.total - cash)]

    def _payments(self, parts: list[tuple[str, int]], shift: int, utc: datetime) -> int:
        """Payment rows; cash parts may get change (a round banknote). Returns Σ change."""
        change_total = 0
        for kind, amount in parts:
            change = 0
            if kind == "cash":
                change = self.rnd.choice((0, 0, 0, -amount % 10_000, -amount % 50_000))
                self.year.cash_delta[shift - 1] += amount
            change_total += change
            self.year.rows["payments"].append((
                self.year.ids.next("payments"), self.id,
                CASH_TYPE if kind == "cash" else CARD_TYPE, kind, amount,
                amount + change if kind == "cash" else None, change, self.staff, utc, shift))
        return change_total

    def refund(self, kind: str) -> None:
        """One line returned within ~two weeks, the way the sale was paid (first part)."""
        assert self.paid_at is not None
        year = self.year
        at = Clock.later(self.paid_at, self.rnd.uniform(1, 110))
        if at >= year.clock.now or year.clock.day_index(at) >= year.shifts:
            return
        line = self.rnd.choice(self.items)
        rid, shift, utc = year.ids.next("receipts"), year.clock.day_index(at) + 1, \
            year.clock.utc(at)
        year.rows["receipts"].append((
            rid, "refund", "paid", self.ticket, self.id, line[8], 0, utc, self.staff, utc,
            self.staff, shift, "not_fiscal", self._fiscal_id(), 0, utc))
        year.rows["receipt_lines"].append((year.ids.next("receipt_lines"), rid, line[2],
                                           line[0], *line[4:]))
        year.rows["payments"].append((
            year.ids.next("payments"), rid, CASH_TYPE if kind == "cash" else CARD_TYPE, kind,
            line[8], None, 0, self.staff, utc, shift))
        if kind == "cash":
            year.cash_delta[shift - 1] -= line[8]


class TicketMoney:
    """A ticket's quote (paid at pick-up, unpaid while the ticket is open), an occasional
    prepayment, parts bought for it, a diagnostics fee when refused; the commission."""

    def __init__(self, year: ChainYear, ticket: int, steps: list[Step], master: int | None,
                 refusing: bool) -> None:
        self.year, self.rnd, self.ticket, self.steps = year, year.rnd, ticket, steps
        self.master, self.refusing = master, refusing
        self.sales: list[Sale] = []
        self.expenses = 0
        self.estimate: int | None = None

    def _at(self, code: str) -> Step | None:
        return next((s for s in self.steps if s.code == code), None)

    def build(self) -> None:
        if self.refusing:
            if self.steps[-1].code == "refused" and self.rnd.random() < 0.3:
                fee = self._sale(self.steps[-1].at, 1, service=1)
                fee.pay(self.steps[-1].at)
            return
        lines = self.rnd.choices((1, 2, 3, 4), weights=(15, 35, 35, 15))[0]
        quote = self._sale(self.steps[min(1, len(self.steps) - 1)].at, lines)
        self.estimate = quote.total
        if (issued := self._at("issued")) is not None:
            quote.pay(issued.at)
        self._extras()

    def _extras(self) -> None:
        work = self._at("in_work")
        if work is None:
            return
        if self.rnd.random() < 0.12:
            self._sale(work.at, 1).pay(work.at)
        if self.rnd.random() < 0.35:
            cost = self.rnd.randrange(20_000, 150_000)
            self.expenses += cost
            self.year.expense(self.ticket, work.at, cost, self.rnd.random() < 0.4, "Запчасть")

    def _sale(self, at: datetime, lines: int, service: int | None = None) -> Sale:
        sale = Sale(self.year, self.ticket, at, self.steps[0].staff_id or 1)
        sale.lines(lines, service=service)
        self.sales.append(sale)
        return sale

    def commission(self) -> tuple[int, int, int]:
        """(base, bp, commission) as db.money.closing stamps it at "issued"."""
        paid = sum(s.total for s in self.sales if s.paid_at is not None)
        bp = self.year.plan.commission_bp(self.master) if self.master is not None else 0
        base, commission = commission_for(paid, 0, self.expenses, bp)
        return base, bp, commission

    def emit(self) -> None:
        for sale in self.sales:
            sale.emit()
