"""`nodepipe package ...` (build, publish, pull): pipelines as wheels and sdists.

Errors name the command they come from ("package pull: …") and the fix; long steps show a
spinner (build, publish, a download) or a bar (environments synced by a pull).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nodepipe.cli.bundles import _assignment, _print_import, named, sync_progress
from nodepipe.cli.options import command_group, json_option, repeatable_option
from nodepipe.cli.output import console, counted, done, print_warning, render
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_pipeline

if TYPE_CHECKING:
    from nodepipe.services.packages.manifests import PullAllResult
    from nodepipe.services.packages.service import BuildResult, PublishResult

app = command_group("package", "Packages: pipelines as wheels and sdists on any package index.")


@contextmanager
def spinner(quiet: bool, what: str) -> Iterator[None]:
    """A spinner saying ``what`` is happening (nothing with --json)."""
    with nullcontext() if quiet else console.status(what):
        yield


@app.command("build")
@click.argument("pipeline", required=False)
@click.option(
    "--library",
    metavar="NODE",
    is_flag=False,
    flag_value="",
    help="Build NODE as an importable library instead (or: --library --node NODE).",
)
@click.option("--alias", metavar="NAME", help="Distribution name (default: the tag).")
@click.option("--version", "version", metavar="V", help="Package version (default: 0.1.0).")
@click.option(
    "--destination",
    type=click.Path(path_type=Path),
    help="Folder for the wheel and sdist (default: ./dist).",
)
@click.option("--with-data", is_flag=True, help="Carry the outputs (data/) too.")
@click.option("--node", "nodes", multiple=True, metavar="NODE", help="Only these nodes (repeat).")
@click.option(
    "--all", "build_all", is_flag=True, help="Build every [package.NAME] of nodepipe.toml."
)
@json_option
def build(
    pipeline: str | None,
    library: str | None,
    alias: str | None,
    version: str | None,
    destination: Path | None,
    with_data: bool,
    nodes: tuple[str, ...],
    build_all: bool,
    as_json: bool,
) -> None:
    """Build PIPELINE as a wheel and an sdist holding its bundle (no dependencies: each node
    keeps its requirements in its own lock), or with --library NODE (or --library --node
    NODE) that one node as a plain library (its modules; its outputs as package data; its
    requirements as dependencies). Offline: uv builds with nodepipe's own hatchling."""
    packages = workspace().packages
    if build_all:
        given = (pipeline, library, alias, version, destination, with_data or None, nodes or None)
        if any(value is not None for value in given):
            raise click.UsageError(
                "--all builds what nodepipe.toml says: it takes no PIPELINE, --library, --node, "
                "--alias, --version, --destination or --with-data"
            )
        with named("package build --all"), spinner(as_json, "building nodepipe.toml's packages"):
            results = packages.build_all()
        render(results, as_json, None, _print_builds)
        return
    if library is not None:
        node = _library_node(library, nodes)
        with named("package build --library"), spinner(as_json, f"building {node}"):
            result = packages.build_library(node, alias, version, destination, with_data, pipeline)
    elif pipeline is not None:
        with named("package build"), spinner(as_json, f"building {pipeline}"):
            result = packages.build(pipeline, alias, version, destination, with_data, nodes)
    else:
        raise click.UsageError("give PIPELINE, or --library NODE")
    render(result, as_json, None, _print_build)


def _library_node(library: str, nodes: tuple[str, ...]) -> str:
    """The one node a library package is built from: ``--library NODE`` or ``--library --node
    NODE`` (a library wheel is one node's modules; --node elsewhere chooses the nodes of a
    pipeline package, so more than one node is refused, never ignored)."""
    named = sorted({library, *nodes} - {""})
    if len(named) == 1:
        return named[0]
    if not named:
        raise click.UsageError(
            "--library needs the node: --library NODE (or --library --node NODE)"
        )
    raise click.UsageError(
        f"--library builds one node as a library, and {len(named)} were given "
        f"({', '.join(named)}): build one library per node, or leave out --library to build "
        "a pipeline package of those nodes (--node)"
    )


def _print_builds(results: list[BuildResult]) -> None:
    for result in results:
        _print_build(result)


