"""Environment commands say what they do and accept only what they can do (s39-h6): the
Python a node asks for is written as asked, a request nodepipe can never answer is refused as
bad input naming why, and nothing changes when it is."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe.domain.errors import NodepipeError
from nodepipe.envs.interpreters import find_interpreter
from nodepipe.envs.python_requests import this_platform


def _files(ws: nodepipe.Workspace, tag: str) -> dict[str, bytes]:
    code = ws.nodes.path(tag) / "code"
    return {
        name: (code / name).read_bytes()
        for name in ("pyproject.toml", "uv.lock", ".python-version")
        if (code / name).is_file()
    }


def test_a_range_is_written_as_asked_not_narrowed_to_the_python_found(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    """`env python NODE ">=3.11,<3.13"` wrote requires-python ">=3.12" (the newest Python
    found): the lock then refused 3.11, which the user allowed."""
    shown = cli("env", "python", "clean", ">=3.11,<3.13", "--json")
    assert shown.code == 0, shown.stderr
    files = _files(chain, "clean")
    assert 'requires-python = ">=3.11,<3.13"' in files["pyproject.toml"].decode()
    assert files[".python-version"] == b">=3.11,<3.13\n"
    assert 'requires-python = ">=3.11, <3.13"' in files["uv.lock"].decode()
    assert shown.json()["python_request"] == ">=3.11,<3.13"
    version = cli("env", "python", "clean", "3.12", "--json")  # one version: from it on
    assert version.code == 0, version.stderr
    assert 'requires-python = ">=3.12"' in _files(chain, "clean")["pyproject.toml"].decode()


@pytest.mark.parametrize("request_text", ["2.7", "2", "python2", "<3"])
def test_python_2_is_refused_for_what_it_is_not_said_missing(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner, request_text: str
) -> None:
    """pyenv has 2.7.18 here: "no Python 2.7 is installed" was untrue; nodepipe cannot run a
    node with Python 2 (its helper is Python 3). Bad input, exit 2, nothing changed."""
    before = _files(chain, "clean")
    refused = cli("env", "python", "clean", request_text)
    assert refused.code == 2, refused.stderr
    assert "cannot run a node with Python 2" in refused.stderr
    assert "installed here" not in refused.stderr and "pyenv install" not in refused.stderr
    assert _files(chain, "clean") == before


def test_a_python_2_interpreter_by_path_is_refused_for_what_it_is(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    """A path to a Python 2 wrote requires-python ">=unknown" and failed in uv (exit 7)."""
    python2 = sorted((Path.home() / ".pyenv" / "versions").glob("2.*/bin/python2.*"))
    if not python2:
        pytest.skip("no Python 2 installed by pyenv here")
    before = _files(chain, "clean")
    refused = cli("env", "python", "clean", str(python2[0]))
    assert refused.code == 2, refused.stderr
    assert f"{python2[0]} is a Python 2: nodepipe cannot run a node" in refused.stderr
    assert _files(chain, "clean") == before


def test_a_download_key_of_another_platform_is_refused_naming_this_one(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    """`cpython-3.12.1-macos-aarch64-none` was taken on Linux (a 3.12.1 of this machine
    answered); the key asks for an interpreter no machine but a Mac on ARM has."""
    system, machine, libc = this_platform()
    here = f"{system}-{machine}-{libc}"
    other = "windows-x86_64-none" if system != "windows" else "linux-x86_64-gnu"
    before = _files(chain, "clean")
    refused = cli("env", "python", "clean", f"cpython-3.12.1-{other}")
    assert refused.code == 2, refused.stderr
    assert f"another platform ({other})" in refused.stderr
    assert f"this machine is {here}" in refused.stderr
    assert f"(cpython-3.12.1-{here})" in refused.stderr
    assert _files(chain, "clean") == before
    mine = cli("env", "python", "clean", f"cpython-3.12-{here}", "--json")
    assert mine.code == 0, mine.stderr
    assert mine.json()["python"].startswith("3.12.")


INLINE = '# /// script\n# dependencies = ["toypkg==1.0"]\n# ///\nimport toypkg\n'


def test_a_pin_the_inline_metadata_rules_out_is_refused_at_env_add(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    """`env add NODE toypkg==2.0` with main.py's `# /// script` asking for toypkg==1.0 was
    taken: the node failed only at its next run ("No solution found"). Refused now, naming
    both requirements (exit 2: requirements no versions satisfy together), nothing changed;
    a requirement the inline one allows is still taken."""
    (chain.nodes.path("clean") / "code" / "main.py").write_text(INLINE)
    before = _files(chain, "clean")
    refused = cli("env", "add", "clean", "toypkg==2.0")
    assert refused.code == 2, refused.stderr
    assert "toypkg==2.0 conflicts with toypkg==1.0, which main.py asks for" in refused.stderr
    assert "# /// script" in refused.stderr and "nothing was changed" in refused.stderr
    assert _files(chain, "clean") == before
    allowed = cli("env", "add", "clean", "toypkg<2", "otherpkg==0.1", "--json")
    assert allowed.code == 0, allowed.stderr
    assert allowed.json()["locked"] == {"toypkg": "1.0", "otherpkg": "0.1"}


def test_a_pin_the_inline_metadata_rules_out_is_refused_by_import_and_replace(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner, tmp_path: Path
) -> None:
    """`env import NODE requirements.txt` and replacing the requirements (what a code-first
    pipeline's `packages=` does) took a pin that main.py's `# /// script` rules out: the node
    failed only at its next run. Refused like `env add`, naming both, nothing changed."""
    (chain.nodes.path("clean") / "code" / "main.py").write_text(INLINE)
    before = _files(chain, "clean")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("otherpkg==0.1\ntoypkg==2.0\n")
    refused = cli("env", "import", "clean", str(requirements))
    assert refused.code == 2, refused.stderr
    assert "toypkg==2.0 conflicts with toypkg==1.0, which main.py asks for" in refused.stderr
    assert _files(chain, "clean") == before
    with pytest.raises(NodepipeError, match=r"toypkg==2\.0 conflicts with toypkg==1\.0"):
        chain.envs.replace_requirements("clean", ["toypkg==2.0"])
    assert _files(chain, "clean") == before
    requirements.write_text("otherpkg==0.1\ntoypkg<2\n")
    allowed = cli("env", "import", "clean", str(requirements), "--json")
    assert allowed.code == 0, allowed.stderr
    assert allowed.json()["locked"] == {"toypkg": "1.0", "otherpkg": "0.1"}


def test_env_show_says_both_pythons_when_a_failed_sync_left_the_other(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    """`env show` headlined the Python asked for (3.11.7) while a failed sync had left the
    `.venv` on 3.12: now it says both, and warns why they differ."""
    for version in ("3.11", "3.12"):
        try:
            find_interpreter(version)
        except NodepipeError:
            pytest.skip(f"no Python {version} installed here")
    assert cli("env", "python", "clean", "3.12").code == 0
    code = chain.nodes.path("clean") / "code"
    (code / ".python-version").write_text("3.11\n")  # requires-python stays >=3.12
    assert cli("env", "sync", "clean").code == 7  # the relock for 3.11 fails: .venv stays
    shown = cli("env", "show", "clean", "--json").json()
    asked, built = shown["python"], shown["environment_python"]
    assert asked.startswith("3.11.") and built.startswith("3.12."), shown
    assert f"its environment has Python {built}, not the {asked} it asks for" in "".join(
        shown["warnings"]
    )
    text = cli("env", "show", "clean")
    node = chain.nodes.get("clean").id
    assert f"clean: asks for Python {asked}; its environment has {built}" in text.stdout
    assert f"`nodepipe env sync {node}`" in " ".join(text.stdout.split())
    (code / ".python-version").write_text("3.12\n")  # in step again: one Python, said once
    again = cli("env", "show", "clean", "--json").json()
    assert again["python"] == again["environment_python"] == built
    assert not any("its environment has" in warning for warning in again["warnings"])


def test_a_default_python_that_is_gone_is_named_with_where_it_is_set(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """`[python] interpreter` in nodepipe.toml naming a Python since removed (a pyenv version
    uninstalled): `node new` said only uv's "No interpreter found at path …", as if the user
    had typed the path. Now the setting is named; nothing is made."""
    config = chain.root / "nodepipe.toml"
    text = config.read_text()
    kept = next(line for line in text.splitlines() if line.startswith("interpreter = "))
    config.write_text(text.replace(kept, 'interpreter = "/nonexistent/bin/python3"'))
    before = sorted(p.name for p in (chain.root / "nodes").iterdir())
    refused = cli("node", "new", "baseline", "-t", "extra")
    assert refused.code == 6, refused.stderr  # a bad workspace: its setting is the fix
    assert (
        "the workspace's default Python /nonexistent/bin/python3 ([python] interpreter in "
        "nodepipe.toml) is not there or cannot be run"
    ) in refused.stderr
    assert sorted(p.name for p in (chain.root / "nodes").iterdir()) == before


def test_a_refused_package_leaves_the_project_files_as_they_were_times_too(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    """`env add clean nosuchpkg` was refused and put pyproject.toml back with the same bytes
    but a new modification time (uv rewrites what it edited, and so did the undo): an editor
    said the file changed on disk, `make` rebuilt what depends on it."""
    code = chain.nodes.path("clean") / "code"
    before = {name: (code / name).stat() for name in ("pyproject.toml", "uv.lock")}
    contents = _files(chain, "clean")
    refused = cli("env", "add", "clean", "nosuchpkg")
    assert refused.code == 2, refused.stderr
    assert _files(chain, "clean") == contents
    for name, stat in before.items():
        assert (code / name).stat().st_mtime_ns == stat.st_mtime_ns, name
