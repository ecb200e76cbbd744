"""The base of every schema: strict about unknown fields, and able to read domain values."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """Base of every body. Unknown fields in requests are refused, not silently ignored; an
    answer is read from a domain value's attributes (``model_validate(value)``), by a field's
    name or by its alias where the public name differs."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, from_attributes=True)
