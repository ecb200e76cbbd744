"""Node checks kept across processes (``workspace.check_cache``): a no-change ``status`` in a
new process reads no node's files, and the kept checks never say "up to date" for a node that
changed: each edit below is made after the cache holds the node, and a new ``nodepipe status``
process must show it. A cache file that is garbled, truncated, too large, or not this user's
own private file is never trusted (a forged one owned by another user cannot hide an edit).

One workspace for the module (its nodes are independent; each test edits its own), run once,
then left to settle past the racy window, as a user's folder is between two commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from nodepipe.cli.fork_client import SWITCH_ENV
from nodepipe.services.context import open_context
from nodepipe.services.runs import status as status_module
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace import check_cache, check_cache_file
from nodepipe.workspace.file_digests import RACY_WINDOW_NS
from support.other_user import OtherUser

CLI = str(Path(sys.executable).parent / "nodepipe")
PLAIN = [f"n{i}" for i in range(14)]
OUTSIDE = ["linked", "pathed", "hardlinked"]
"""Nodes whose check may read files a look at their own folder does not see."""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> nodepipe.Workspace:
    root = tmp_path_factory.mktemp("cache") / "lab"
    lab = nodepipe.init(root)
    lab.shared_envs.new("trivial")
    lab.pipelines.new("p")
    lab.nodes.new_many("p", [*PLAIN, *OUTSIDE], shared_env="trivial")
    shared = root.parent / "shared"
    (shared / "pkg").mkdir(parents=True)
    (shared / "pkg" / "helpers.py").write_text("X = 1\n")
    code = code_of(lab, "linked")
    (code / "helpers").symlink_to(shared / "pkg", target_is_directory=True)
    scripts = root.parent / "scripts"
    scripts.mkdir()
    (scripts / "tool.py").write_text("Y = 1\n")
    pyproject = code_of(lab, "pathed") / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace("[tool.nodepipe]", f'[tool.nodepipe]\ncode-paths = ["{scripts}"]')
    )
    (root.parent / "hl.py").write_text("Z = 1\n")  # its other name is outside the workspace
    os.link(root.parent / "hl.py", code_of(lab, "hardlinked") / "hl.py")
    for tag in [*PLAIN, *OUTSIDE]:
        (code_of(lab, tag) / "main.py").write_text("pass\n")
    lab.runs.run(RunRequest("p"))
    time.sleep(RACY_WINDOW_NS / 1e9 + 0.5)  # what the run wrote settles
    assert set(states(lab).values()) == {("completed", "")}  # this fills the cache
    return lab


def code_of(ws: nodepipe.Workspace, tag: str) -> Path:
    return ws.nodes.path(tag) / "code"


def states(ws: nodepipe.Workspace, *before: str) -> dict[str, tuple[str, str]]:
    """Each node's (state, reasons) as a new ``nodepipe status --json`` process shows them
    (started by ``before``, if any: ``setpriv ...``, then run by itself, not a fork server)."""
    env = {**os.environ, SWITCH_ENV: "0"} if before else None
    done = subprocess.run(
        [*before, CLI, "-w", str(ws.root), "status", "p", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    nodes = json.loads(done.stdout)["nodes"]
    return {n["tag"]: (n["state"], "; ".join(n["own_reasons"])) for n in nodes}


def cache_path(ws: nodepipe.Workspace) -> Path:
    return check_cache.cache_file(ws.context.layout.state_dir)


def kept(ws: nodepipe.Workspace) -> dict[str, Any]:
    """The entries of the cache file, by node tag."""
    entries = json.loads(cache_path(ws).read_text())["nodes"]
    by_id = {ws.nodes.path(tag).name: tag for tag in [*PLAIN, *OUTSIDE]}
    return {by_id[node_id]: entry for node_id, entry in entries.items() if node_id in by_id}


def kept_parents(entry: list[Any]) -> Any:
    """The parents (``[slot, node, outputs]`` each) an entry's fingerprint was kept with."""
    return entry[2][8]


