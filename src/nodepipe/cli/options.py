"""Shared by the command modules: the group class, and options and arguments as decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class CommandGroup(click.Group):
    """A group whose help lists its commands in the order they were added, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def command_group(name: str, summary: str) -> CommandGroup:
    """A sub-command group such as ``nodepipe node``; without a sub-command it prints its help."""
    return CommandGroup(name=name, help=summary, no_args_is_help=True)


def _list_or_none(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[str] | None:
    """Repeated values as a list, or None when none were given (what the services expect)."""
    return list(values) or None


def names_argument(name: str, *, required: bool = True) -> Callable[[F], F]:
    """A variadic argument (``NODES...``), passed on as a list (None when optional and absent)."""
    return click.argument(name, nargs=-1, required=required, callback=_list_or_none)


def repeatable_option(*declarations: str, metavar: str, help: str) -> Callable[[F], F]:
    """An option that may be given several times, passed on as ``list[str] | None``."""
    return click.option(
        *declarations, multiple=True, callback=_list_or_none, metavar=metavar, help=help
    )


_JSON_ASKED = [False]
"""Whether the command being run was given ``--json`` (read when it fails: :func:`json_asked`)."""


def _remember_json(ctx: click.Context, param: click.Parameter, asked: bool) -> bool:
    _JSON_ASKED[0] = asked
    return asked


def json_asked(forget: bool = False) -> bool:
    """Whether the command was given ``--json``: its error is then printed as JSON too.
    ``forget``: a new command starts (the answer is False until its ``--json`` is read)."""
    if forget:
        _JSON_ASKED[0] = False
    return _JSON_ASKED[0]


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    callback=_remember_json,
    help="Print machine-readable JSON instead of text (an error too: the API's error body).",
)
pipeline_option = click.option(
    "--pipeline",
    "-p",
    metavar="PIPELINE",
    required=True,
    help="The pipeline (id or tag) this applies in.",
)
large_option = click.option(
    "--large",
    is_flag=True,
    help="Accept a folder of more than 20,000 files (every status then reads them all).",
)
lookup_pipeline_option = click.option(
    "--pipeline",
    "-p",
    metavar="PIPELINE",
    help="Look the node up in this pipeline only (picks one of several nodes sharing a tag).",
)
with_data_option = click.option(
    "--with-data", is_flag=True, help="Copy outputs (data/, reports/) too."
)


class DefaultCommandGroup(CommandGroup):
    """A group run as its ``default`` sub-command when its first argument names none of its
    sub-commands (``nodepipe backup DEST`` is ``nodepipe backup create DEST``)."""

    def __init__(self, *args: Any, default: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = [self.default, *args]
        return super().parse_args(ctx, args)
