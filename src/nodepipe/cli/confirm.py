"""Asking before a command deletes something: ``--yes`` to skip, a clear refusal without a
terminal to ask on.

A command that deletes node folders or outputs first learns from its service what it would
lose (``domain.views.Loss``), names it, and asks. When nothing would be lost it does not ask.
When stdin is not a terminal (a script, a pipe) and ``--yes`` was not given it refuses: a
script never deletes by accident, and never hangs on a question nobody sees.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import click

from nodepipe.cli.output import error_console
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.views import Loss

F = TypeVar("F", bound=Callable[..., Any])

yes_option: Callable[[F], F] = click.option(
    "--yes", "-y", is_flag=True, help="Do not ask before deleting (for scripts)."
)


class NotConfirmedError(InvalidInputError):
    """A destructive command was not confirmed: declined, or no terminal to ask on."""


def describe(loss: Loss) -> str:
    """``node clean (k3j9x2): its folder (code, environment) and 1.2 MB of outputs``."""
    outputs = f"{_size(loss.output_bytes)} of outputs" if loss.output_files else "no outputs"
    what = f"its folder (code, environment) and {outputs}" if loss.folder else outputs
    users = ", ".join(loss.library_users)
    moved = f"; {users} will install its package from {loss.successor}" if users else ""
    return f"node {loss.tag} ({loss.node_id}): {what}{moved}"


def confirm_losses(command: str, losses: Sequence[Loss], yes: bool) -> None:
    """Ask whether ``command`` may delete ``losses``; NotConfirmedError when it may not."""
    if yes or not losses:
        return
    confirm_deleting(command, "\n".join(f"  {describe(loss)}" for loss in losses))


def confirm_deleting(command: str, lines: str) -> None:
    """Ask whether ``command`` may delete what ``lines`` name (indented, one a line);
    NotConfirmedError when it may not."""
    if not sys.stdin.isatty():
        raise NotConfirmedError(
            f"{command} would delete:\n{lines}\nnothing was deleted; stdin is not a terminal "
            f"to ask on: confirm with `{typed_again()}`"
        )
    error_console.print(f"{command} will delete:\n{lines}", markup=False, highlight=False)
    if not click.confirm("Delete?", default=False, err=True):
        raise NotConfirmedError(f"{command}: not confirmed; nothing was deleted")


def typed_again(flag: str = "--yes") -> str:
    """The command being run, as the user can paste it to run it again with ``flag``: the
    program, its subcommands, then each option and argument given on the command line (not
    those from defaults or the environment), quoted for the shell."""
    context = click.get_current_context(silent=True)
    chain: list[click.Context] = []
    while context is not None:
        chain.insert(0, context)
        context = context.parent
    words = ["nodepipe"]
    for level in chain:
        if level.parent is not None:
            words.append(level.info_name or "")
        words.extend(_given(level, flag))
    return shlex.join([*words, flag])


def _given(context: click.Context, flag: str) -> Iterator[str]:
    """The options, then the arguments, ``context``'s command line gave (``flag`` left out)."""
    options: list[str] = []
    arguments: list[str] = []
    for param in context.command.params:
        name = param.name or ""
        if flag in param.opts or context.get_parameter_source(name) is not _TYPED:
            continue
        value = context.params.get(name)
        values = list(value) if isinstance(value, tuple | list) else [value]
        if isinstance(param, click.Argument):
            arguments.extend(str(item) for item in values)
        elif isinstance(param, click.Option) and param.is_flag:
            options.append(param.opts[0] if value else (param.secondary_opts or [""])[0])
        elif isinstance(param, click.Option):
            for item in values:
                options.extend((param.opts[0], str(item)))
    yield from options
    if any(argument.startswith("-") for argument in arguments):
        yield "--"  # an argument such as "-x" is not read as an option
    yield from arguments


_TYPED = click.core.ParameterSource.COMMANDLINE


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover - the loop returns at GB