def full_checks(monkeypatch: pytest.MonkeyPatch, ws: nodepipe.Workspace) -> list[str]:
    """The nodes a status in a newly opened workspace (a new cache read from the file) checks
    in full, reading their files."""
    seen: list[str] = []
    real = status_module.fingerprint_and_scope

    def counting(folder, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(folder.path.name)
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(status_module, "fingerprint_and_scope", counting)
    fresh = nodepipe.Workspace(open_context(ws.root))
    try:
        fresh.runs.status("p")
    finally:
        fresh.close()
    return seen


def test_a_new_process_checks_no_unchanged_node_in_full(
    ws: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = set(kept(ws))
    assert "n11" in held  # no test edits it
    assert not held & set(OUTSIDE)  # a symbolic link, a code path, a hard link: never kept
    checked = set(full_checks(monkeypatch, ws))
    assert {ws.nodes.path(tag).name for tag in OUTSIDE} <= checked
    assert not checked & {ws.nodes.path(tag).name for tag in held}


def test_an_edit_of_the_same_size_with_its_mtime_put_back_shows(ws: nodepipe.Workspace) -> None:
    assert "n0" in kept(ws)
    main = code_of(ws, "n0") / "main.py"
    before = main.stat()
    main.write_text("#sss\n")  # as long as "pass\n", written in place
    os.utime(main, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert main.stat().st_size == before.st_size and main.stat().st_ino == before.st_ino
    assert states(ws)["n0"] == ("stale", "code changed: main.py")


def test_a_file_added_removed_or_renamed_in_code_shows(ws: nodepipe.Workspace) -> None:
    assert {"n1", "n2", "n3"} <= set(kept(ws))
    (code_of(ws, "n1") / "extra.py").write_text("")
    (code_of(ws, "n2") / "sub").mkdir()
    (code_of(ws, "n2") / "sub" / "deep.py").write_text("")
    (code_of(ws, "n3") / "main.py").rename(code_of(ws, "n3") / "other.py")
    shown = states(ws)
    assert shown["n1"] == ("stale", "code added: extra.py")
    assert shown["n2"] == ("stale", "code added: sub/deep.py")
    assert shown["n3"][0] == "stale" and "other.py" in shown["n3"][1]
    time.sleep(RACY_WINDOW_NS / 1e9 + 0.5)  # the new state settles and is kept
    assert states(ws)["n2"][0] == "stale"
    assert "n2" in kept(ws)
    (code_of(ws, "n2") / "sub" / "deep.py").unlink()  # only the subfolder's listing changes
    assert states(ws)["n2"] == ("completed", "")


def test_a_code_folder_made_readable_after_a_check_shows_its_files(
    ws: nodepipe.Workspace,
) -> None:
    """A folder of ``code/`` the check could not list (another user's, a strict umask) has
    no files in the fingerprint; made readable later (``chmod``, which changes only its own
    state, not its parent's listing), its files are code: the kept check must not hide them."""
    unprivileged = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    as_user = unprivileged if os.geteuid() == 0 else []  # root reads any folder otherwise
    sub = code_of(ws, "n12") / "sub"
    sub.mkdir()
    (sub / "helper.py").write_text("X = 1\n")
    sub.chmod(0)
    try:
        time.sleep(RACY_WINDOW_NS / 1e9 + 0.5)
        assert states(ws, *as_user)["n12"] == ("completed", "")  # nothing it can read changed
        assert "n12" in kept(ws)
        sub.chmod(0o755)
        assert states(ws, *as_user)["n12"] == ("stale", "code added: sub/helper.py")
    finally:
        sub.chmod(0o755)


def test_a_code_folder_that_cannot_be_searched_is_not_kept_and_fails_nothing(
    ws: nodepipe.Workspace,
) -> None:
    """A folder of ``code/`` that may be listed but not entered (``chmod 644``): the folders
    below it cannot even be looked at, so the check is not kept (each status checks the node
    in full), and ``status`` says what it can instead of failing."""
    unprivileged = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    as_user = unprivileged if os.geteuid() == 0 else []
    folder = code_of(ws, "n13") / "pkg"
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "a.py").write_text("A = 1\n")
    folder.chmod(0o644)
    try:
        time.sleep(RACY_WINDOW_NS / 1e9 + 0.5)
        for _ in range(2):  # the first one checked it in full, and so does the next
            assert states(ws, *as_user)["n13"] == ("completed", "")
    finally:
        folder.chmod(0o755)


def test_parameters_pyproject_and_lock_edits_show(ws: nodepipe.Workspace) -> None:
    assert {"n4", "n5", "n6"} <= set(kept(ws))
    (code_of(ws, "n4") / "params.yaml").write_text("lr: 0.5\n")
    pyproject = code_of(ws, "n5") / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('entry = "main.py"', 'entry = "run.py"'))
    (code_of(ws, "n5") / "run.py").write_text("pass\n")
    with (code_of(ws, "n6") / "uv.lock").open("a") as lock:
        lock.write("\n# edited\n")
    shown = states(ws)
    assert shown["n4"][0] == "stale" and "parameter lr" in shown["n4"][1]
    assert shown["n5"][0] == "stale" and "entry point changed: main.py → run.py" in shown["n5"][1]
    assert shown["n6"][0] == "stale" and "lock" in shown["n6"][1]


def test_an_edit_behind_a_link_or_in_a_code_path_shows(ws: nodepipe.Workspace) -> None:
    (ws.root.parent / "shared" / "pkg" / "helpers.py").write_text("X = 2\n")
    (ws.root.parent / "scripts" / "tool.py").write_text("Y = 2\n")
    with (ws.root.parent / "hl.py").open("w") as same_inode:
        same_inode.write("Z = 2\n")  # edited through its other name
    shown = states(ws)
    assert shown["linked"] == ("stale", "code changed: helpers/helpers.py")
    assert shown["hardlinked"] == ("stale", "code changed: hl.py")
    assert shown["pathed"][0] == "stale" and "tool.py" in shown["pathed"][1]


def test_a_node_folder_removed_shows(ws: nodepipe.Workspace, tmp_path: Path) -> None:
    assert "n7" in kept(ws)
    moved = tmp_path / "n7"
    ws.nodes.path("n7").rename(moved)
    try:
        state, reason = states(ws)["n7"]
        assert state == "failed" and "is missing" in reason
    finally:
        moved.rename(ws.context.layout.nodes_dir / moved.name)


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # a write cut short
        lambda text: "{not json",
        lambda text: "[" * 100_000 + "]" * 100_000,  # nested past the parser's depth
        lambda text: json.dumps(garbled_entries(json.loads(text))),
        lambda text: json.dumps({"header": "other", "configs": [], "nodes": {}}),
        lambda text: json.dumps(wrong_shapes(json.loads(text))),
    ],
)
def test_a_damaged_cache_file_is_ignored_and_rebuilt(ws: nodepipe.Workspace, damage: Any) -> None:
    states(ws)
    file = cache_path(ws)
    file.write_text(damage(file.read_text()))
    assert states(ws)["n8"] == ("completed", "")
    assert "n8" in kept(ws)  # rewritten whole


