"""The money forms, each a StatesGroup (what typed text means at each step) and one FormData
model (what it keeps), read and written only through handlers.forms. Starting a form replaces
whatever another form kept, so a button of a form that ended finds no data of its own (or data
of another receipt or ticket) and answers "устарело"."""

from __future__ import annotations

from enum import StrEnum

from aiogram.fsm.state import State, StatesGroup
from pydantic import Field

from db.money.payments import PaymentPlan, PlannedPart
from handlers.forms import FormData
from keyboards.money import PriceField


class MoneyForm(FormData):
    ui_id: int | None = None  # the message with the current step's buttons (stripped later)


class ReceiptForm(StatesGroup):
    line = State()  # a code or a part of a service name, with an optional quantity
    free_name = State()
    free_price = State()


class ReceiptData(MoneyForm):
    receipt_id: int
    free_name: str | None = None  # the free line's name (typed, or the search that found none)
    quantity: int | None = None  # typed with the search ("стекло *2"), kept for the free line


class PayForm(StatesGroup):
    received = State()  # cash handed over
    part = State()  # the amount of one split part


class PayData(MoneyForm):
    receipt_id: int
    parts: list[PlannedPart]
    part_type_id: int | None = None  # the split part whose amount is being typed

    def plan(self, total: int) -> PaymentPlan:
        """Against the receipt's total now: a receipt changed meanwhile shows what is left."""
        return PaymentPlan(total, tuple(self.parts))


class ExpenseForm(StatesGroup):
    what = State()
    amount = State()


class ExpenseData(MoneyForm):
    ticket_id: int  # 0: the shop's, from the drawer
    what: str | None = None
    amount: int | None = None  # typed; the payment type button records the expense


class CashDirection(StrEnum):
    IN = "in"
    OUT = "out"


class CashForm(StatesGroup):
    amount = State()
    reason = State()


class CashData(MoneyForm):
    direction: CashDirection
    amount: int | None = None

    @property
    def signed(self) -> int:
        amount = self.amount or 0
        return amount if self.direction is CashDirection.IN else -amount


class PriceForm(StatesGroup):
    code = State()
    name = State()
    price = State()
    edit = State()  # a new value of one field of a service


class NewServiceData(MoneyForm):
    code: str = ""
    name: str = ""


class ServiceEditData(MoneyForm):
    service_id: int
    field: PriceField


class PayTypeForm(StatesGroup):
    name = State()


class PayTypeData(MoneyForm):
    type_id: int  # 0: a new type
    names: tuple[str, str] | None = None  # a new type's ru/uk names, until its kind is picked


class RefundForm(StatesGroup):
    amount = State()  # money given back on one line (`amount_line`), typed


class RefundData(MoneyForm):
    """A refund's selection: quantities by buttons, amounts typed per line."""

    receipt_id: int
    selection: dict[int, int]  # line id → quantity to return, thousandths
    amounts: dict[int, int] = Field(default_factory=dict)  # line id → kopecks back by amount
    amount_line: int | None = None  # the line whose amount is being typed


MONEY_FORMS = (ReceiptForm, PayForm, ExpenseForm, CashForm, PriceForm, PayTypeForm, RefundForm)
MONEY_STATES = frozenset(s.state for form in MONEY_FORMS for s in form.__all_states__)
