"""Rendering results: ``--json`` (machine-readable) or rich text for people, in one place.

With ``--json`` a command prints what the API answers for the same object: the same shared
schema (``nodepipe.schemas``) reads the result and serialises it (:func:`render`). What only
the CLI shows (a backup, a doctor report) is serialised by pydantic as it is. Pydantic and the
schemas are imported only then, so that commands printing text do not pay for them.

Names come from users and may hold ``[`` or ``:``: text quoting them is printed without markup
(:func:`done`), or with each name passed through ``rich.markup.escape`` (:func:`say`), so that
rich never reads a tag like ``x[/]`` as markup.

rich itself is imported on the first message printed through it: ``console`` and
``error_console`` make their rich consoles when first used, so a command whose output is a
listing (``cli.listing``) or JSON never imports rich.

A reader that goes away (``nodepipe run --json | head -1``) ends the output, not the command:
:func:`reader_gone` sends what is written to the closed pipe nowhere from then on, silently.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from nodepipe.schemas import SchemaName


class LazyConsole:
    """A rich console (on stdout, or stderr) made, and rich imported, on first use."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr = stderr

    @functools.cached_property
    def rich(self) -> Console:
        from rich.console import Console

        class _Console(Console):
            def on_broken_pipe(self) -> None:
                """The reader went away: the ``BrokenPipeError`` goes on to nodepipe's own
                ending (``READER_GONE``, nothing said); rich's would exit with 1, "an error"."""
                self.quiet = True
                raise  # (rich calls this while it handles that error)

        return _Console(stderr=self._stderr, highlight=False, emoji=False)

    def print(self, *objects: Any, **options: Any) -> None:
        self.rich.print(*objects, **options)

    def status(self, what: str) -> Status:
        return self.rich.status(what)

    @property
    def file(self) -> IO[str]:
        return self.rich.file


console = LazyConsole()
error_console = LazyConsole(stderr=True)

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


def print_error_json(error: BaseException) -> None:
    """With ``--json``, a command that failed prints on stdout the body the API answers for
    the same error (``kind``, ``message``, ``hint`` as data), on one line (``run --json``
    prints one event a line); the message for people, the hint worded as a command, still
    goes to stderr."""
    from nodepipe.schemas.errors import describe

    body = describe(error)[1].model_dump(mode="json", exclude_none=True)
    with unless_reader_gone():
        print(json.dumps(body, ensure_ascii=False), flush=True)


def counted(number: int, word: str) -> str:
    """``1 node``, ``2 nodes``: a count with its noun (a plain ``s`` for more than one)."""
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def done(message: str) -> None:
    """Print a plain message (no markup: it may quote user-chosen names verbatim; control
    characters in them shown as ``�``), without rich."""
    from nodepipe.cli.listing import printable

    print(printable(message), flush=True)


def say(markup: str) -> None:
    """Print a message with rich markup; pass every user-chosen name in it through `escape`."""
    console.print(markup)


def escape(text: str) -> str:
    """``text`` with rich's markup escaped (rich imported only now)."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def print_error(message: str) -> None:
    """``error: <message>`` on stderr."""
    error_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)


def print_warning(message: str) -> None:
    """``warning: <message>`` on stderr: the command did what it was asked, but see this."""
    error_console.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


def reader_gone() -> None:
    """The reader of stdout (or stderr) went away: from now on what is written to that closed
    pipe goes to the null device, so no later write (nor the final flush) fails, and nothing
    more is said about it. Called on a ``BrokenPipeError``."""
    import select

    fds = []
    for stream in (sys.stdout, sys.stderr):
        try:
            fds.append(stream.fileno())
        except (AttributeError, OSError, ValueError):  # not a file (a test's capture)
            continue
    poll = select.poll()
    for fd in fds:
        poll.register(fd, select.POLLOUT)
    # A pipe whose reader closed polls as an error; if neither says so, stdout it is.
    broken = [fd for fd, events in poll.poll(0) if events & (select.POLLERR | select.POLLHUP)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in broken or fds[:1]:
            os.dup2(null, fd)
    finally:
        os.close(null)


@contextmanager
def unless_reader_gone() -> Iterator[None]:
    """What is printed inside stops at a reader that went away (:func:`reader_gone`); the
    caller goes on as if it had been read."""
    try:
        yield
    except BrokenPipeError:
        reader_gone()
