"""The root group's sub-commands, each imported only when it runs (or its own help prints).

``nodepipe --help`` and every command pay only for the modules they use: the command table
here names each command's module and its one-line summary, so the root help is printed from
the table without importing a single command module.
``tests/integration/test_cli_imports.py`` checks each summary against the command's own help,
so the two cannot drift apart.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import click

from nodepipe.cli.options import CommandGroup


class LazyCommand(NamedTuple):
    """Where a sub-command lives (``module:attribute``) and the summary the root help shows."""

    target: str
    summary: str
    extras: tuple[str, ...] = ()  # sub-commands that other modules add to it ("module:attr")

    def load(self) -> click.Command:
        command = _attribute(self.target)
        if isinstance(command, click.Group):
            for extra in self.extras:
                added = _attribute(extra)
                command.add_command(added)
        return command


@contextmanager
def _ended_if_reader_gone() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        from nodepipe.cli.errors import READER_GONE
        from nodepipe.cli.output import reader_gone

        reader_gone()
        raise click.exceptions.Exit(READER_GONE.code) from None


def _attribute(target: str) -> click.Command:
    module, attribute = target.split(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command), target
    return command


class LazyCommandGroup(CommandGroup):
    """A group that imports a sub-command's module on first use, listing them in table order.

    A sub-command cut off by its output's reader going away (``nodepipe status | head -1``)
    ends here, silently, with ``READER_GONE`` (click's own ending would be 1, "an error")."""

    def __init__(self, *args: Any, lazy: dict[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _ended_if_reader_gone():  # the root's --help is printed here
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _ended_if_reader_gone():
            return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.commands, *(name for name in self.lazy if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.lazy[cmd_name].load(), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their summaries, without importing the commands not yet loaded."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None:
                summary = loaded.get_short_help_str(limit)
            else:
                summary = click.Command(name, help=self.lazy[name].summary).get_short_help_str(
                    limit
                )
            rows.append((name, summary))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
