"""External code a node runs is in its fingerprint (issue 14, finding 1): shared checkouts,
``--path`` packages and code paths, with real uv, real git and local projects built offline."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe import NodeState
from nodepipe.services.envs.environments import EnvironmentService
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.external_code import set_code_paths
from support.wheels import build_wheel, local_project

WRITES_ANSWER = """\
import mytool, nodepipe_node as node
(node.data_dir() / "answer.txt").write_text(str(mytool.ANSWER))
"""


@pytest.fixture
def envs(chain: nodepipe.Workspace, offline_uv: Path) -> EnvironmentService:
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text("pass\n")
    return chain.envs


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def git_checkout(folder: Path, name: str = "mytool") -> Path:
    local_project(folder, name, "0.1", "ANSWER = 1\n")
    (folder / ".gitignore").write_text("scratch/\n*.log\n")
    git(folder, "init", "--quiet", "--initial-branch=main")
    git(folder, "add", ".")
    git(folder, "commit", "--quiet", "-m", "first")
    return folder


def states(ws: nodepipe.Workspace) -> dict[str, tuple[NodeState, tuple[str, ...]]]:
    return {
        s.item.node.tag: (s.state, s.reasons) for s in ws.runs.status("baseline").nodes.values()
    }


def answer(ws: nodepipe.Workspace, tag: str) -> str:
    return (ws.nodes.path(tag) / "data" / "answer.txt").read_text()


def test_edits_in_a_shared_checkout_make_its_nodes_stale_naming_the_file(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    checkout = git_checkout(tmp_path / "src" / "mytool")
    envs.add("plot", [], shared=str(checkout))
    (chain.nodes.path("plot") / "code" / "main.py").write_text(WRITES_ANSWER)
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "plot") == "1" and states(chain)["plot"][0] is NodeState.COMPLETED

    (checkout / "scratch").mkdir()  # ignored by the checkout's .gitignore: changes nothing
    (checkout / "scratch" / "notes.txt").write_text("x")
    (checkout / "debug.log").write_text("x")
    assert states(chain)["plot"][0] is NodeState.COMPLETED

    (checkout / "mytool" / "__init__.py").write_text("ANSWER = 22\n")  # new size: a .pyc of
    # the same second and size would be taken as fresh by Python itself
    state, reasons = states(chain)["plot"]
    assert state is NodeState.STALE
    assert "shared code changed: mytool (mytool/__init__.py)" in reasons
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "plot") == "22" and states(chain)["plot"][0] is NodeState.COMPLETED


def test_a_pth_file_edited_in_a_nodes_environment_is_written_anew_before_its_launch(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    """The ``.pth`` an editable install leaves in ``.venv`` says where the package's code is;
    uv hard-links it from the workspace's uv cache. Edited in place to point elsewhere, the
    node ran that code while its fingerprint hashed the checkout (and the edit changed the
    cache's copy: every later sync, and every node sharing it, pointed there too)."""
    checkout = git_checkout(tmp_path / "src" / "mytool")
    elsewhere = local_project(tmp_path / "elsewhere", "mytool", "0.1", "ANSWER = 666\n")
    for tag in ("clean", "plot"):
        envs.add(tag, [], shared=str(checkout))
        (chain.nodes.path(tag) / "code" / "main.py").write_text(WRITES_ANSWER)
    chain.runs.run(RunRequest("baseline"))
    venv = chain.nodes.path("plot") / "code" / ".venv"
    [pth] = venv.glob("lib/python*/site-packages/_mytool_editable.pth")
    with pth.open("w") as handle:  # in place, as an editor may save it
        handle.write(f"{elsewhere}\n")
    chain.runs.run(RunRequest("baseline", force=True))
    assert answer(chain, "plot") == "1" and answer(chain, "clean") == "1"
    assert pth.read_text() == f"{checkout}\n"


@pytest.mark.parametrize(
    ("url", "group"),
    [
        ("file://{folder}", False),
        ("file://${{PROJECT_ROOT}}/{relative}", False),
        ("file://{folder}", True),  # the dev group: uv syncs it by default
    ],
)
def test_a_folder_required_by_a_file_url_written_by_hand_is_external_code(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, url: str, group: bool
) -> None:
    """``mytool @ file:///…/mytool`` in ``dependencies`` (no ``[tool.uv.sources]``) is a
    ``--path`` package to uv; an edit of the folder said "up to date" and the next run ran
    the copy built at the first sync."""
    folder = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    code = chain.nodes.path("plot") / "code"
    relative = os.path.relpath(folder, code)
    written = url.format(folder=folder, relative=relative)
    pyproject = code / "pyproject.toml"
    required = f'["mytool @ {written}"]'
    if group:
        pyproject.write_text(pyproject.read_text() + f"\n[dependency-groups]\ndev = {required}\n")
    else:
        text = pyproject.read_text()
        pyproject.write_text(text.replace("dependencies = []", f"dependencies = {required}"))
    (code / "main.py").write_text(WRITES_ANSWER)
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "plot") == "1"
    (folder / "mytool" / "__init__.py").write_text("ANSWER = 2\n")
    assert states(chain)["plot"] == (
        NodeState.STALE,
        ("shared code changed: mytool (mytool/__init__.py)",),
    )
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "plot") == "2" and states(chain)["plot"][0] is NodeState.COMPLETED


