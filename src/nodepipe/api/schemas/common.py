"""Shapes shared by every resource: the error body, the base models, workspace information,
and the field types whose documented schema is exactly the validation behind them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.names import (
    MAX_NAME_LENGTH,
    SLOT_PATTERN,
    name_pattern,
    validate_name,
    validate_slot,
)


class Schema(BaseModel):
    """Base of every body: unknown fields in requests are refused, not silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Input(Schema):
    """Base of every request body: strict, so it accepts what its JSON schema says and no more
    (``0`` is not ``false``, ``"2"`` is not ``2``)."""

    model_config = ConfigDict(strict=True)


def _whole_number(value: object) -> object:
    """JSON Schema counts ``2.0`` as an integer, so nodepipe does too (and not ``"2"``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def name_rule(schema: dict[str, Any]) -> None:
    """Document the rule of ``validate_name`` in a JSON schema (of a field or a parameter)."""
    schema.update(minLength=1, maxLength=MAX_NAME_LENGTH, pattern=name_pattern())


WholeNumber = BeforeValidator(_whole_number)
"""Put last in ``Annotated[int, Field(...), WholeNumber]`` (after the constraints, so that the
documented schema keeps them)."""
Coordinate = Annotated[float, Field(allow_inf_nan=False)]
"""A position on the canvas: a finite number."""


def _refused(check: Callable[[str], object]) -> Callable[[str], str]:
    """``check`` (a domain rule) as a validator: its message becomes the 422's."""

    def validate(value: str) -> str:
        try:
            check(value)
        except InvalidInputError as error:
            raise PydanticCustomError("nodepipe_rule", "{rule}", {"rule": str(error)}) from error
        return value

    return validate


NameRule = AfterValidator(_refused(lambda value: validate_name(value, "name")))
"""``validate_name`` as a validator; put beside ``json_schema_extra=name_rule``."""
Name = Annotated[
    str,
    NameRule,
    Field(
        json_schema_extra=name_rule,
        description="A name: no '/', '\\', '..', control characters, leading or trailing "
        "blanks, or leading '-'; at most 100 characters.",
    ),
]
"""A new name (a tag, a project, a group...): checked here with the rule the services apply
(``validate_name``, so even a background job's name is refused at once), and documented as
the pattern that accepts exactly what the rule accepts."""
Slot = Annotated[
    str,
    AfterValidator(_refused(validate_slot)),
    Field(
        json_schema_extra={"pattern": SLOT_PATTERN},
        description="1-32 letters, digits, '_', '-' or '.', e.g. 01 or train.",
    ),
]


class ErrorPublic(Schema):
    """What every error answers with: a ``kind`` to branch on and a message for people."""

    kind: str = Field(description="not_found, ambiguous, conflict, cycle, read_only, ...")
    message: str
    cycle: list[str] | None = Field(
        default=None, description="For a cycle: the node ids around it, the first repeated last."
    )
    details: list[dict[str, Any]] | None = None


class WorkspacePublic(Schema):
    root: str
    store: str
    python_version: str
    version: str
    token_required: bool = Field(
        default=False, description="True when the server requires a token (not loopback)."
    )


class Health(Schema):
    ok: bool = True


Names = list[str]
"""Node or pipeline names: ids, unambiguous tags or id prefixes."""
