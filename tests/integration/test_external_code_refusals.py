"""Environment commands refuse, before uv runs, what external code makes impossible (audit3 G2),
and a huge external folder is refused when added (audit3 G7); real uv, real local projects."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe.services.envs.environments import EnvironmentService
from nodepipe.workspace.external_code import set_code_paths
from support.wheels import local_project


@pytest.fixture
def envs(chain: nodepipe.Workspace, offline_uv: Path) -> EnvironmentService:
    return chain.envs


def told(text: str) -> str:
    return "".join(text.split())  # rich wraps long paths anywhere


def project_files(code: Path) -> tuple[str, str]:
    return (code / "pyproject.toml").read_text(), (code / "uv.lock").read_text()


@pytest.mark.parametrize("kind", ["shared checkout", "local path"])
def test_env_commands_on_a_node_whose_external_project_is_gone_say_so_before_uv(
    chain: nodepipe.Workspace,
    envs: EnvironmentService,
    tmp_path: Path,
    cli: CliRunner,
    kind: str,
) -> None:
    project = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    if kind == "shared checkout":
        envs.add("plot", [], shared=str(project))
    else:
        envs.add("plot", [], path=str(project))
    envs.add("plot", ["toypkg==1.0"])
    code = chain.nodes.path("plot") / "code"
    before = project_files(code)
    project.rename(tmp_path / "src" / "moved")

    expected = told(
        f"external code is missing: {kind} mytool at {project}; restore it, or remove it "
        "from the node"
    )
    for args in (
        ["env", "sync", "plot"],
        ["env", "add", "plot", "otherpkg"],
        ["env", "lock", "plot"],
        ["env", "remove", "plot", "toypkg"],
    ):
        result = cli(*args)
        assert result.code == 2, (args, result)
        assert expected in told(result.stderr), (args, result.stderr)
        assert "uv" not in result.stderr and "out of step" not in result.stderr
        assert project_files(code) == before  # nothing changed

    result = cli("env", "remove", "plot", "MyTool")  # the way out: remove the missing source
    assert result.code == 0, result
    assert "mytool" not in (code / "pyproject.toml").read_text()
    assert cli("env", "add", "plot", "otherpkg").code == 0  # and editing works again


def test_a_missing_code_path_refuses_package_edits_but_not_its_own_removal(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "helpers.py").write_text("X = 1\n")
    assert cli("env", "code-path", "add", "plot", str(scripts)).code == 0
    scripts.rename(tmp_path / "gone")
    code = chain.nodes.path("plot") / "code"
    before = (code / "pyproject.toml").read_text()

    result = cli("env", "add", "plot", "toypkg==1.0")
    assert result.code == 2
    assert told(f"external code is missing: code path {scripts} at {scripts}") in told(
        result.stderr
    )
    assert (code / "pyproject.toml").read_text() == before

    assert cli("env", "code-path", "remove", "plot", str(scripts)).code == 0
    assert cli("env", "add", "plot", "toypkg==1.0").code == 0


def test_a_code_path_that_is_a_link_loop_is_missing_code_not_a_traceback(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    """A code path (or a source's path) that is a link to itself: ``Path.resolve`` raises
    RuntimeError on it, and status of the whole pipeline ended in that traceback."""
    loop = tmp_path / "scripts"
    loop.symlink_to(loop)
    code = chain.nodes.path("plot") / "code"
    set_code_paths(code / "pyproject.toml", [str(loop)])  # by hand
    status = cli("status", "baseline", "--why")
    assert status.code == 0, status.stderr
    assert told(f"external code is missing: code path {loop} at {loop}") in told(status.stdout)
    assert "clean" in status.stdout  # the other nodes are checked as usual
    for args in (
        ["env", "code-path", "add", "clean", str(loop)],
        ["env", "add", "clean", "--shared", str(loop)],
    ):
        refused = cli(*args)
        assert refused.code == 2 and f"no folder at {loop}" in refused.stderr, (args, refused)
    assert cli("env", "code-path", "remove", "plot", str(loop)).code == 0  # the way out


def huge_folder(folder: Path, files: int) -> Path:
    """``files`` empty modules in folders of 1,000 (a /usr, a home folder added by mistake)."""
    for index in range(files):
        part = folder / f"part{index // 1000}"
        part.mkdir(parents=True, exist_ok=True)
        (part / f"m{index}.py").touch()
    return folder


def test_a_huge_external_folder_is_refused_when_added_naming_how_to_accept_it(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    usr = huge_folder(tmp_path / "usr", 20_001)
    (usr / "pyproject.toml").write_text('[project]\nname = "usr"\nversion = "1"\n')
    code = chain.nodes.path("plot") / "code"
    before = (code / "pyproject.toml").read_text()
    node = chain.nodes.get("plot").id
    for args, accept in (
        (["code-path", "add", "plot", str(usr)], f"code-path add {node} {usr} --large"),
        (["add", "plot", "--shared", str(usr)], f"add {node} --shared {usr} --large"),
        (["add", "plot", "--path", str(usr)], f"add {node} --path {usr} --large"),
    ):
        result = cli("env", *args)
        assert result.code == 2, (args, result)
        said = told(result.stderr)
        assert told(f"{usr} holds more than 20,000 files") in said, result.stderr
        assert told(f"`nodepipe env {accept}`") in said  # the way to accept it
        assert (code / "pyproject.toml").read_text() == before  # nothing changed, uv not run

    result = cli("env", "code-path", "add", "plot", str(usr), "--large")
    assert result.code == 0, result
    assert str(usr) in (code / "pyproject.toml").read_text()


def test_the_count_is_the_files_a_fingerprint_walks_gitignored_ones_left_out(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    checkout = huge_folder(tmp_path / "tool" / "build", 20_001).parent
    (checkout / ".gitignore").write_text("build/\n")  # build products: never in a fingerprint
    (checkout / "helpers.py").write_text("X = 1\n")
    assert cli("env", "code-path", "add", "plot", str(checkout)).code == 0


def test_status_tells_a_listener_how_a_long_external_walk_goes(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    from nodepipe.services.walk_reports import reporting

    scripts = huge_folder(tmp_path / "scripts", 1_200)
    chain.external.code_path_add("plot", str(scripts))
    seen: list[str | None] = []
    with reporting(seen.append):
        chain.runs.status("baseline")
    lines = [line for line in seen if line is not None]
    reading = [line for line in lines if line.startswith(f"reading external code {scripts}: ")]
    assert len(reading) == 3  # at each folder: the root, then its two parts
    assert reading[0].endswith(": 0 files…")
    assert f"hashing external code {scripts}: 500 of 1,200 files…" in lines
    assert seen[-1] is None  # the line is taken away at the end
    seen.clear()
    chain.runs.status("baseline")  # nobody listening: nothing told
    assert seen == []


def test_the_cli_line_shows_on_a_terminal_once_the_command_took_its_delay() -> None:
    import io

    from rich.console import Console

    from nodepipe.cli.walk_status import WalkStatus

    screen = io.StringIO()
    quick = WalkStatus(delay=3600, console=Console(file=screen, force_terminal=True))
    quick("hashing external code /usr: 500 of 140,513 files…")
    quick(None)
    assert screen.getvalue() == ""  # an ordinary status never shows it

    slow = WalkStatus(delay=0, console=Console(file=screen, force_terminal=True))
    slow("hashing external code /usr: 500 of 140,513 files…")
    slow(None)
    assert "hashing external code /usr: 500 of 140,513 files…" in screen.getvalue()
    slow.close()
    shown = screen.getvalue()
    slow("hashing external code /usr: 1,000 of 140,513 files…")  # a run's display took over
    assert screen.getvalue() == shown


@pytest.mark.skipif(not Path("/proc/self/mountinfo").is_file(), reason="procfs is Linux's")
def test_a_kernel_filesystem_is_refused_even_with_large_before_any_walk(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    """`code-path add plot /proc --large` was taken: every status then walked procfs (a file
    per process, /proc/*/root back to /), and a snapshot of it copied procfs."""
    code = chain.nodes.path("plot") / "code"
    before = (code / "pyproject.toml").read_text()
    for args in (
        ["code-path", "add", "plot", "/proc", "--large"],
        ["code-path", "add", "plot", "/proc/self/task", "--large"],
        ["code-path", "add", "plot", "/sys", "--large"],
        ["add", "plot", "--snapshot", "/proc/self"],
    ):
        result = cli("env", *args)
        assert result.code == 2, (args, result)
        said = told(result.stderr)
        assert told("filesystem") in said and told("not code") in said, result.stderr
        assert (code / "pyproject.toml").read_text() == before
    assert not (code / "snapshots").exists()
