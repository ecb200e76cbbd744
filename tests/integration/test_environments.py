"""Node environments, offline: tiny local wheels stand in for an index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe import NodeState
from nodepipe.domain.errors import EnvironmentBuildError, InvalidInputError
from nodepipe.services.envs.environments import EnvironmentService
from nodepipe.services.runs.service import RunRequest
from support.wheels import local_project

PRINT_VERSION = """\
import toypkg, nodepipe_node as node
(node.data_dir() / "version.txt").write_text(toypkg.VERSION)
"""


@pytest.fixture
def envs(chain: nodepipe.Workspace, offline_index: Path) -> EnvironmentService:
    return EnvironmentService(chain.context)


def python_of(ws: nodepipe.Workspace, node: str) -> str:
    return str(ws.nodes.path(node) / "code" / ".venv" / "bin" / "python")


def import_version(ws: nodepipe.Workspace, node: str) -> str:
    return subprocess.run(
        [python_of(ws, node), "-c", "import toypkg; print(toypkg.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_two_nodes_hold_incompatible_versions_and_both_run(
    chain: nodepipe.Workspace, envs: EnvironmentService
) -> None:
    envs.add("clean", ["toypkg==1.0"])
    envs.add("plot", ["toypkg>=2"])
    for tag in ("clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(PRINT_VERSION)
    result = chain.runs.run(RunRequest("baseline"))
    assert result.finished is not None and result.finished.failed == 0
    versions = {
        tag: (chain.nodes.path(tag) / "data" / "version.txt").read_text()
        for tag in ("clean", "plot")
    }
    assert versions == {"clean": "1.0", "plot": "2.0"}
    shown = envs.show("plot")
    assert shown.direct == ("toypkg>=2",) and shown.locked == {"toypkg": "2.0"}


def test_lock_change_makes_node_and_descendants_stale_with_reason(
    chain: nodepipe.Workspace, envs: EnvironmentService
) -> None:
    envs.add("clean", ["toypkg==1.0"])
    (chain.nodes.path("clean") / "code" / "main.py").write_text(PRINT_VERSION)
    chain.runs.run(RunRequest("baseline"))
    envs.add("clean", ["toypkg==2.0"])
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    assert status["clean"].state is NodeState.STALE
    assert "lock changed: toypkg 1.0 → 2.0" in status["clean"].reasons
    assert status["plot"].reasons == ("parent 01 (clean) is stale",)
    assert status["load"].state is NodeState.COMPLETED
    chain.runs.run(RunRequest("baseline"))
    assert (chain.nodes.path("clean") / "data" / "version.txt").read_text() == "2.0"


def test_unresolvable_requirement_changes_nothing(
    chain: nodepipe.Workspace, envs: EnvironmentService
) -> None:
    envs.add("clean", ["toypkg==1.0"])
    code = chain.nodes.path("clean") / "code"
    before = {name: (code / name).read_text() for name in ("pyproject.toml", "uv.lock")}
    with pytest.raises(EnvironmentBuildError, match="toypkg"):
        envs.add("clean", ["toypkg==9.9"])
    with pytest.raises(EnvironmentBuildError):
        envs.add("clean", ["no-such-package-anywhere"])
    assert {name: (code / name).read_text() for name in before} == before
    assert import_version(chain, "clean") == "1.0"


def test_interrupted_sync_never_leaves_a_trusted_half_environment(
    chain: nodepipe.Workspace, envs: EnvironmentService, offline_index: Path
) -> None:
    envs.add("clean", ["toypkg==1.0"])
    code = chain.nodes.path("clean") / "code"
    environments = chain.context.environments
    # the lock now wants a wheel that can no longer be found anywhere: the sync breaks midway
    environments.run_uv(code, ["lock", "--upgrade-package", "toypkg"], "prepare")
    shutil.copy(code / "uv.lock", code / "uv.lock.wanted")
    environments.run_uv(code, ["add", "--no-sync", "toypkg==2.0"], "prepare")
    (offline_index / "toypkg-2.0-py3-none-any.whl").unlink()
    shutil.rmtree(chain.context.layout.uv_cache_dir)
    with pytest.raises(EnvironmentBuildError):
        environments.sync(code)
    assert import_version(chain, "clean") == "1.0"  # the old environment is intact
    assert not list(code.glob(".venv.building-*"))
    with pytest.raises(EnvironmentBuildError):
        environments.ensure_synced(code)  # not trusted: the marker is the old lock's


def test_remove_import_python_and_kernel(
    chain: nodepipe.Workspace,
    envs: EnvironmentService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("toypkg==1.0\notherpkg\n")
    shown = envs.import_requirements("clean", requirements)
    assert shown.locked == {"toypkg": "1.0", "otherpkg": "0.1"}
    assert envs.remove("clean", ["otherpkg"]).locked == {"toypkg": "1.0"}
    pyproject = (chain.nodes.path("clean") / "code" / "pyproject.toml").read_bytes()
    with pytest.raises(InvalidInputError, match="clean has no requirement nosuch, OtherPkg: its"):
        envs.remove("clean", ["toypkg", "nosuch", "OtherPkg"])  # nothing removed, uv not asked
    assert (chain.nodes.path("clean") / "code" / "pyproject.toml").read_bytes() == pyproject
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    spec_dir = envs.kernel("clean")
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"][0] == python_of(chain, "clean")
    kernel = subprocess.run(  # what the kernel's Python imports, as Jupyter starts it
        [spec["argv"][0], "-c", "import nodepipe_node as node; print(node.node_id())"],
        env={"PATH": os.environ["PATH"], **spec["env"]},
        capture_output=True,
        text=True,
    )
    assert kernel.stdout.strip() == chain.nodes.get("clean").id, kernel.stderr
    chain.nodes.delete(["clean"], "baseline")
    assert not spec_dir.exists()
    with pytest.raises(EnvironmentBuildError, match="never downloads"):
        envs.set_python("plot", "3.99")
    with pytest.raises(InvalidInputError):
        envs.set_python("plot", "three")


def test_snapshot_and_shared_checkouts(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    library = local_project(tmp_path / "libs" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    envs.add("clean", [], snapshot=str(library))
    envs.add("plot", [], shared=str(library))
    snapshot = chain.nodes.path("clean") / "code" / "snapshots" / "mytool"
    assert (snapshot / "mytool" / "__init__.py").read_text() == "ANSWER = 1\n"
    shown = {tag: envs.show(tag) for tag in ("clean", "plot")}
    assert shown["clean"].snapshots == {"mytool": str(library)}
    assert shown["plot"].shared == {"mytool": str(library)}

    def answer(node: str) -> str:
        return subprocess.run(
            [python_of(chain, node), "-c", "import mytool; print(mytool.ANSWER)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text("pass\n")
    chain.runs.run(RunRequest("baseline"))
    (library / "mytool" / "__init__.py").write_text("ANSWER = 2\n")
    assert (answer("clean"), answer("plot")) == ("1", "2")  # own copy vs the shared checkout
    envs.update_snapshot("clean", "mytool")
    assert answer("clean") == "2"
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    assert "code changed: snapshots/mytool/mytool/__init__.py" in status["clean"].reasons
    assert status["plot"].state is NodeState.STALE  # below clean


def test_template_node_copies_code_and_lock_without_resolving(
    chain: nodepipe.Workspace,
    envs: EnvironmentService,
    monkeypatch: pytest.MonkeyPatch,
    offline_index: Path,
) -> None:
    envs.add("clean", ["toypkg==1.0"])
    (chain.nodes.path("clean") / "code" / "main.py").write_text(PRINT_VERSION)
    for wheel in offline_index.iterdir():  # nothing left to resolve from: the cache must do
        wheel.unlink()
    train = chain.nodes.new("baseline", "train", template="clean")
    code = chain.nodes.path(train.id) / "code"
    assert (code / "main.py").read_text() == PRINT_VERSION
    assert (code / "uv.lock").read_text() == (
        chain.nodes.path("clean") / "code" / "uv.lock"
    ).read_text()
    assert import_version(chain, train.id) == "1.0"
    assert chain.nodes.show(train.id).inputs == ()


def test_shared_environment_nodes(chain: nodepipe.Workspace, envs: EnvironmentService) -> None:
    chain.shared_envs.new("tools", ["toypkg==1.0"])
    quick = chain.nodes.new("baseline", "quick", shared_env="tools")
    code = chain.nodes.path(quick.id) / "code"
    assert (code / ".venv").is_symlink()
    (code / "main.py").write_text(PRINT_VERSION)
    result = chain.runs.run(RunRequest("baseline", only=["quick"]))
    assert result.finished is not None and result.finished.completed == 1
    assert (chain.nodes.path(quick.id) / "data" / "version.txt").read_text() == "1.0"
    made = (code / ".venv").lstat().st_ctime_ns
    chain.runs.run(RunRequest("baseline", only=["quick"], force=True))
    assert (code / ".venv").lstat().st_ctime_ns == made  # a run leaves the node's link as it is
    chain.shared_envs.add("tools", ["toypkg==2.0"])
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    assert "lock changed: toypkg 1.0 → 2.0" in status["quick"].reasons
    chain.runs.run(RunRequest("baseline", only=["quick"]))
    assert (chain.nodes.path(quick.id) / "data" / "version.txt").read_text() == "2.0"
    shared_lock = (chain.context.layout.shared_env_dir("tools") / "uv.lock").read_bytes()
    (code / "uv.lock").write_text("edited by hand\n")
    (code / ".venv").unlink()
    (code / ".venv").mkdir()  # something else in its place
    chain.runs.run(RunRequest("baseline", only=["quick"], force=True))
    assert (code / ".venv").is_symlink() and (code / "uv.lock").read_bytes() == shared_lock
    assert (chain.nodes.path(quick.id) / "data" / "version.txt").read_text() == "2.0"
    with pytest.raises(nodepipe.NotFoundError, match="no shared environment 'nope'") as missing:
        chain.nodes.new("baseline", "other", shared_env="nope")
    assert missing.value.hint == nodepipe.Hint(nodepipe.Action.SHARED_ENV_NEW, {"name": "nope"})


def test_pipeline_base_packages(chain: nodepipe.Workspace, envs: EnvironmentService) -> None:
    assert chain.base_envs.add("baseline", ["toypkg==1.0"]) == ("toypkg==1.0",)
    for tag in ("load", "clean", "plot"):
        assert envs.show(tag).locked == {"toypkg": "1.0"}
    later = chain.nodes.new("baseline", "later")
    assert import_version(chain, later.id) == "1.0"
    envs.add("plot", ["otherpkg"])
    before = {
        tag: (chain.nodes.path(tag) / "code" / "uv.lock").read_text() for tag in ("load", "plot")
    }
    with pytest.raises(EnvironmentBuildError):
        chain.base_envs.add("baseline", ["toypkg==7.0"])
    after = {tag: (chain.nodes.path(tag) / "code" / "uv.lock").read_text() for tag in before}
    assert after == before and chain.base_envs.show("baseline") == ("toypkg==1.0",)
    assert chain.base_envs.remove("baseline", ["toypkg"]) == ()
    assert envs.show("plot").locked == {"otherpkg": "0.1"}


def test_base_packages_and_shared_environments_are_printed_as_written(
    lab: nodepipe.Workspace, cli: CliRunner
) -> None:
    """An extra in brackets, or a name holding brackets, is text, not terminal markup."""
    lab.pipelines.new("empty")  # no node to relock: the base changes without uv
    added = cli("pipeline", "base-env", "empty", "add", "toypkg[cli]==1.0")
    assert added.stdout == "base packages: toypkg[cli]==1.0\n"
    assert cli("pipeline", "base-env", "empty", "show").stdout == "toypkg[cli]==1.0\n"
    lab.shared_envs.new("tools[bold]")
    assert cli("shared-env", "list").stdout == "tools[bold]\n"


def test_inline_script_metadata_is_honoured(
    chain: nodepipe.Workspace, envs: EnvironmentService
) -> None:
    main = chain.nodes.path("clean") / "code" / "main.py"
    main.write_text('# /// script\n# dependencies = ["toypkg==2.0"]\n# ///\n' + PRINT_VERSION)
    chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert (chain.nodes.path("clean") / "data" / "version.txt").read_text() == "2.0"
    assert envs.show("clean").locked == {"toypkg": "2.0"}
    main.write_text(main.read_text().replace("toypkg==2.0", "toypkg==1.0"))
    chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert (chain.nodes.path("clean") / "data" / "version.txt").read_text() == "1.0"
    assert envs.show("clean").direct == ("toypkg==1.0",)


def test_code_first_pipeline_materialises_as_node_folders(
    lab: nodepipe.Workspace, offline_index: Path
) -> None:
    pipe = nodepipe.define("code-first", base={"otherpkg": "*"})

    @pipe.node(packages={"toypkg": "1.0"}, params={"scale": 2})
    def old() -> None:
        import nodepipe_node as node
        import toypkg

        (node.data_dir() / "version.txt").write_text(toypkg.VERSION * node.params()["scale"])

    @pipe.node(
        parents=["old"],
        packages={"toypkg": ">=2"},
        python=">=3.11",
    )
    def new() -> None:
        import nodepipe_node as node
        import toypkg

        seen = (node.parent("01").data_dir / "version.txt").read_text()
        (node.data_dir() / "version.txt").write_text(seen + "|" + toypkg.VERSION)

    view = lab.materialize(pipe)
    assert sorted(i.node.tag for i in view.nodes) == ["new", "old"]
    envs = EnvironmentService(lab.context)
    assert envs.show("old").locked == {"otherpkg": "0.1", "toypkg": "1.0"}
    assert envs.show("new").locked == {"otherpkg": "0.1", "toypkg": "2.0"}
    result = lab.runs.run(RunRequest("code-first"))
    assert result.finished is not None and result.finished.failed == 0, result
    assert (lab.nodes.path("new") / "data" / "version.txt").read_text() == "1.01.0|2.0"
    again = lab.materialize(pipe)  # nothing changed: nothing becomes stale
    assert {i.node.id for i in again.nodes} == {i.node.id for i in view.nodes}
    assert lab.runs.run(RunRequest("code-first")).run_id is None


def test_environment_commands_in_the_cli(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    added = cli("env", "add", "clean", "toypkg==1.0", "--json")
    assert added.code == 0, added.stderr
    assert added.json()["locked"] == {"toypkg": "1.0"}
    assert "toypkg" in cli("env", "show", "clean").stdout
    refused = cli("env", "add", "clean", "toypkg==9.9")
    assert refused.code == 2 and "toypkg" in refused.stderr  # no such version: bad input
    assert cli("pipeline", "base-env", "baseline", "add", "otherpkg").code == 0
    assert cli("pipeline", "base-env", "baseline", "show", "--json").json()["packages"] == [
        "otherpkg"
    ]
    assert cli("shared-env", "new", "tools", "toypkg==2.0").code == 0
    quick = cli("node", "new", "baseline", "--tag", "quick", "--shared-env", "tools", "--json")
    assert quick.code == 0, quick.stderr
    seeded = cli("node", "new", "baseline", "--tag", "train", "--template", "clean", "--json")
    assert seeded.code == 0 and envs.show(seeded.json()["id"]).locked == {
        "toypkg": "1.0",
        "otherpkg": "0.1",
    }
    assert cli("env", "python", "clean", "2.1").code == 2  # no such Python here


def test_isolation_in_and_out_at_any_time(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    """Finding 4: a node chooses a shared environment, an interpreter or its own at any time;
    env add on a shared-env node is refused naming `env detach`; nothing left beside .venv."""
    chain.shared_envs.new("tools", ["toypkg==1.0"])
    code = chain.nodes.path("clean") / "code"
    (code / "main.py").write_text(PRINT_VERSION)
    envs.add("clean", ["otherpkg"])
    used = cli("env", "use-shared", "clean", "tools", "--json")
    assert used.code == 0, used.stderr
    assert used.json()["isolation"] == "shared:tools" and (code / ".venv").is_symlink()
    lock_before = (code / "uv.lock").read_bytes()
    refused = cli("env", "add", "clean", "toypkg==2.0")
    assert refused.code == 4
    assert "uses the shared environment 'tools'" in refused.stderr
    clean = chain.nodes.get("clean").id  # a hint names a node by id: tags repeat
    assert f"nodepipe env detach {clean}" in refused.stderr
    assert (code / "uv.lock").read_bytes() == lock_before
    assert chain.runs.run(RunRequest("baseline")).finished is not None
    assert (chain.nodes.path("clean") / "data" / "version.txt").read_text() == "1.0"

    detached = cli("env", "detach", "clean", "--json")
    assert detached.code == 0, detached.stderr
    shown = detached.json()
    assert shown["isolation"] == "own" and shown["locked"] == {"toypkg": "1.0"}  # same packages
    assert not (code / ".venv").is_symlink() and import_version(chain, "clean") == "1.0"
    assert cli("env", "add", "clean", "toypkg==2.0").code == 0
    assert import_version(chain, "clean") == "2.0"

    system = cli("env", "interpreter", "clean", sys.executable, "--json")
    assert system.code == 0, system.stderr
    assert system.json()["isolation"] == f"interpreter:{Path(sys.executable).absolute()}"
    assert system.json()["not_installed"] == ["toypkg"]  # that interpreter lacks it
    (warning,) = system.json()["warnings"]
    assert "which does not have toypkg" in warning and "env detach" not in warning  # the API's
    again = cli("env", "interpreter", "clean", sys.executable)
    assert again.code == 0 and "warning:" in again.stderr and "toypkg" in again.stderr
    assert f"`nodepipe env detach {clean}`" in again.stderr  # the CLI names the command
    shown = cli("env", "show", "clean")
    assert "not isolated" in shown.stdout
    row = next(line for line in shown.stdout.splitlines() if line.strip().startswith("toypkg"))
    cells = [cell.strip() for cell in row.split("│")]
    assert cells[:3] == ["toypkg", "not installed under the interpreter", "toypkg==2.0"]
    assert "which does not have toypkg" in shown.stderr
    assert not (code / ".venv").exists()
    (code / "main.py").write_text(
        "import os, sys, nodepipe_node as node\n"
        "(node.data_dir() / 'python.txt').write_text(sys.executable)\n"
        "(node.data_dir() / 'venv.txt').write_text(os.environ.get('VIRTUAL_ENV', ''))\n"
        "(node.data_dir() / 'path.txt').write_text(os.environ['PATH'])\n"
    )
    result = chain.runs.run(RunRequest("baseline", only=["clean"]))
    assert result.finished is not None and result.finished.completed == 1
    data = chain.nodes.path("clean") / "data"
    assert (data / "python.txt").read_text() == str(Path(sys.executable).absolute())
    assert not (code / ".venv").exists(), "run made a venv"
    assert (data / "venv.txt").read_text() == ""  # no environment it does not have
    assert str(code / ".venv") not in (data / "path.txt").read_text()
    assert cli("env", "detach", "clean").code == 0
    assert import_version(chain, "clean") == "2.0"
    leftovers = [p.name for p in code.iterdir() if p.name.startswith(".venv.")]
    assert leftovers == []


def test_uv_failures_in_nodepipe_words_and_uv_text_behind_verbose(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    """Issue 14, finding 7: no uv hint leaks; --verbose adds uv's full output."""
    plain = cli("env", "add", "clean", "nosuchpkg==1.0")
    assert plain.code == 2
    assert "a package or version asked for does not exist" in plain.stderr
    assert "nosuchpkg" in plain.stderr and "hint:" not in plain.stderr
    assert "what uv said" not in plain.stderr
    verbose = cli("--verbose", "env", "add", "clean", "nosuchpkg==1.0")
    assert verbose.code == 2 and "what uv said:" in verbose.stderr