def _print_build(result: BuildResult) -> None:
    data = " with data" if result.with_data else ""
    done(f"built {result.name} {result.version} from {result.pipeline}{data}:")
    done(f"  {result.wheel}")
    done(f"  {result.sdist}")
    for warning in result.warnings:
        print_warning(warning)


@app.command("publish")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--repository-url", metavar="URL", help="The index's upload URL.")
@click.option("--repository", metavar="NAME", help="A repository named in ~/.pypirc.")
@click.option("--check-url", metavar="URL", help="The index's simple URL (default: URL/simple/).")
@json_option
def publish(
    files: tuple[Path, ...],
    repository_url: str | None,
    repository: str | None,
    check_url: str | None,
    as_json: bool,
) -> None:
    """Upload wheels and sdists (FILES) with uv publish. Credentials: TWINE_USERNAME and
    TWINE_PASSWORD, UV_PUBLISH_*, ~/.pypirc, or keyring; never written to a file. Files the
    index already holds, byte for byte, are skipped."""
    if (repository_url is None) == (repository is None):
        raise click.UsageError("give one of --repository-url URL and --repository NAME")
    with named("package publish"), spinner(as_json, "uploading"):
        result = workspace().packages.publish(list(files), repository_url, repository, check_url)
    render(result, as_json, None, _print_publish)


def _print_publish(result: PublishResult) -> None:
    for name in result.uploaded:
        done(f"uploaded {name} to {result.url}")
    for name in result.skipped:
        done(f"skipped {name}: {result.url} already holds it")


@app.command("pull")
@click.argument("source", required=False)
@click.option("--alias", metavar="TAG", help="Tag of the new pipeline (default: the bundle's).")
@click.option("--project", help="Project of the new pipeline (default: 'default').")
@click.option(
    "--fs-args",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML file of fsspec options for a URL SOURCE (headers, tokens).",
)
@click.option(
    "--index-url",
    metavar="[NAME=]URL",
    help="The index to look a name==version up on; NAME=URL names it, so uv takes its "
    "credentials from UV_INDEX_<NAME>_USERNAME and UV_INDEX_<NAME>_PASSWORD.",
)
@click.option("--into", metavar="PIPELINE", help="Include it in PIPELINE (namespace: --alias).")
@repeatable_option(
    "--input", metavar="NAME=NODE", help="With --into: feed the package's input NAME from NODE."
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Environments synced at once.")
@click.option(
    "--all", "pull_all", is_flag=True, help='Pull every [pull."SOURCE"] of nodepipe.toml.'
)
@json_option
def pull(
    source: str | None,
    alias: str | None,
    project: str | None,
    fs_args: Path | None,
    index_url: str | None,
    into: str | None,
    input: list[str] | None,
    jobs: int | None,
    pull_all: bool,
    as_json: bool,
) -> None:
    """Import the package SOURCE as a new pipeline: a wheel or sdist path, any fsspec URL, or
    name[==version] on an index. The bundle is read from the archive: nothing is built or run."""
    ws = workspace()
    if pull_all:
        if source is not None:
            raise click.UsageError("--all takes no SOURCE")
        with named("package pull --all"), sync_progress(as_json) as advance:
            every = ws.packages.pull_all(on_synced=advance)
        render(every, as_json, None, _print_pull_all)
        return
    if source is None:
        raise click.UsageError("give SOURCE, or --all")
    if into is not None:
        if alias is None or project is not None:
            raise click.UsageError("--into PIPELINE takes --alias NS (the namespace), no --project")
        with named("package pull --into"), sync_progress(as_json) as advance:
            inputs = dict(_assignment(item) for item in input or [])
            view = ws.packages.pull_into(
                source, into, alias, inputs, fs_args, index_url, jobs, on_synced=advance
            )
        render(view, as_json, "PipelineGraph", print_pipeline)
        return
    with named("package pull"), sync_progress(as_json) as advance:
        result = ws.packages.pull(
            source, alias, project, fs_args, index_url, jobs, on_synced=advance
        )
    render(result.imported.view, as_json, "PipelineGraph", lambda _: _print_import(result.imported))


def _print_pull_all(every: PullAllResult) -> None:
    for result in every.pulled:
        view = result.imported.view
        nodes = counted(len(view.nodes), "node")
        done(f"pulled {result.source} as pipeline {view.pipeline.tag} ({nodes})")
    for source in every.skipped:
        done(f"skipped {source}: its alias is a pipeline already")
