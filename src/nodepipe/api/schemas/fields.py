"""Field types of request bodies whose documented JSON schema is exactly the validation behind
them: names and slots (documented as the pattern of the domain's rule, checked with the rule
itself), whole numbers as JSON Schema counts them, finite coordinates; requirements (checked
with the domain's rule, a refusal about their field); absolute paths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.names import (
    MAX_NAME_LENGTH,
    NAME_RULE,
    SLOT_PATTERN,
    name_pattern,
    validate_name,
    validate_slot,
)
from nodepipe.domain.requirements import validate_requirements


def _whole_number(value: object) -> object:
    """JSON Schema counts ``2.0`` as an integer, so nodepipe does too (and not ``"2"``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def name_schema(schema: dict[str, Any]) -> None:
    """Document the rule of ``validate_name`` in a JSON schema (of a field or a parameter)."""
    schema.update(minLength=1, maxLength=MAX_NAME_LENGTH, pattern=name_pattern())


WholeNumber = BeforeValidator(_whole_number)
"""Put last in ``Annotated[int, Field(...), WholeNumber]`` (after the constraints, so that the
documented schema keeps them)."""
Coordinate = Annotated[float, Field(allow_inf_nan=False)]
"""A position on the canvas: a finite number."""


RULE_ERROR = "nodepipe_rule"
"""The ``type`` of a validation error raised by a domain rule: its message is a sentence that
names the value and says what is wrong with it (the 422's message shows it as it is)."""


Checked = TypeVar("Checked")


def _refused(check: Callable[[Checked], object]) -> Callable[[Checked], Checked]:
    """``check`` (a domain rule) as a validator: its message becomes the 422's."""

    def validate(value: Checked) -> Checked:
        try:
            check(value)
        except InvalidInputError as error:
            raise PydanticCustomError(RULE_ERROR, "{rule}", {"rule": str(error)}) from error
        return value

    return validate


def _check_name(value: str, info: ValidationInfo) -> str:
    """``validate_name``, naming the value by its field ("invalid tag 'a/b': ...")."""
    what = (info.field_name or "name").replace("_", " ")

    def check(text: str) -> str:
        return validate_name(text, what)

    return _refused(check)(value)


NameCheck = AfterValidator(_check_name)
"""``validate_name`` as a validator; put beside ``json_schema_extra=name_schema``."""
Name = Annotated[
    str,
    NameCheck,
    Field(
        json_schema_extra=name_schema,
        description=f"A name: {NAME_RULE}.",
    ),
]
"""A new name (a tag, a project, a group...): checked here with the rule the services apply
(``validate_name``, so even a background job's name is refused at once), and documented as
the pattern that accepts exactly what the rule accepts."""


def _absolute(path: str) -> None:
    if not path.startswith("/"):
        raise InvalidInputError(f"give an absolute path ({path} is not one)")


AbsolutePath = Annotated[
    str, AfterValidator(_refused(_absolute)), Field(json_schema_extra={"pattern": "^/"})
]
"""A path of the server's, absolute (a relative one would depend on where the server runs)."""
Requirements = Annotated[list[str], AfterValidator(_refused(validate_requirements))]
"""PEP 508 requirements (or supported bare URLs), checked with the rule the services apply, so
that one that does not parse is refused at once about its field, even for a background job."""
Slot = Annotated[
    str,
    AfterValidator(_refused(validate_slot)),
    Field(
        json_schema_extra={"pattern": SLOT_PATTERN},
        description="1-32 letters, digits, '_', '-' or '.', e.g. 01 or train.",
    ),
]


def slot_keys(schema: dict[str, Any]) -> None:
    """Document a mapping keyed by ``Slot`` as exactly what validates: every key a slot (the
    pattern Pydantic writes as ``patternProperties`` lets other keys through unchecked)."""
    values = schema.pop("patternProperties", {})
    if values:
        (schema["additionalProperties"],) = values.values()
    schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": SLOT_PATTERN}