def test_a_failed_materialize_leaves_nothing_half_built(
    lab: nodepipe.Workspace, offline_index: Path
) -> None:
    """Issue 14, finding 7: materialize is all or nothing, on a new pipeline and an old one."""
    pipe = nodepipe.define("code-first")

    @pipe.node(packages={"toypkg": "1.0"})
    def first() -> None:
        print("first")

    @pipe.node(parents=["first"], packages={"nosuchpkg": "1.0"})
    def second() -> None:
        print("second")

    with pytest.raises(nodepipe.NodepipeError):
        lab.materialize(pipe)
    assert [p.tag for p in lab.pipelines.list()] == []
    assert list(lab.context.layout.nodes_dir.iterdir()) == []  # no node folder left

    good = nodepipe.define("code-first")

    @good.node(packages={"toypkg": "1.0"})
    def first() -> None:  # noqa: F811 - the same node, declared again
        print("first")

    lab.materialize(good)
    code = lab.nodes.path("first") / "code"
    before = {name: (code / name).read_bytes() for name in ("main.py", "pyproject.toml", "uv.lock")}
    worse = nodepipe.define("code-first")

    @worse.node(packages={"toypkg": "2.0"})
    def first() -> None:  # noqa: F811
        print("changed")

    @worse.node(parents=["first"], packages={"nosuchpkg": "1.0"})
    def second() -> None:  # noqa: F811
        print("second")

    with pytest.raises(nodepipe.NodepipeError):
        lab.materialize(worse)
    assert [n.tag for n in lab.nodes.list("code-first")] == ["first"]
    after = {name: (code / name).read_bytes() for name in before}
    assert after == before and import_version(lab, "first") == "1.0"
    assert len(list(lab.context.layout.nodes_dir.iterdir())) == 1


def test_env_show_names_the_request_uv_reads_not_the_comments_around_it(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    here = "{}.{}".format(*sys.version_info[:2])
    request_file = chain.nodes.path("load") / "code" / ".python-version"
    request_file.write_text(f"# the team's Python (see the wiki)\n\n  {here}\n# 3.9 once\n")
    shown = cli("env", "show", "load", "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["python_request"] == here
    assert shown.json()["python"].startswith(f"{here}.")
    text = cli("env", "show", "load")
    assert f"python requested: {here}\n" in text.stdout
    assert "wiki" not in text.stdout and "3.9" not in text.stdout
    request_file.write_text("# nothing asked for yet\n")  # uv: no request, the default
    assert cli("env", "show", "load", "--json").json()["python_request"] == "default"
