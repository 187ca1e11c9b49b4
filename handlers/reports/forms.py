"""The section's two typed-in answers. Each form's data names the form, so data left by
another form (or by a release before typed forms) reads as None: the handler says the form
is out of date and changes nothing."""

from __future__ import annotations

from typing import Literal

from aiogram.fsm.state import State, StatesGroup

from handlers.forms import FormData


class ReportForm(StatesGroup):
    period = State()  # a day or a period, typed after "✏️ Другой период"
    digest_time = State()  # the digest's HH:MM, typed after "✏️ Своё время сводки"


class PeriodData(FormData):
    form: Literal["report.period"]  # required: other data does not validate

    @classmethod
    def start(cls) -> PeriodData:
        return cls(form="report.period")


class DigestTimeData(FormData):
    form: Literal["report.digest_time"]

    @classmethod
    def start(cls) -> DigestTimeData:
        return cls(form="report.digest_time")