def garbled_entries(data: dict[str, Any]) -> dict[str, Any]:
    """The cache with each node's kept fingerprint cut to its version, its settings pointing
    nowhere, or the entry not a list at all."""
    for number, node_id in enumerate(data["nodes"]):
        entry = data["nodes"][node_id]
        if number % 3 == 0:
            entry[2] = [1]
        elif number % 3 == 1:
            entry[1] = 99
        else:
            data["nodes"][node_id] = 5
    data["nodes"]["zzzzzzzz"] = 5  # a node no status of this pipeline checks again
    return data


def wrong_shapes(data: dict[str, Any]) -> dict[str, Any]:
    """The cache with values of the wrong type where a fingerprint keeps its digest, code,
    snapshots' revisions and packages (they crashed ``status`` with a traceback), or an entry
    whose list of stats vouches for nothing."""
    for number, node_id in enumerate(data["nodes"]):
        entry = data["nodes"][node_id]
        if number % 3 == 0:
            entry[2][1], entry[2][3], entry[2][7], entry[2][9] = None, "0" * 64, None, None
        elif number % 3 == 1:
            entry[2][9] = "0" * 64
        else:
            entry[0] = []
    return data


def forged(ws: nodepipe.Workspace, tag: str) -> str:
    """A cache file that vouches for ``tag`` as it was before its edit, with the stats of
    today's files: what someone wanting to hide the edit would write."""
    good = json.loads(cache_path(ws).read_text())
    node_id = ws.nodes.path(tag).name
    old_fingerprint = good["nodes"][node_id][2]
    (code_of(ws, tag) / "main.py").write_text("print('changed')\n")
    time.sleep(RACY_WINDOW_NS / 1e9 + 0.5)
    states(ws)  # the edited node's entry, with today's stats
    data = json.loads(cache_path(ws).read_text())
    data["nodes"][node_id][2] = old_fingerprint
    return json.dumps(data)


