"""``env add`` of a package the node already installs another way switches it (README, External
code): from a package index, a git URL, a local path, a snapshot or a shared checkout to any
other, in the order the README's tutorial runs them too; a snapshot holding the user's edits is
never deleted by a switch. Real uv, local folders, a local git repository, toy wheels."""

from __future__ import annotations

import re
import shutil
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


def test_a_switch_never_deletes_the_edits_in_a_snapshot(
    lab: nodepipe.Workspace, cli: CliRunner, user: Path, sources: dict[str, list[str]]
) -> None:
    assert cli("env", "add", "user", "-p", "baseline", *sources["snapshot"]).code == 0
    edited = user / "snapshots" / "mytool" / "mytool" / "__init__.py"
    edited.write_text("ANSWER = 'mine'\n")
    before = files_of(user)
    for kind in ("shared", "pin", "git"):
        refused = cli("env", "add", "user", "-p", "baseline", *sources[kind])
        assert refused.code == 4, refused.stderr
        message = " ".join(refused.stderr.split())
        assert "would delete snapshot mytool (code/snapshots/mytool)" in message
        assert "edited mytool/__init__.py" in message and "nothing was changed" in message
        assert "`nodepipe env update-snapshot user mytool --force`" in message  # the hint
        assert files_of(user) == before  # pyproject.toml, uv.lock, the edit: byte for byte
    removal = cli("env", "remove", "user", "mytool", "-p", "baseline")
    assert removal.code == 4 and "edited mytool/__init__.py" in removal.stderr
    assert files_of(user) == before
    assert lab.envs.show("user").origins == {"mytool": "snapshot"}

    assert cli("env", "update-snapshot", "user", "mytool", "--force").code == 0  # edits gone
    switched = cli("env", "add", "user", "-p", "baseline", *sources["shared"], "--json")
    assert switched.code == 0, switched.stderr
    assert switched.json()["origins"] == {"mytool": "shared checkout"}
    assert not (user / "snapshots").exists() or not any((user / "snapshots").iterdir())


def test_a_switch_never_deletes_a_cloned_snapshots_own_commits(
    lab: nodepipe.Workspace,
    cli: CliRunner,
    user: Path,
    sources: dict[str, list[str]],
    tmp_path: Path,
) -> None:
    repository = tmp_path / "repo" / "mytool"
    assert cli("env", "add", "user", "-p", "baseline", "--snapshot", str(repository)).code == 0
    clone = user / "snapshots" / "mytool"
    (clone / "mytool" / "__init__.py").write_text("ANSWER = 33\n")
    git(clone, "commit", "--quiet", "-am", "my fix")
    mine = git(clone, "rev-parse", "--short=7", "HEAD")
    before = files_of(user)

    refused = cli("env", "add", "user", "-p", "baseline", *sources["path"])
    assert refused.code == 4, refused.stderr
    assert f"commit {mine} my fix" in " ".join(refused.stderr.split())
    assert files_of(user) == before and git(clone, "rev-parse", "--short=7", "HEAD") == mine

    shutil.rmtree(clone)  # the user's own way out: the folder deleted by hand
    switched = cli("env", "add", "user", "-p", "baseline", *sources["path"], "--json")
    assert switched.code == 0, switched.stderr
    assert switched.json()["origins"] == {"mytool": "local path"}
    check_declared(user, "path", sources["path"][1])


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
