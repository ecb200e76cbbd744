"""`nodepipe backup`: copy the store (the default), list the copies, restore one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nodepipe.cli.options import DefaultCommandGroup, json_option
from nodepipe.cli.output import done, render
from nodepipe.cli.session import selected_path, workspace
from nodepipe.cli.views import add_row, table

if TYPE_CHECKING:
    from nodepipe.services.upkeep.backup import Restored

app = DefaultCommandGroup(
    name="backup",
    default="create",
    help="Copies of the workspace's store: `nodepipe backup [DEST]` makes one.",
)


@app.command("create")
@click.argument("dest", type=click.Path(path_type=Path), required=False)
@json_option
def create(dest: Path | None, as_json: bool) -> None:
    """Copy the store to DEST (a new file or a folder; default: .nodepipe/backups/).

    The copy is consistent while other commands and runs go on, and readable by you only.
    """
    made = workspace().backup(dest)
    render(
        made,
        as_json,
        None,
        f"backed up the {made.dialect} store to {made.path} ({made.size} bytes)",
    )


@app.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List the backups in .nodepipe/backups/, oldest first."""
    from nodepipe.services.upkeep.backup import backups

    found = backups(selected_path())
    sizes = [{"path": path, "size": path.stat().st_size} for path in found]
    render(sizes, as_json, None, _print_backups)


def _print_backups(sizes: list[dict[str, Any]]) -> None:
    grid = table("backup", "bytes")
    for backup in sizes:
        add_row(grid, str(backup["path"]), str(backup["size"]))
    grid.write()


@app.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
def restore(file: Path, as_json: bool) -> None:
    """Make the backup FILE the workspace's store again.

    The store it replaces is kept (moved aside, or dumped into .nodepipe/backups/). Refused
    while another process (a run, the web app) uses the store.
    """
    from nodepipe.services.upkeep.backup import restore as restore_backup

    render(restore_backup(selected_path(), file), as_json, None, _print_restored)


def _print_restored(restored: Restored) -> None:
    done(f"restored {restored.store} from {restored.backup}")
    if restored.previous is not None:
        done(f"the store it replaced is kept at {restored.previous}")
