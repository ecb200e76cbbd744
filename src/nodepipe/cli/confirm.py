"""Asking before a command deletes something: ``--yes`` to skip, a clear refusal without a
terminal to ask on.

A command that deletes node folders or outputs first learns from its service what it would
lose (``domain.views.Loss``), names it, and asks. When nothing would be lost it does not ask.
When stdin is not a terminal (a script, a pipe) and ``--yes`` was not given it refuses: a
script never deletes by accident, and never hangs on a question nobody sees.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
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
    outputs = f"{_size(loss.output_bytes)} of outputs" if loss.output_bytes else "no outputs"
    what = f"its folder (code, environment) and {outputs}" if loss.folder else outputs
    users = ", ".join(loss.library_users)
    moved = f"; {users} will install its package from {loss.successor}" if users else ""
    return f"node {loss.tag} ({loss.node_id}): {what}{moved}"


def confirm_losses(command: str, losses: Sequence[Loss], yes: bool) -> None:
    """Ask whether ``command`` may delete ``losses``; NotConfirmedError when it may not."""
    if yes or not losses:
        return
    lines = "\n".join(f"  {describe(loss)}" for loss in losses)
    if not sys.stdin.isatty():
        raise NotConfirmedError(
            f"{command} would delete:\n{lines}\nnothing was deleted; stdin is not a terminal "
            f"to ask on: confirm with `nodepipe {command} … --yes`"
        )
    error_console.print(f"{command} will delete:\n{lines}", markup=False, highlight=False)
    if not click.confirm("Delete?", default=False, err=True):
        raise NotConfirmedError(f"{command}: not confirmed; nothing was deleted")


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover - the loop returns at GB