def test_a_local_wheel_is_pinned_by_its_lock_not_missing_external_code(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    """``env add NODE file:///…/x.whl``: uv records a path source naming the file and pins its
    hash in the lock. It was taken for a folder of external code, never found: "external
    code is missing", and the node could never run."""
    wheel = build_wheel(tmp_path / "wheels", "mytool", "0.1", "ANSWER = 7\n")
    envs.add("plot", [f"mytool @ file://{wheel}"])
    (chain.nodes.path("plot") / "code" / "main.py").write_text(WRITES_ANSWER)
    assert states(chain)["plot"][0] is NodeState.READY
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "plot") == "7" and states(chain)["plot"][0] is NodeState.COMPLETED


def test_a_tracked_file_that_a_gitignore_pattern_matches_still_counts(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    """git never hides a tracked file behind a pattern; neither does the fingerprint."""
    checkout = git_checkout(tmp_path / "src" / "mytool")
    (checkout / ".gitignore").write_text("scratch/\n*.log\nsettings.py\n")
    (checkout / "mytool" / "settings.py").write_text("MODE = 'a'\n")
    git(checkout, "add", "-f", ".gitignore", "mytool/settings.py")
    git(checkout, "commit", "--quiet", "-m", "settings")
    envs.add("plot", [], shared=str(checkout))
    chain.runs.run(RunRequest("baseline"))
    assert states(chain)["plot"][0] is NodeState.COMPLETED

    (checkout / "mytool" / "settings.py").write_text("MODE = 'bb'\n")
    assert "M mytool/settings.py" in git(checkout, "status", "--short")  # git sees it
    state, reasons = states(chain)["plot"]
    assert state is NodeState.STALE
    assert "shared code changed: mytool (mytool/settings.py)" in reasons

    chain.runs.run(RunRequest("baseline"))
    git(checkout, "commit", "--quiet", "-am", "mode bb")  # the index changes, no file does
    (checkout / "mytool" / "run.log").write_text("x")  # ignored and untracked: not code
    assert states(chain)["plot"][0] is NodeState.COMPLETED


def test_a_fifo_in_a_shared_checkout_never_holds_status_up(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    """A FIFO is no code: one named ``.gitignore`` was opened to read its patterns, and the
    open waited for a writer forever: every status of the pipeline hung."""
    checkout = git_checkout(tmp_path / "src" / "mytool")
    envs.add("plot", [], shared=str(checkout))
    chain.runs.run(RunRequest("baseline"))
    (checkout / "mytool" / "sub").mkdir()
    fifos = [checkout / "mytool" / "sub" / ".gitignore", checkout / "mytool" / "pipe.py"]
    for fifo in fifos:
        os.mkfifo(fifo)
    found: list[tuple[NodeState, tuple[str, ...]]] = []
    checking = threading.Thread(target=lambda: found.append(states(chain)["plot"]), daemon=True)
    checking.start()
    checking.join(30)
    for fifo in fifos:  # let a reader the old code left waiting go
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert found == [(NodeState.COMPLETED, ())]


def test_a_tracked_file_counts_in_a_package_folder_of_a_larger_repository(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    """A shared checkout ``repo/packages/mytool`` whose own ``.gitignore`` matches a file the
    repository tracks: its index is the repository's, above the folder. An edit of that file
    said "up to date" while ``git status`` showed it modified."""
    repo = tmp_path / "repo"
    package = git_checkout(repo / "packages" / "mytool")
    (package / ".git").rename(repo / ".git")  # the repository is repo/, not the package
    (package / ".gitignore").write_text("settings.py\n")
    (package / "mytool" / "settings.py").write_text("MODE = 'a'\n")
    git(repo, "add", "-A")
    git(repo, "add", "-f", "packages/mytool/mytool/settings.py")
    git(repo, "commit", "--quiet", "-m", "move into packages/")
    envs.add("plot", [], shared=str(package))
    chain.runs.run(RunRequest("baseline"))
    assert states(chain)["plot"][0] is NodeState.COMPLETED

    (package / "mytool" / "settings.py").write_text("MODE = 'bb'\n")
    assert "M packages/mytool/mytool/settings.py" in git(repo, "status", "--short")
    state, reasons = states(chain)["plot"]
    assert state is NodeState.STALE
    assert reasons == ("shared code changed: mytool (mytool/settings.py)",)


@pytest.mark.parametrize("how", ["shared", "code-path"])
def test_a_link_in_external_code_counts_by_its_target_and_is_not_followed(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, how: str
) -> None:
    """Audit3 G17: git tracks a link as the path it holds; so does the fingerprint of external
    code, so a checkout's link to a data folder is one entry, not every file behind it."""
    checkout = git_checkout(tmp_path / "src" / "mytool")
    big, other = tmp_path / "big", tmp_path / "other"
    for folder in (big, other):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "table.csv").write_text("a,b\n")
    (checkout / "datasets").symlink_to(big, target_is_directory=True)
    (checkout / "notes.txt").symlink_to(big / "sub" / "table.csv")  # a link to a file, too
    git(checkout, "add", ".")
    git(checkout, "commit", "--quiet", "-m", "links")
    if how == "shared":
        envs.add("plot", [], shared=str(checkout))
    else:
        chain.external.code_path_add("plot", str(checkout))
    chain.runs.run(RunRequest("baseline"))
    assert states(chain)["plot"][0] is NodeState.COMPLETED

    (big / "sub" / "table.csv").write_text("a,b\n1,2\n")  # what the links lead to changes
    (big / "sub" / "more.csv").write_text("c\n")
    assert states(chain)["plot"][0] is NodeState.COMPLETED
    assert "datasets" in git(checkout, "ls-files")  # what git sees: the link itself

    (checkout / "datasets").unlink()
    (checkout / "datasets").symlink_to(other, target_is_directory=True)  # a new target
    state, reasons = states(chain)["plot"]
    assert state is NodeState.STALE
    assert any(r.endswith("(datasets)") for r in reasons), reasons
    assert not any("table.csv" in r for r in reasons), reasons


@pytest.mark.parametrize("how", ["shared", "code-path"])
def test_a_link_python_imports_through_is_followed_in_external_code(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, how: str
) -> None:
    """Audit4 F2: a link in external code to a package folder or a module is code the node
    imports, so an edit behind it makes the node stale (a link to data is not followed)."""
    checkout = git_checkout(tmp_path / "src" / "mytool")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "tool").mkdir(parents=True)
    (elsewhere / "tool" / "__init__.py").write_text("VALUE = 1\n")
    (elsewhere / "scripts").mkdir()
    (elsewhere / "scripts" / "steps.py").write_text("STEP = 1\n")
    (elsewhere / "helper.py").write_text("HELP = 1\n")
    (checkout / "tool").symlink_to(elsewhere / "tool", target_is_directory=True)
    (checkout / "scripts").symlink_to(elsewhere / "scripts", target_is_directory=True)
    (checkout / "helper.py").symlink_to(elsewhere / "helper.py")
    git(checkout, "add", ".")
    git(checkout, "commit", "--quiet", "-m", "links to code")
    if how == "shared":
        envs.add("plot", [], shared=str(checkout))
    else:
        chain.external.code_path_add("plot", str(checkout))
    chain.runs.run(RunRequest("baseline"))
    assert states(chain)["plot"][0] is NodeState.COMPLETED
    for edited, named in (
        (elsewhere / "tool" / "__init__.py", "tool/__init__.py"),
        (elsewhere / "scripts" / "steps.py", "scripts/steps.py"),
        (elsewhere / "helper.py", "helper.py"),
    ):
        edited.write_text(edited.read_text() + "# edited\n")
        state, reasons = states(chain)["plot"]
        assert state is NodeState.STALE, (named, reasons)
        assert any(named in reason for reason in reasons), reasons
        chain.runs.run(RunRequest("baseline"))
        assert states(chain)["plot"][0] is NodeState.COMPLETED


def test_a_workspace_inside_a_shared_checkout_is_not_code(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    """The user's repository holds their package and a nodepipe workspace: what runs of that
    workspace write (store, logs, outputs) never makes a node stale."""
    repo = local_project(tmp_path / "repo", "mytool", "0.1", "ANSWER = 1\n")
    inner = nodepipe.init(repo / "ws")
    inner.close()
    envs.add("plot", [], shared=str(repo))
    (chain.nodes.path("plot") / "code" / "main.py").write_text(WRITES_ANSWER)
    chain.runs.run(RunRequest("baseline"))
    (repo / "ws" / ".nodepipe" / "store.sqlite").write_bytes(b"written by a run")
    (repo / "ws" / "nodes").mkdir(exist_ok=True)
    (repo / "ws" / "nodes" / "out.txt").write_text("an output")
    assert states(chain)["plot"][0] is NodeState.COMPLETED
    (repo / "mytool" / "__init__.py").write_text("ANSWER = 22\n")
    assert "shared code changed: mytool (mytool/__init__.py)" in states(chain)["plot"][1]


def test_a_missing_shared_checkout_is_a_clear_error_before_the_node_runs(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    checkout = git_checkout(tmp_path / "src" / "mytool")
    envs.add("plot", [], shared=str(checkout))
    chain.runs.run(RunRequest("baseline"))
    checkout.rename(tmp_path / "src" / "moved")
    state, reasons = states(chain)["plot"]
    expected = f"external code is missing: shared checkout mytool at {checkout}"
    assert state is NodeState.FAILED and any(expected in r for r in reasons)
    result = cli("run", "baseline", "--only", "plot", "--force")
    assert result.code != 0
    told = "".join((result.stdout + result.stderr).split())  # rich wraps long paths anywhere
    assert "".join(f"plot error: could not prepare: {expected}".split()) in told  # not launched


def test_a_changed_path_package_is_stale_and_reinstalled_at_the_next_sync(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    package = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    envs.add("clean", [], path=str(package))
    (chain.nodes.path("clean") / "code" / "main.py").write_text(WRITES_ANSWER)
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "clean") == "1"

    (package / "mytool" / "__init__.py").write_text("ANSWER = 22\n")
    state, reasons = states(chain)["clean"]
    assert state is NodeState.STALE
    assert "shared code changed: mytool (mytool/__init__.py)" in reasons
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "clean") == "22"  # rebuilt, not uv's cached build of the old folder
    assert states(chain)["clean"][0] is NodeState.COMPLETED


def test_a_node_on_a_shared_environment_adds_and_removes_code_paths(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    """Code paths are not packages: a node on a shared environment (or an interpreter) uses
    them at launch, so it may add and remove them without leaving that environment."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "helpers.py").write_text("FACTOR = 5\n")
    (chain.nodes.path("plot") / "code" / "main.py").write_text(
        "import helpers, nodepipe_node as node\n"
        "(node.data_dir() / 'answer.txt').write_text(str(helpers.FACTOR))\n"
    )
    assert cli("shared-env", "new", "tools").code == 0
    assert cli("env", "use-shared", "plot", "tools").code == 0
    added = cli("env", "code-path", "add", "plot", str(scripts), "--json")
    assert added.code == 0, added.stderr
    assert added.json()["code_paths"] == [str(scripts)] and added.json()["isolation"] != "own"
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "plot") == "5"
    removed = cli("env", "code-path", "remove", "plot", str(scripts), "--json")
    assert removed.code == 0, removed.stderr
    assert removed.json()["code_paths"] == [] and removed.json()["isolation"] != "own"


def test_code_paths_are_on_the_import_path_and_fingerprinted(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "helpers.py").write_text("FACTOR = 3\n")
    code = chain.nodes.path("clean") / "code"
    (code / "main.py").write_text(
        "import helpers, nodepipe_node as node\n"
        "(node.data_dir() / 'answer.txt').write_text(str(helpers.FACTOR))\n"
    )
    added = cli("env", "code-path", "add", "clean", str(scripts), "--json")
    assert added.code == 0, added.stderr
    assert added.json()["code_paths"] == [str(scripts)]
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "clean") == "3"

    (scripts / "helpers.py").write_text("FACTOR = 44\n")
    state, reasons = states(chain)["clean"]
    assert state is NodeState.STALE
    assert f"shared code changed: {scripts} (helpers.py)" in reasons
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "clean") == "44"

    refused = cli("env", "code-path", "add", "clean", str(tmp_path / "nope"))
    assert refused.code != 0 and "no folder at" in " ".join(refused.stderr.split())
    inside = cli("env", "code-path", "add", "clean", str(code))  # rich wraps long paths:
    assert inside.code != 0 and "inside the node's code/ folder" in " ".join(inside.stderr.split())
    before = (code / "pyproject.toml").read_text()
    for holding in (chain.root, chain.nodes.path("clean")):  # its store, logs, outputs: never
        around = cli("env", "code-path", "add", "clean", str(holding))  # up to date
        assert around.code == 2 and "holds the node's own folder" in " ".join(around.stderr.split())
    outputs = chain.nodes.path("clean") / "data" / "tables"  # what its runs write
    outputs.mkdir(parents=True)
    written = cli("env", "code-path", "add", "clean", str(outputs))
    assert written.code == 2 and "inside the node's own folder" in " ".join(written.stderr.split())
    assert (code / "pyproject.toml").read_text() == before
    removed = cli("env", "code-path", "remove", "clean", str(scripts), "--json")
    assert removed.code == 0 and removed.json()["code_paths"] == []
    assert "shared code removed" in " ".join(states(chain)["clean"][1])


def test_a_code_path_in_the_workspace_store_is_refused_added_or_written_by_hand(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    """A code path inside .nodepipe/ (its objects change at every run) or around it is refused
    by ``env code-path add``, and, written into pyproject.toml by hand, at status and run."""
    code = chain.nodes.path("clean") / "code"
    (code / "main.py").write_text("import nodepipe_node as n\n(n.data_dir() / 'ran').touch()\n")
    state_dir = chain.root / ".nodepipe"
    objects = state_dir / "objects"
    objects.mkdir(exist_ok=True)
    before = (code / "pyproject.toml").read_text()
    for folder in (objects, state_dir, chain.root):
        refused = cli("env", "code-path", "add", "clean", str(folder))
        said = " ".join(refused.stderr.split())
        assert refused.code == 2 and "it would never be up to date" in said, said
    assert (code / "pyproject.toml").read_text() == before

    for written in (str(objects), "../../../.nodepipe/objects"):
        set_code_paths(code / "pyproject.toml", [written])
        state, reasons = states(chain)["clean"]
        assert state is NodeState.FAILED, reasons
        assert f"code path {written} is inside the workspace's .nodepipe/" in reasons[0]
        ran = cli("run", "baseline")
        assert ran.code != 0 and f"code path {written}" in " ".join(
            (ran.stdout + ran.stderr).split()
        )
        assert not (chain.nodes.path("clean") / "data" / "ran").exists()  # never launched


def test_a_code_path_in_another_nodes_folder_is_refused_but_its_code_is_not(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """Audit4 F4: another node's folder, or its data/, changes at every run of that node: as a
    code path it would keep this node stale forever. Its code/ is code like any other."""
    code = chain.nodes.path("clean") / "code"
    before = (code / "pyproject.toml").read_text()
    load = chain.nodes.path("load")
    for folder in (load, load / "data", load / "logs"):
        folder.mkdir(exist_ok=True)
        refused = cli("env", "code-path", "add", "clean", str(folder))
        said = " ".join(refused.stderr.split())
        assert refused.code == 2 and "another node's folder" in said, said
    assert (code / "pyproject.toml").read_text() == before
    assert cli("env", "code-path", "add", "clean", str(load / "code")).code == 0
    assert cli("run", "baseline").code == 0
    assert states(chain)["clean"][0] is NodeState.COMPLETED
    assert cli("run", "baseline", "--force").code == 0
    assert states(chain)["clean"][0] is NodeState.COMPLETED  # up to date after every run


def test_a_folder_symlinked_into_code_is_followed(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "helpers.py").write_text("FACTOR = 1\n")
    code = chain.nodes.path("load") / "code"
    (code / "lib").symlink_to(shared, target_is_directory=True)
    chain.runs.run(RunRequest("baseline"))
    (shared / "helpers.py").write_text("FACTOR = 2\n")
    state, reasons = states(chain)["load"]
    assert state is NodeState.STALE and "code changed: lib/helpers.py" in reasons


def test_a_link_to_code_itself_is_recorded_by_its_target_not_refused(
    chain: nodepipe.Workspace, envs: EnvironmentService
) -> None:
    """``code/pkg/up -> ..`` leads to ``code/``, which holds none of what runs write: it was
    refused as "a folder that holds the node's own folder", failing the node."""
    code = chain.nodes.path("load") / "code"
    (code / "pkg").mkdir()
    (code / "pkg" / "up").symlink_to("..", target_is_directory=True)
    chain.runs.run(RunRequest("baseline"))
    assert states(chain)["load"] == (NodeState.COMPLETED, ())
    (code / "pkg" / "up").unlink()
    assert states(chain)["load"] == (NodeState.STALE, ("code removed: pkg/up",))


def test_a_link_loop_in_code_counts_by_its_target_and_fails_nothing(
    chain: nodepipe.Workspace, envs: EnvironmentService
) -> None:
    code = chain.nodes.path("load") / "code"
    (code / "a").symlink_to("b")  # a -> b -> a: ELOOP to whoever follows it, a link that
    (code / "b").symlink_to("a")  # leads nowhere as a dangling one; was "cannot read …/a"
    chain.runs.run(RunRequest("baseline"))
    assert states(chain)["load"] == (NodeState.COMPLETED, ())
    (code / "b").unlink()  # pointed at a file: both lead to it now, a change named
    (code / "b").symlink_to("main.py")
    assert states(chain)["load"] == (NodeState.STALE, ("code changed: a, b",))


@pytest.mark.parametrize(
    ("name", "target"),
    [("up", ".."), ("outputs", "../data"), ("state", "../../../.nodepipe")],
)
def test_a_link_into_what_runs_write_is_refused_naming_it(
    chain: nodepipe.Workspace,
    envs: EnvironmentService,
    cli: CliRunner,
    tmp_path: Path,
    name: str,
    target: str,
) -> None:
    """Audit2 F2: a link in code/ to the node's own folder, its data/, or .nodepipe/ would make
    the node stale after every run, forever; it is refused instead."""
    code = chain.nodes.path("load") / "code"
    (code / name).symlink_to(target, target_is_directory=True)
    state, reasons = states(chain)["load"]
    assert state is NodeState.FAILED
    assert f"code/{name} is a link to" in reasons[0] and "remove the link" in reasons[0]
    failed = cli("run", "baseline")
    assert failed.code != 0 and f"code/{name} is a link to" in failed.stdout + failed.stderr
    (code / name).unlink()
    # the same link inside a code path (external code) is recorded by its target, not
    # followed (audit3 G17), so what runs write behind it never makes the node stale
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "back").symlink_to(code.parent, target_is_directory=True)
    assert cli("env", "code-path", "add", "load", str(scripts)).code == 0
    assert not any(f"{scripts}/back" in r for r in states(chain)["load"][1])
    for _ in range(2):
        assert cli("run", "baseline").code == 0
        assert states(chain)["load"][0] is NodeState.COMPLETED  # up to date after each run


def test_a_folder_that_is_no_python_project_is_refused_naming_code_paths(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "helpers.py").write_text("X = 1\n")
    code = chain.nodes.path("plot") / "code"
    before = (code / "pyproject.toml").read_text(), (code / "uv.lock").read_text()
    for option in ("--shared", "--path", "--snapshot"):
        refused = cli("env", "add", "plot", option, str(scripts))
        told = " ".join(refused.stderr.split())
        assert refused.code == 2, (option, refused.stderr)
        assert "is not a Python project" in told and "code path" in told, option
        assert "uv" not in told.replace("uv.lock", ""), option
    assert ((code / "pyproject.toml").read_text(), (code / "uv.lock").read_text()) == before
    assert not (code / "snapshots").exists()  # nothing left of the refused snapshot
