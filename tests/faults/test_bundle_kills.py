"""Kill -9 at every step of a bundle export, import and include update: nothing half-made.

Each operation runs as a real ``nodepipe`` process on a fresh copy of one world and dies at
each of its crash points (``NODEPIPE_CRASH_AT``). The next command (a separate process) must
settle what was left, and then:

- export: the target directory is the previous export, whole, or the new one, whole; nothing
  is left beside it; the pipeline remembers the ``[inputs]`` of the one in place;
- import: the pipeline exists with all its nodes, or not at all; node folders and rows match
  one to one; every lib is linked by a node;
- update: every node of the include has the old code or every node has the new code, as the
  store's record of the include says; no old code is left beside a node's code.

And always: the workspace journal is empty.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import nodepipe
from nodepipe.store.schema import include_members, nodes, pipeline_includes, pipelines
from nodepipe.store.store import Store
from nodepipe.workspace.bundle_libs import read_links
from nodepipe.workspace.node_folder import NodeFolder
from support.locked_bundles import (
    APPEND_INPUTS,
    INCLUDING_FEATURES,
    LIBRARY,
    USES_LIB,
    make_node_template,
    write_bundle,
)

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))
HELPERS = "def mark(tag):\n    return tag.upper()\n"

EXPORT_POINTS = ("export.nodes-written", "export.written", "export.moved-aside", "export.renamed")
IMPORT_POINTS = (
    "bundle.staged-one@2",
    "folders.recorded",
    "folders.moved@3",
    "folders.synced",
    "bundle.checked",
    "folders.committed",
)
UPDATE_POINTS = (
    "folders.recorded",
    "update.swaps-recorded",
    "update.swapped-one",
    "update.committed",
    "folders.committed",
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``library/features``, ``alpha`` (including it), a workspace ``ws`` where ``alpha`` was
    imported and run and exported to ``export/``; then the library changed (new code, new
    lib, a node added, one removed) for updates to pick up."""
    root = tmp_path_factory.mktemp("world")
    template = make_node_template(root)
    features = write_bundle(
        root / "library" / "features",
        LIBRARY,
        {"nodes/clean": USES_LIB, "nodes/scale": USES_LIB, "nodes/old": APPEND_INPUTS},
        template,
        {"lib/helpers.py": HELPERS},
    )
    write_bundle(root / "alpha", INCLUDING_FEATURES, {"nodes/prep": APPEND_INPUTS}, template)
    ws = nodepipe.init(root / "ws")
    ws.bundles.import_(root / "alpha")
    ws.bundles.export("alpha", root / "export")
    ws.close()
    (features / "nodes" / "clean" / "code" / "main.py").write_text(USES_LIB + "# v2\n")
    (features / "lib" / "helpers.py").write_text(HELPERS + "# v2\n")
    shutil.rmtree(features / "nodes" / "old")
    shutil.copytree(features / "nodes" / "scale", features / "nodes" / "extra")
    (features / "pipeline.toml").write_text(LIBRARY.replace("[nodes.old]", "[nodes.extra]"))
    return root


def fresh(world: Path, where: Path) -> Path:
    shutil.copytree(world, where, symlinks=True)
    return where


