"""Rendering results: ``--json`` (machine-readable) or rich text for people, in one place.

With ``--json`` a command prints what the API answers for the same object: the same shared
schema (``nodepipe.schemas``) reads the result and serialises it (:func:`render`). What only
the CLI shows (a backup, a doctor report) is serialised by pydantic as it is. Pydantic and the
schemas are imported only then, so that commands printing text do not pay for them.

Names come from users and may hold ``[`` or ``:``: text quoting them is printed without markup
(:func:`done`), or with each name passed through ``rich.markup.escape`` (:func:`say`), so that
rich never reads a tag like ``x[/]`` as markup.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from nodepipe.schemas import SchemaName

console = Console(highlight=False, emoji=False)
error_console = Console(stderr=True, highlight=False, emoji=False)

R = TypeVar("R")


def render(
    result: R,
    as_json: bool,
    schema: SchemaName | None,
    human: str | Callable[[R], object],
    context: object = None,
) -> None:
    """Print a command's ``result``: its JSON with ``--json``, else its human rendering.

    ``schema`` names what the API answers with for the same object (for each item of a list
    or tuple), None for what only the CLI shows; ``context`` is given to its validation (a
    plan's tags). ``human`` is a plain message, or prints ``result`` itself.
    """
    if as_json:
        print_json(json_data(result, schema, context))
    elif isinstance(human, str):
        done(human)
    else:
        human(result)


def json_data(value: object, schema: SchemaName | None = None, context: object = None) -> Any:
    """``value`` as JSON data: read by the schema named (each item of a list or tuple) and
    dumped as the API dumps it, or without a schema as pydantic serialises any value
    (dataclasses, enums, datetimes, paths)."""
    if schema is None:
        from pydantic_core import to_jsonable_python

        return to_jsonable_python(value)
    if isinstance(value, list | tuple):
        return [json_data(item, schema, context) for item in value]
    from nodepipe.schemas import shared_schemas

    model = shared_schemas()[schema]
    return model.model_validate(value, context=context).model_dump(mode="json")


def print_json(data: Any) -> None:
    """Print JSON data on stdout, nothing else."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


def done(message: str) -> None:
    """Print a plain message (no markup: it may quote user-chosen names verbatim)."""
    console.print(message, markup=False)


def say(markup: str) -> None:
    """Print a message with rich markup; pass every user-chosen name in it through `escape`."""
    console.print(markup)


def print_error(message: str) -> None:
    """``error: <message>`` on stderr."""
    error_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