def test_a_cache_file_of_another_user_or_writable_by_others_is_not_trusted(
    ws: nodepipe.Workspace, other: OtherUser
) -> None:
    text = forged(ws, "n9")
    file = cache_path(ws)
    file.write_text(text)
    file.chmod(0o600)
    assert states(ws)["n9"] == ("completed", "")  # the forgery works if trusted...
    for owner, mode in ((other.uid, 0o600), (os.geteuid(), 0o666)):
        file.write_text(text)
        os.chown(file, owner, -1)
        file.chmod(mode)
        assert states(ws)["n9"] == ("stale", "code changed: main.py")  # ...and is not
    assert file.stat().st_uid == os.geteuid() and file.stat().st_mode & 0o777 == 0o600


def test_a_cache_file_too_large_or_a_link_is_not_read(
    ws: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = forged(ws, "n10")
    file = cache_path(ws)
    file.write_text(text)
    monkeypatch.setattr(check_cache_file, "MAX_BYTES", len(text) - 1)
    assert full_checks(monkeypatch, ws).count(ws.nodes.path("n10").name) == 1
    monkeypatch.undo()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(text)
    file.unlink()
    file.symlink_to(elsewhere)
    assert states(ws)["n10"] == ("stale", "code changed: main.py")
    assert not file.is_symlink()  # replaced by this user's own file


def test_the_cache_folder_is_private(ws: nodepipe.Workspace) -> None:
    shutil.rmtree(cache_path(ws).parent)
    states(ws)
    assert cache_path(ws).parent.stat().st_mode & 0o777 == 0o700
    assert cache_path(ws).stat().st_mode & 0o777 == 0o600


def test_a_node_whose_parents_ran_is_kept_with_their_outputs(
    ws: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node kept before its parent ran is kept again with the parent's outputs by the next
    status: the status after that computes no fingerprint digest again (it did for every node
    with parents, on every status, once they had run)."""
    ws.pipelines.new("q")
    parent, child = ws.nodes.new_many("q", ["qa", "qb"], shared_env="trivial")
    for node in (parent, child):
        (ws.nodes.path(node.id) / "code" / "main.py").write_text("pass\n")
    ws.edges.connect(parent.id, child.id, "q")
    time.sleep(RACY_WINDOW_NS / 1e9 + 0.5)
    status = subprocess.run([CLI, "-w", str(ws.root), "status", "q"], capture_output=True)
    assert status.returncode == 0, status.stderr
    entries = json.loads(cache_path(ws).read_text())["nodes"]
    assert kept_parents(entries[child.id]) == [["01", parent.id, ""]]  # kept before qa ran
    ws.runs.run(RunRequest("q"))
    status = subprocess.run([CLI, "-w", str(ws.root), "status", "q"], capture_output=True)
    assert status.returncode == 0, status.stderr
    entries = json.loads(cache_path(ws).read_text())["nodes"]
    outputs = ws.runs.status("q").nodes[parent.id].output_digest
    assert outputs
    assert kept_parents(entries[child.id]) == [["01", parent.id, outputs]]

    digests: list[str] = []
    real = check_cache_file.NodeFingerprint.with_parents

    def counting(self, parents):  # type: ignore[no-untyped-def]
        digests.append(self.entry)
        return real(self, parents)

    monkeypatch.setattr(check_cache_file.NodeFingerprint, "with_parents", counting)
    assert {tag: state for tag, (state, _) in _states_of(ws, "q").items()} == {
        "qa": "completed",
        "qb": "completed",
    }
    assert digests == []


def _states_of(ws: nodepipe.Workspace, pipeline: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each node's (state, reasons) from a newly opened workspace (the cache read from the
    file, in this process)."""
    fresh = nodepipe.Workspace(open_context(ws.root))
    try:
        found = fresh.runs.status(pipeline)
    finally:
        fresh.close()
    return {s.item.node.tag: (s.state.value, s.reasons) for s in found.nodes.values()}