def run(root: Path, *argv: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    if crash_at is not None:
        env["NODEPIPE_CRASH_AT"] = crash_at
    return subprocess.run(
        [NODEPIPE, "-w", str(root / "ws"), *argv],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def store_rows(root: Path) -> tuple[set[str], set[str], dict[str, str]]:
    """Pipeline tags, node ids, and each include's content hash by namespace."""
    store = Store.open(f"sqlite:///{root / 'ws' / '.nodepipe' / 'store.sqlite'}")
    try:
        with store.engine.connect() as connection:
            tags = {r.tag for r in connection.execute(sa.select(pipelines))}
            ids = {r.id for r in connection.execute(sa.select(nodes))}
            hashes = {
                r.namespace: r.content_hash
                for r in connection.execute(sa.select(pipeline_includes))
            }
            members = list(connection.execute(sa.select(include_members)))
            assert {m.node_id for m in members} <= ids
    finally:
        store.close()
    return tags, ids, hashes


def check_workspace(root: Path) -> set[str]:
    """The invariants every operation keeps; returns the node ids."""
    _, ids, _ = store_rows(root)
    ws = root / "ws"
    assert {p.name for p in (ws / "nodes").iterdir()} == ids, "node folders and rows differ"
    assert list((ws / ".nodepipe" / "staging").iterdir()) == [], "journal leftovers"
    linked = {link.lib_id for i in ids for link in read_links(NodeFolder(ws / "nodes" / i))}
    libs = {p.name for p in (ws / "libs").iterdir()} if (ws / "libs").exists() else set()
    assert libs == linked, "a lib no node links, or a link to no lib"
    for node_id in ids:
        leftovers = [p.name for p in (ws / "nodes" / node_id).glob("code.*")]
        assert leftovers == [], f"leftovers in {node_id}: {leftovers}"
    return ids


def kill_and_recover(root: Path, argv: tuple[str, ...], point: str) -> None:
    killed = run(root, *argv, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, f"{point} not reached: {killed.stderr}"
    after = run(root, "pipeline", "list")
    assert after.returncode == 0, after.stderr


@pytest.mark.parametrize("point", EXPORT_POINTS)
def test_a_killed_export_leaves_the_old_directory_or_the_new_one(
    point: str, world: Path, tmp_path: Path
) -> None:
    root = fresh(world, tmp_path / "w")
    old = files_of(root / "export")
    reference = fresh(world, tmp_path / "reference")
    done = run(reference, "bundle", "export", "alpha", str(reference / "export"), "--force")
    assert done.returncode == 0, done.stderr
    new = files_of(reference / "export")
    kill_and_recover(root, ("bundle", "export", "alpha", str(root / "export"), "--force"), point)
    assert files_of(root / "export") in (old, new)
    assert [p.name for p in root.iterdir() if p.name.startswith(".export")] == []
    check_workspace(root)


def inputs_of(directory: Path) -> Any:
    """The ``[inputs]`` table of the bundle in ``directory`` (None: it has none)."""
    return tomllib.loads((directory / "pipeline.toml").read_text()).get("inputs")


@pytest.mark.parametrize("point", (*EXPORT_POINTS, "export.inputs-saved"))
def test_a_killed_export_with_inputs_leaves_the_pipeline_declaring_what_is_in_place(
    point: str, world: Path, tmp_path: Path
) -> None:
    """Killed at any step of an export declaring inputs: the folder in place is the previous
    export or the new one, and the next export without ``--input`` writes its ``[inputs]``
    (the pipeline remembers the inputs of the export that was written, never of one that was
    not)."""
    root = fresh(world, tmp_path / "w")
    argv = ("bundle", "export", "alpha", str(root / "export"), "--force", "--input", "only=prep")
    kill_and_recover(root, argv, point)
    check_workspace(root)
    written = inputs_of(root / "export")
    assert written in (None, {"only": ["prep"]})
    after = run(root, "bundle", "export", "alpha", str(root / "after"))
    assert after.returncode == 0, after.stderr
    assert inputs_of(root / "after") == written


@pytest.mark.parametrize("point", IMPORT_POINTS)
def test_a_killed_import_leaves_the_whole_pipeline_or_nothing(
    point: str, world: Path, tmp_path: Path
) -> None:
    root = fresh(world, tmp_path / "w")
    before = check_workspace(root)
    kill_and_recover(root, ("bundle", "import", str(root / "alpha"), "--name", "beta"), point)
    tags, _, _ = store_rows(root)
    ids = check_workspace(root)
    if "beta" in tags:
        assert len(ids - before) == 4, "a partial pipeline"
    else:
        assert ids == before


@pytest.mark.parametrize("point", UPDATE_POINTS)
def test_a_killed_update_leaves_the_old_include_or_the_new_one(
    point: str, world: Path, tmp_path: Path
) -> None:
    root = fresh(world, tmp_path / "w")
    _, _, before = store_rows(root)
    argv = ("pipeline", "include", "alpha", "--update", "features", "--yes")
    kill_and_recover(root, argv, point)
    _, _, after = store_rows(root)
    check_workspace(root)
    with nodepipe.Workspace.open(root / "ws") as ws:
        tags = {i.node.tag for i in ws.pipelines.show("alpha").nodes}
        clean = (ws.nodes.path("features.clean") / "code" / "main.py").read_text()
    updated: Callable[[], bool] = lambda: after["features"] != before["features"]  # noqa: E731
    if updated():
        assert tags == {"prep", "features.clean", "features.scale", "features.extra"}
        assert clean.endswith("# v2\n")
    else:
        assert tags == {"prep", "features.clean", "features.scale", "features.old"}
        assert clean == USES_LIB


def own_files(folder: Path) -> dict[str, bytes]:
    """The files of a node's code (or of a copy of it), without its environment or caches."""
    return {
        path: content
        for path, content in files_of(folder).items()
        if not path.startswith(".venv/") and "__pycache__" not in path
    }


def test_a_killed_update_replacing_edits_leaves_them_in_place_and_a_whole_copy(
    world: Path, tmp_path: Path
) -> None:
    """Killed after copying an edited node's code and before replacing it: the edited code is
    still the node's, the copy in ``undone-edits/`` is whole, and the edit is still an edit."""
    root = fresh(world, tmp_path / "w")
    with nodepipe.Workspace.open(root / "ws") as ws:
        clean = ws.nodes.path("features.clean")
    main = clean / "code" / "main.py"
    main.write_text(main.read_text() + "# edited here\n")
    edited = own_files(clean / "code")
    argv = ("pipeline", "include", "alpha", "--update", "features", "--yes", "--replace-edits")

    kill_and_recover(root, argv, "update.code-kept")

    check_workspace(root)
    assert own_files(clean / "code") == edited
    (kept,) = (clean / "undone-edits").iterdir()
    assert own_files(kept) == edited
    refused = run(root, *argv[:-1])
    assert refused.returncode == 4, refused.stderr
    assert "features.clean (main.py)" in refused.stderr
    done = run(root, *argv)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (clean / "undone-edits").iterdir()] == [kept.name]
    assert main.read_text() == USES_LIB + "# v2\n"


def test_an_update_killed_once_committed_records_what_it_installed(
    world: Path, tmp_path: Path
) -> None:
    """The records of the new code are written by the recovery: no node of the include is
    taken for edited by a later update."""
    from nodepipe.services.bundles.included_code import code_record, read_record

    root = fresh(world, tmp_path / "w")
    argv = ("pipeline", "include", "alpha", "--update", "features", "--yes")
    kill_and_recover(root, argv, "update.committed")
    check_workspace(root)
    with nodepipe.Workspace.open(root / "ws") as ws:
        folders = [ws.nodes.path(f"features.{key}") for key in ("clean", "scale", "extra")]
    assert (folders[0] / "code" / "main.py").read_text() == USES_LIB + "# v2\n"
    for path in folders:
        folder = NodeFolder(path)
        assert read_record(folder) == code_record(folder), path
