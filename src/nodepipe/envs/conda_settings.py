"""The conda layer's settings read from the environment (``NODEPIPE_CONDA_*``): each a whole
number above zero, its default when unset, and a clear refusal naming the variable otherwise."""

from __future__ import annotations

import os

from nodepipe.domain.errors import InvalidInputError


def positive_setting(variable: str, default: int, unit: str) -> int:
    """``variable``'s value (a whole number of ``unit`` above zero), ``default`` when unset."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise InvalidInputError(f"{variable}={text!r} is not a number of {unit}")
    return value
