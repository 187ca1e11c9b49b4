"""Typed FSM data: each form declares one pydantic model of what it keeps, and reads and writes
it only through `load` / `save` / `update`. A model that does not validate (another form's
data, a form from an older release, a stale button after the form ended) reads as None, so the
caller answers "устарело" instead of failing on a missing key."""

from __future__ import annotations

from typing import Any, TypeVar

from aiogram.fsm.context import FSMContext
from pydantic import BaseModel, ConfigDict, ValidationError


class FormData(BaseModel):
    """Base of every form's data. Unknown keys are ignored (older data, other forms' keys)."""

    model_config = ConfigDict(extra="ignore")


F = TypeVar("F", bound=FormData)


async def load(state: FSMContext, model: type[F]) -> F | None:
    try:
        return model.model_validate(await state.get_data())
    except ValidationError:
        return None


async def save(state: FSMContext, data: FormData) -> None:
    """Replace the form's data (JSON-safe, so Redis and database storages keep it)."""
    await state.set_data(data.model_dump(mode="json"))


async def update(state: FSMContext, data: F, **changes: Any) -> F:
    """Copy of `data` with `changes`, validated and saved."""
    new = data.model_validate({**data.model_dump(), **changes})
    await save(state, new)
    return new
