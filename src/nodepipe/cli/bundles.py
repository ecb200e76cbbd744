"""`nodepipe bundle ...` (export, import, check) and `nodepipe pipeline include(s)`.

Errors name the command they come from ("bundle import: …"), and say which option the fix
needs (``--force`` to replace an export directory, ``--yes`` to remove nodes an update drops).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nodepipe.cli.confirm import typed_again
from nodepipe.cli.options import command_group, json_option, repeatable_option
from nodepipe.cli.output import console, counted, done, print_warning, render
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_pipeline
from nodepipe.domain.errors import InvalidInputError, NodepipeError

if TYPE_CHECKING:
    from nodepipe.services.bundles.creation import SyncProgress
    from nodepipe.services.bundles.service import CheckResult, ExportResult, IncludeView
    from nodepipe.services.bundles.updating import UpdateResult

app = command_group("bundle", "Bundles: pipelines as portable, git-friendly folders.")


@contextmanager
def named(command: str, hints: dict[str, str] | None = None) -> Iterator[None]:
    """Errors inside the block start with ``command``; ``hints`` add the fix for errors of
    the named classes."""
    try:
        yield
    except NodepipeError as error:
        message = str(error)
        hint = (hints or {}).get(type(error).__name__)
        error.args = (f"{command}: {message}" + (f"; {hint}" if hint else ""),)
        raise


@contextmanager
def sync_progress(quiet: bool) -> Iterator[SyncProgress | None]:
    """A bar counting node environments synced, on a terminal (nothing with --json; nothing
    piped either: rich would end the bar it never drew with a blank line before the answer)."""
    if quiet or not sys.stdout.isatty():
        yield None
        return
    columns = (
        TextColumn("syncing environments"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=console.rich, transient=True) as progress:
        task = progress.add_task("", total=None)

        def advance(name: str, total: int) -> None:
            progress.update(task, advance=1, total=total, description=name)

        yield advance


@app.command("export")
@click.argument("pipeline")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--with-data", is_flag=True, help="Write each node's outputs (data/) too.")
@click.option(
    "--force", is_flag=True, help="Replace DIRECTORY if it holds a previous export (only then)."
)
@repeatable_option(
    "--input",
    metavar="NAME=NODE",
    help="Declare an input of the bundle: NODE takes it on slot NAME when the bundle is "
    "included elsewhere (repeatable; several nodes may take one input). Replaces the inputs "
    "the pipeline declares; without --input, an export writes those.",
)
@click.option(
    "--no-inputs", is_flag=True, help="Clear the inputs the pipeline declares; write none."
)
@json_option
def export(
    pipeline: str,
    directory: Path,
    with_data: bool,
    force: bool,
    input: list[str] | None,
    no_inputs: bool,
    as_json: bool,
) -> None:
    """Write PIPELINE as a bundle in DIRECTORY: pipeline.toml, pipeline.lock, nodes/<tag>/code.

    The output is deterministic: exporting again gives the same bytes for the same pipeline.
    """
    hints = {"NotEmptyError": f"replace it with `{typed_again('--force')}`"}
    if input and no_inputs:
        raise click.UsageError("give --input NAME=NODE or --no-inputs, not both")
    inputs: dict[str, list[str]] = {}
    for item in input or []:
        name, node = _assignment(item)
        inputs.setdefault(name, []).append(node)
    given = inputs if input or no_inputs else None  # None: the inputs the pipeline declares
    with named("bundle export", hints):
        result = workspace().bundles.export(pipeline, directory, with_data, force, inputs=given)
    render(result, as_json, None, _print_export)


def _print_export(result: ExportResult) -> None:
    nodes = counted(len(result.nodes), "node")
    if result.included:  # their folders are not written: say so, and count them too
        total = counted(len(result.nodes) + len(result.included), "node")
        nodes = (
            f"{total}: {len(result.nodes)} written to nodes/, {len(result.included)} "
            f"from the include{'s' if len(result.includes) > 1 else ''} kept"
        )
    done(f"exported pipeline {result.pipeline} to {result.directory} ({nodes})")
    if result.includes:
        done(f"includes kept: {', '.join(result.includes)} (their source, not their folders)")
    if result.inlined:
        done(f"includes written as nodes: {', '.join(result.inlined)}")
    if result.with_data:
        done(f"with the data of {counted(len(result.with_data), 'node')}")
    for name, keys in result.inputs.items():
        done(f"input {name}: taken by {', '.join(keys)}")
    for warning in result.warnings:
        print_warning(warning)


@app.command("import")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--project", help="Project of the new pipeline (default: 'default').")
@click.option("--name", metavar="TAG", help="Tag of the new pipeline (default: the bundle's).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Environments synced at once.")
@json_option
def import_(
    directory: Path, project: str | None, name: str | None, jobs: int | None, as_json: bool
) -> None:
    """Create a pipeline from the bundle in DIRECTORY (new ids; environments synced from each
    node's own uv.lock, several at once, resolving nothing)."""
    ws = workspace()
    with named("bundle import"), sync_progress(as_json) as advance:
        result = ws.bundles.import_(directory, project, name, jobs, on_synced=advance)
    render(result.view, as_json, "PipelineGraph", lambda view: _print_import(result))


def _print_import(result: object) -> None:
    from nodepipe.services.bundles.importing import ImportResult

    assert isinstance(result, ImportResult)
    view = result.view
    nodes = counted(len(view.nodes), "node")
    done(f"imported pipeline {view.pipeline.tag} ({view.pipeline.id}), {nodes}")
    if result.completed:
        done(f"completed by its pipeline.lock: {', '.join(result.completed)}")
    print_pipeline(view)


@app.command("check")
@click.argument("directory", type=click.Path(path_type=Path))
@json_option
def check(directory: Path, as_json: bool) -> None:
    """Check the bundle in DIRECTORY without changing anything; exit 2 if it has problems."""
    with named("bundle check"):
        result = workspace().bundles.check(directory)
    render(result, as_json, None, _print_check)
    if result.problems:
        raise SystemExit(2)


def _print_check(result: CheckResult) -> None:
    if not result.problems:
        done(
            f"{result.directory}: bundle {result.name!r} is fine ({counted(result.nodes, 'node')})"
        )
        return
    done(f"{result.directory}: {len(result.problems)} problem(s)")
    for problem in result.shown("--json"):
        done(f"  - {problem}")


@click.command("includes")
@click.argument("pipeline")
@json_option
def includes(pipeline: str, as_json: bool) -> None:
    """List the bundles PIPELINE includes: namespace, source, where it was found, its hash."""
    with named("pipeline includes"):
        found = workspace().bundles.includes(pipeline)
    render(found, as_json, "IncludePublic", _print_includes)


def _print_includes(found: list[IncludeView]) -> None:
    if not found:
        done("no includes")
    for view in found:
        row = view.include
        done(f"{row.namespace}: {row.source} → {row.location} ({row.content_hash[:12]})")
        done(f"  nodes: {', '.join(view.nodes) or '-'}")


@click.command("include")
@click.argument("pipeline")
@click.argument("source", required=False)
@click.option("--as", "namespace", metavar="NS", help="Namespace of the included nodes.")
@repeatable_option(
    "--input",
    metavar="NAME=NODE",
    help="Feed the bundle's input NAME from NODE (repeatable; with --update: every input the "
    "bundle declares now, replacing what the include fed).",
)
@click.option("--update", "update", metavar="NS", help="Re-read the include NS and update it.")
@click.option(
    "--yes", "-y", is_flag=True, help="With --update: remove the nodes the bundle dropped."
)
@click.option(
    "--replace-edits",
    is_flag=True,
    help="With --update: replace the code of nodes edited here too (kept in undone-edits/).",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Environments synced at once.")
@json_option
def include(
    pipeline: str,
    source: str | None,
    namespace: str | None,
    input: list[str] | None,
    update: str | None,
    yes: bool,
    replace_edits: bool,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Include the bundle SOURCE in PIPELINE under --as NS, or --update NS from its source.

    SOURCE is a path (relative to the current directory), pkg:NAME[spec], or an fsspec URL.
    """
    ws = workspace()
    if update is not None:
        if source is not None or namespace is not None:
            raise click.UsageError("--update NS takes no SOURCE or --as")
        hints = {
            "RemovalsNotConfirmedError": f"confirm with `{typed_again()}`",
            "InputsChangedError": f"with `{typed_again('--input')} NAME=NODE` (repeated: one "
            "--input for each input)",
            "EditedNodesError": f"e.g. `nodepipe node duplicate NODE -p {pipeline}` (the "
            f"copy is yours, the include leaves it alone), or `{typed_again('--replace-edits')}`",
        }
        with named("pipeline include --update", hints), sync_progress(as_json) as advance:
            inputs = dict(_assignment(item) for item in input) if input else None
            result = ws.bundles.update(
                pipeline,
                update,
                yes,
                jobs,
                on_synced=advance,
                replace_edits=replace_edits,
                inputs=inputs,
            )
        render(result, as_json, "IncludeUpdatePublic", _print_update)
        return
    if source is None or namespace is None:
        raise click.UsageError("give SOURCE and --as NS (or --update NS)")
    with named("pipeline include"), sync_progress(as_json) as advance:
        inputs = dict(_assignment(item) for item in input or [])
        view = ws.bundles.include(pipeline, source, namespace, inputs, jobs, on_synced=advance)
    render(view, as_json, "PipelineGraph", print_pipeline)


def _assignment(text: str) -> tuple[str, str]:
    name, sep, node = text.partition("=")
    if not sep or not name.strip() or not node.strip():
        raise InvalidInputError(f"--input expects NAME=NODE, got {text!r}")
    return name.strip(), node.strip()


def _print_update(result: UpdateResult) -> None:
    for kept in result.kept:
        why = (
            "its edits were replaced"
            if kept.edited
            else "it was included before nodepipe recorded what an include installs, so "
            "whether it was edited here cannot be told"
        )
        if kept.dropped:
            gone = (
                "the update unlinked it"
                if kept.node.startswith("libs/")
                else ("the bundle dropped it, so it was deleted")
            )
            why = f"{gone}; " + (
                "it was edited here" if kept.edited else "whether it was edited cannot be told"
            )
        done(f"kept the code of {kept.node} in {kept.path} ({why})")
    if not (result.changed or result.added or result.removed or result.disconnected):
        done(f"include {result.namespace} is up to date ({result.content_hash[:12]})")
        return
    done(f"updated include {result.namespace} ({result.content_hash[:12]})")
    for verb, names in (
        ("changed (now stale)", result.changed),
        ("added", result.added),
        ("removed", result.removed),
        ("disconnected (the bundle does not make these edges)", result.disconnected),
    ):
        if names:
            done(f"  {verb}: {', '.join(names)}")
