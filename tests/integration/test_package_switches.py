"""``env add`` of a package the node already installs another way switches it (README, External
code): from a package index, a git URL, a local path, a snapshot or a shared checkout to any
other, in the order the README's tutorial runs them too; a snapshot switched away from is
moved out of the node's code whole, never deleted. Real uv, local folders, a local git
repository, toy wheels."""

from __future__ import annotations

import re
import subprocess
import tomllib
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe.services.runs.service import RunRequest
from support.wheels import build_wheel, local_project
from support.worlds import NodeSpec, build_pipeline

PRINTS_ANSWER = """\
import mytool, nodepipe_node as node
(node.data_dir() / "answer.txt").write_text(str(mytool.ANSWER))
"""

EVERY_SWITCH = (
    *("path", "pin", "git", "pin", "path", "git", "path", "snapshot", "pin", "snapshot"),
    *("git", "snapshot", "path", "shared", "pin", "shared", "git", "shared", "snapshot"),
    *("shared", "path"),
)
"""Kinds of source in an order that goes from each kind to each other kind once."""

SHOWN = {
    "pin": "node",
    "git": "git URL",
    "path": "local path",
    "snapshot": "snapshot",
    "shared": "shared checkout",
}
"""How ``env show`` names each kind (``origins``: a pinned package is the node's own)."""

