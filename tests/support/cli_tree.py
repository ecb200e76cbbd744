"""The ``nodepipe`` command tree, walked from the CLI itself (every lazy sub-command loaded):
what the README reference test, the Python API parity test and the CLI fuzzer go through."""

from __future__ import annotations

import click

from nodepipe.cli.app import app


def commands(
    group: click.Group = app, path: tuple[str, ...] = ()
) -> dict[tuple[str, ...], click.Command]:
    """Every command and group below ``group``, by its words (``("env", "conda", "add")``)."""
    found: dict[tuple[str, ...], click.Command] = {}
    ctx = click.Context(group, info_name=" ".join(("nodepipe", *path)))
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found[(*path, name)] = command
        if isinstance(command, click.Group):
            found.update(commands(command, (*path, name)))
    return found


def leaf_commands() -> dict[tuple[str, ...], click.Command]:
    """Every command that runs something (not a group), by its words."""
    return {
        words: command
        for words, command in commands().items()
        if not isinstance(command, click.Group)
    }