VERSION = {"pin": "0.2", "git": "0.3", "path": "0.1", "snapshot": "0.1", "shared": "0.1"}
"""The version of mytool each kind installs; its ``ANSWER`` is the last digit."""


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def sources(tmp_path: Path, offline_uv: Path) -> dict[str, list[str]]:
    """The arguments of ``env add`` for each kind: ``mytool`` 0.1 in ``libs/mytool`` (path,
    snapshot, shared), 0.2 as a wheel of the local index, 0.3 in a git repository."""
    folder = local_project(tmp_path / "libs" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    build_wheel(offline_uv, "mytool", "0.2", "ANSWER = 2\n")
    repository = local_project(tmp_path / "repo" / "mytool", "mytool", "0.3", "ANSWER = 3\n")
    git(repository, "init", "--quiet", "--initial-branch=main")
    git(repository, "add", ".")
    git(repository, "commit", "--quiet", "-m", "first")
    return {
        "pin": ["mytool==0.2"],
        "git": [f"git+file://{repository}"],  # as the README writes it: naming no package
        "path": ["--path", str(folder)],
        "snapshot": ["--snapshot", str(folder)],
        "shared": ["--shared", str(folder)],
    }


@pytest.fixture
def user(lab: nodepipe.Workspace) -> Path:
    """Node ``user`` of pipeline ``baseline``, which prints ``mytool.ANSWER``; its ``code/``."""
    build_pipeline(lab, "baseline", {"user": NodeSpec(code=PRINTS_ANSWER)})
    return lab.nodes.path("user") / "code"


def declared(code: Path) -> tuple[list[str], Any, list[str], dict[str, str]]:
    """(requirements, mytool's uv source, uv workspace members, recorded snapshots)."""
    data = tomllib.loads((code / "pyproject.toml").read_text())
    uv = data.get("tool", {}).get("uv", {})
    return (
        data["project"]["dependencies"],
        uv.get("sources", {}).get("mytool"),
        uv.get("workspace", {}).get("members", []),
        data.get("tool", {}).get("nodepipe", {}).get("snapshots", {}),
    )


def check_declared(code: Path, kind: str, folder: str) -> None:
    """The pyproject installs mytool as ``kind`` and keeps nothing of another kind."""
    requirements, source, members, snapshots = declared(code)
    expected_source: Any = {
        "pin": None,
        "git": {"git": source and source.get("git")},
        "path": {"path": folder},
        "snapshot": {"workspace": True, "editable": True},
        "shared": {"path": folder, "editable": True},
    }[kind]
    assert requirements == (["mytool==0.2"] if kind == "pin" else ["mytool"])
    assert source == expected_source
    if kind == "git":
        assert source["git"].startswith("file://") and source["git"].endswith("/repo/mytool")
    is_snapshot = kind == "snapshot"
    assert members == (["snapshots/mytool"] if is_snapshot else [])
    assert list(snapshots) == (["mytool"] if is_snapshot else [])
    assert (code / "snapshots" / "mytool").is_dir() is is_snapshot


def reasons_of(ws: nodepipe.Workspace) -> tuple[str, ...]:
    (only,) = ws.runs.status("baseline").nodes.values()
    return only.reasons


FOLDER_KINDS = {"path", "shared"}
"""Kinds whose files are the node's external code ("shared code added: mytool (…)")."""


def expected_reasons(before: str, after: str) -> list[str]:
    """Patterns of the reasons a switch from ``before`` to ``after`` gives."""
    expected = ["code changed: pyproject.toml"]
    if after in FOLDER_KINDS and before not in FOLDER_KINDS:
        expected.append(r"shared code added: mytool \(mytool/__init__.py")
    if before in FOLDER_KINDS and after not in FOLDER_KINDS:
        expected.append(r"shared code removed: mytool \(mytool/__init__.py")
    if after == "snapshot":
        expected.append("code added: snapshots/mytool/mytool/__init__.py")
    if before == "snapshot":
        expected.append("code removed: snapshots/mytool/mytool/__init__.py")
    if VERSION[before] == VERSION[after]:  # editable or not, the same folder
        expected.append(r"lock changed: uv.lock \(same package versions\)")
    else:
        git = r"( \(git [0-9a-f]{7}\))?"
        expected.append(f"lock changed: mytool {VERSION[before]}{git} → {VERSION[after]}{git}")
    return expected


def test_env_add_switches_a_package_from_every_kind_of_source_to_every_other(
    lab: nodepipe.Workspace, cli: CliRunner, user: Path, sources: dict[str, list[str]]
) -> None:
    assert {*pairwise(EVERY_SWITCH)} == {(a, b) for a in SHOWN for b in SHOWN if a != b}
    folder = sources["path"][1]
    first = cli("env", "add", "user", "-p", "baseline", *sources[EVERY_SWITCH[0]])
    assert first.code == 0, first.stderr
    lab.runs.run(RunRequest("baseline"))
    for before, after in pairwise(EVERY_SWITCH):
        switched = cli("env", "add", "user", "-p", "baseline", *sources[after], "--json")
        assert switched.code == 0, (before, after, switched.stderr)
        assert switched.json()["origins"] == {"mytool": SHOWN[after]}, (before, after)
        check_declared(user, after, folder)
        shown = cli("env", "show", "user", "-p", "baseline").stdout
        (row,) = [line.split("│") for line in shown.splitlines() if "mytool  │" in line]
        assert [cell.strip() for cell in row[::3]] == ["mytool", SHOWN[after]], shown

        reasons = " | ".join(reasons_of(lab))
        for expected in expected_reasons(before, after):
            assert re.search(expected, reasons), (before, after, expected, reasons)
        lab.runs.run(RunRequest("baseline"))
        answer = (lab.nodes.path("user") / "data" / "answer.txt").read_text()
        assert answer == VERSION[after][-1], (before, after)


def test_the_readmes_tutorial_ends_with_one_shared_checkout(
    lab: nodepipe.Workspace, cli: CliRunner, user: Path, sources: dict[str, list[str]]
) -> None:
    """The README's lines as written, from the workspace folder: --path, --snapshot, --shared
    of ../libs/mytool; the last one wins."""
    for how in ("--path", "--snapshot", "--shared"):
        added = cli("env", "add", "user", "-p", "baseline", how, "../libs/mytool")
        assert added.code == 0, added.stderr
    shown = cli("env", "show", "user", "-p", "baseline", "--json").json()
    assert shown["origins"] == {"mytool": "shared checkout"} and shown["snapshots"] == {}
    assert shown["shared"] == {"mytool": sources["shared"][1]}
    check_declared(user, "shared", sources["shared"][1])


def files_of(code: Path) -> dict[str, bytes]:
    """Every file of the node's ``code/`` but its environment, by path, with its bytes."""
    return {
        str(path.relative_to(code)): path.read_bytes()
        for path in sorted(code.rglob("*"))
        if path.is_file() and ".venv" not in path.relative_to(code).parts
    }


def tree_of(folder: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every file, link and folder under ``folder`` (``.git`` included), with its mode and
    its bytes (a link: its target)."""
    found: dict[str, tuple[int, bytes | str]] = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        if path.is_symlink():
            found[str(path.relative_to(folder))] = (mode, str(path.readlink()))
        elif path.is_file():
            found[str(path.relative_to(folder))] = (mode, path.read_bytes())
        else:
            found[str(path.relative_to(folder))] = (mode, b"")
    return found


def moved_out(user: Path, result: Any) -> Path:
    """The one folder the snapshot was moved to, in the node's ``undone-edits/``, which the
    command named (on stderr, or in its JSON's warnings)."""
    (kept,) = (user.parent / "undone-edits").iterdir()
    assert re.fullmatch(r"snapshot-mytool\.[0-9a-f]{8}", kept.name), kept.name
    said = f"snapshot mytool was moved out of the node's code to {kept} (kept: nodepipe never"
    told = result.json()["warnings"] if result.stdout.startswith("{") else [result.stderr]
    assert [w for w in told if said in " ".join(w.split())], (result.stdout, result.stderr)
    return kept


def test_a_switch_moves_a_copied_snapshot_out_of_the_code_whole(
    lab: nodepipe.Workspace, cli: CliRunner, user: Path, sources: dict[str, list[str]]
) -> None:
    """Whatever the copy holds, edits the walk does not see included, is all moved out of
    ``code/`` (not deleted) by a switch, and the node runs its new source."""
    assert cli("env", "add", "user", "-p", "baseline", *sources["snapshot"]).code == 0
    snapshot = user / "snapshots" / "mytool"
    (snapshot / "mytool" / "__init__.py").write_text("ANSWER = 'mine'\n")
    (snapshot / ".nodepipe-snapshot.json").unlink()  # no record of what was copied
    (snapshot / "nested").mkdir()
    git(snapshot / "nested", "init", "--quiet")
    (snapshot / ".ipynb_checkpoints").mkdir()
    (snapshot / ".ipynb_checkpoints" / "notes-checkpoint.ipynb").write_text("{}")
    (snapshot / "mytool.egg-info").mkdir()
    (snapshot / "mytool.egg-info" / "PKG-INFO").write_text("mine")
    (snapshot / "pyproject.toml").chmod(0o600)  # chmod only
    before = tree_of(snapshot)

    switched = cli("env", "add", "user", "-p", "baseline", *sources["shared"])
    assert switched.code == 0, switched.stderr
    assert lab.envs.show("user").origins == {"mytool": "shared checkout"}
    check_declared(user, "shared", sources["shared"][1])
    assert tree_of(moved_out(user, switched)) == before
    assert not any("undone-edits" in reason for reason in reasons_of(lab))
    lab.runs.run(RunRequest("baseline"))
    assert (lab.nodes.path("user") / "data" / "answer.txt").read_text() == "1"


def test_env_remove_moves_a_cloned_snapshot_out_with_all_of_the_users_git_work(
    lab: nodepipe.Workspace,
    cli: CliRunner,
    user: Path,
    sources: dict[str, list[str]],
    tmp_path: Path,
) -> None:
    """A commit no remote has, a stash, a branch not checked out, ignored files: a clone's
    work is all still there, in ``undone-edits/``, after ``env remove`` of its package."""
    repository = tmp_path / "repo" / "mytool"
    assert cli("env", "add", "user", "-p", "baseline", "--snapshot", str(repository)).code == 0
    clone = user / "snapshots" / "mytool"
    (clone / "mytool" / "__init__.py").write_text("ANSWER = 33\n")
    git(clone, "commit", "--quiet", "-am", "my fix")
    git(clone, "branch", "idea")
    (clone / "mytool" / "__init__.py").write_text("ANSWER = 34\n")
    git(clone, "stash", "--quiet")
    (clone / ".gitignore").write_text("scratch/\n")
    (clone / "scratch").mkdir()
    (clone / "scratch" / "results.csv").write_text("mine")
    before = tree_of(clone)

    removed = cli("env", "remove", "user", "mytool", "-p", "baseline", "--json")
    assert removed.code == 0, removed.stderr
    assert removed.json()["snapshots"] == {} and removed.json()["locked"] == {}
    kept = moved_out(user, removed)
    assert tree_of(kept) == before
    assert git(kept, "log", "-1", "--format=%s", "idea") == "my fix"
    assert git(kept, "stash", "list") != ""


def test_a_snapshot_of_a_name_the_node_has_is_refused_and_changes_nothing(
    lab: nodepipe.Workspace,
    cli: CliRunner,
    user: Path,
    sources: dict[str, list[str]],
    tmp_path: Path,
) -> None:
    assert cli("env", "add", "user", "-p", "baseline", *sources["snapshot"]).code == 0
    (user / "snapshots" / "mytool" / "mytool" / "__init__.py").write_text("ANSWER = 'mine'\n")
    before = files_of(user)
    for origin in (sources["snapshot"][1], str(tmp_path / "repo" / "mytool")):
        refused = cli("env", "add", "user", "-p", "baseline", "--snapshot", origin)
        assert refused.code == 2, refused.stderr
        message = " ".join(refused.stderr.split())
        assert "already has a snapshot named 'mytool'" in message
        assert "nothing was changed" in message
        assert files_of(user) == before  # the snapshot, its edit, pyproject.toml, uv.lock
    lab.runs.run(RunRequest("baseline"))
    assert (lab.nodes.path("user") / "data" / "answer.txt").read_text() == "mine"


def test_a_snapshot_other_nodes_install_with_shared_or_path_stays(
    lab: nodepipe.Workspace, cli: CliRunner, sources: dict[str, list[str]]
) -> None:
    build_pipeline(lab, "baseline", {"user": [], "plot": NodeSpec(code=PRINTS_ANSWER)})
    user = lab.nodes.path("user") / "code"
    assert cli("env", "add", "user", "-p", "baseline", *sources["snapshot"]).code == 0
    inside = str(user / "snapshots" / "mytool")
    assert cli("env", "add", "plot", "-p", "baseline", "--shared", inside).code == 0
    before = files_of(user)
    for switch in (sources["path"], ["mytool==0.2"]):
        refused = cli("env", "add", "user", "-p", "baseline", *switch)
        assert refused.code == 4, refused.stderr
        message = " ".join(refused.stderr.split())
        assert "would move snapshot mytool out of user" in message
        assert "other nodes install from that folder (as a shared checkout or a local " in message
        assert "project): plot (mytool)" in message
        assert files_of(user) == before
    refused = cli("env", "remove", "user", "mytool", "-p", "baseline")
    assert refused.code == 4 and "plot (mytool)" in refused.stderr
    assert files_of(user) == before
    lab.runs.run(RunRequest("baseline"))
    assert (lab.nodes.path("plot") / "data" / "answer.txt").read_text() == "1"


def test_a_library_nodes_snapshot_stays_while_other_nodes_install_it(
    lab: nodepipe.Workspace, cli: CliRunner, sources: dict[str, list[str]]
) -> None:
    build_pipeline(lab, "baseline", {"lib": [], "plot": NodeSpec(code=PRINTS_ANSWER)})
    assert cli("env", "add", "lib", "-p", "baseline", *sources["snapshot"]).code == 0
    assert cli("env", "add", "plot", "-p", "baseline", "--from-node", "lib").code == 0
    code = lab.nodes.path("lib") / "code"
    before = files_of(code)

    refused = cli("env", "add", "lib", "-p", "baseline", *sources["shared"])
    assert refused.code == 4, refused.stderr
    message = " ".join(refused.stderr.split())
    assert "whose package mytool plot install from library node lib" in message
    assert files_of(code) == before
    lab.runs.run(RunRequest("baseline"))
    assert (lab.nodes.path("plot") / "data" / "answer.txt").read_text() == "1"


def test_env_remove_of_a_snapshots_package_drops_the_snapshot(
    lab: nodepipe.Workspace, cli: CliRunner, user: Path, sources: dict[str, list[str]]
) -> None:
    assert cli("env", "add", "user", "-p", "baseline", *sources["snapshot"]).code == 0
    removed = cli("env", "remove", "user", "mytool", "-p", "baseline", "--json")
    assert removed.code == 0, removed.stderr
    assert removed.json()["locked"] == {} and removed.json()["snapshots"] == {}
    requirements, source, members, snapshots = declared(user)
    assert (requirements, source, members, snapshots) == ([], None, [], {})
    assert not (user / "snapshots" / "mytool").exists()
    assert (moved_out(user, removed) / "mytool" / "__init__.py").is_file()


def test_a_library_node_takes_the_place_of_a_shared_checkout_and_back(
    lab: nodepipe.Workspace, cli: CliRunner, sources: dict[str, list[str]]
) -> None:
    build_pipeline(lab, "baseline", {"lib": [], "plot": NodeSpec(code=PRINTS_ANSWER)})
    local_project(lab.nodes.path("lib") / "code" / "mytool", "mytool", "0.4", "ANSWER = 4\n")
    code = lab.nodes.path("plot") / "code"
    assert cli("env", "add", "plot", "-p", "baseline", *sources["shared"]).code == 0
    linked = cli("env", "add", "plot", "-p", "baseline", "--from-node", "lib", "--json")
    assert linked.code == 0, linked.stderr
    assert linked.json()["origins"] == {"mytool": "library node lib"}
    lab.runs.run(RunRequest("baseline"))
    assert (code.parent / "data" / "answer.txt").read_text() == "4"

    back = cli("env", "add", "plot", "-p", "baseline", *sources["shared"], "--json")
    assert back.code == 0, back.stderr
    assert back.json()["origins"] == {"mytool": "shared checkout"}
    assert "library-nodes" not in (code / "pyproject.toml").read_text()
    check_declared(code, "shared", sources["shared"][1])
