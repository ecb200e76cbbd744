"""``env index``: a node takes its packages from a private index (a real pypiserver), with no
credentials in its files; an index URL with a password is refused, a dead index changes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe.domain.errors import IndexUnreachableError, InvalidInputError
from support.package_index import PASSWORD, USER, PackageIndex, free_port, offline_env
from support.waiting import wait_for
from support.wheels import build_wheel, toy_index


def test_a_node_resolves_from_its_private_index(
    lab: nodepipe.Workspace,
    index: PackageIndex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: CliRunner,
) -> None:
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")  # PyPI stand-in: dead
    monkeypatch.setenv("TWINE_USERNAME", USER)
    monkeypatch.setenv("TWINE_PASSWORD", PASSWORD)
    wheels = sorted(toy_index(tmp_path / "wheels").glob("toypkg-*.whl"))
    lab.packages.publish(wheels, repository_url=index.url)
    lab.pipelines.new("p")
    lab.nodes.new("p", "uses")
    lab.nodes.new("p", "dead")

    added = cli("env", "index", "uses", index.simple_url, "--name", "team", "--default")
    assert added.code == 0, added.stderr
    lab.envs.add("uses", ["toypkg==2.0"])
    code = lab.nodes.path("uses") / "code"
    project = tomllib.loads((code / "pyproject.toml").read_text())
    assert project["tool"]["uv"]["index"] == [
        {"name": "team", "url": index.simple_url, "default": True}
    ]
    version = subprocess.run(
        [str(code / ".venv" / "bin" / "python"), "-c", "import toypkg; print(toypkg.VERSION)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "2.0"

    before = snapshot(lab)
    secret = index.simple_url.replace("http://", f"http://{USER}:{PASSWORD}@")
    with pytest.raises(
        InvalidInputError, match="UV_INDEX_TEAM_USERNAME and UV_INDEX_TEAM_PASSWORD"
    ):
        lab.envs.add_index("dead", secret, "team")
    assert snapshot(lab) == before
    no_default = cli("env", "index", "dead")
    assert no_default.code == 2 and "set a workspace default in nodepipe.toml" in no_default.stderr
    config = lab.root / "nodepipe.toml"
    config.write_text(
        config.read_text() + '\n[index]\nurl = "http://127.0.0.1:9/simple/"\nname = "gone"\n'
    )
    from_workspace = cli("env", "index", "dead", "--default")
    assert from_workspace.code == 0, from_workspace.stderr
    dead_pyproject = (lab.nodes.path("dead") / "code" / "pyproject.toml").read_text()
    assert '[[tool.uv.index]]\nname = "gone"\nurl = "http://127.0.0.1:9/simple/"' in dead_pyproject
    with pytest.raises(IndexUnreachableError):
        lab.envs.add("dead", ["toypkg==1.0"])
    assert (lab.nodes.path("dead") / "code" / "pyproject.toml").read_text() == dead_pyproject
    assert PASSWORD not in dead_pyproject


def test_a_locked_file_the_index_no_longer_has_is_told_as_such_not_as_a_dead_index(
    lab: nodepipe.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    """A walkthrough: the wheel a lock names was removed from the index (which answers 404):
    the sync says the index answered that the file is not there and how to relock, not that
    the index cannot be reached; once nothing answers there at all, it says that."""
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")  # PyPI stand-in: dead
    server = PackageIndex(tmp_path / "gone-index").start()
    try:
        first = build_wheel(server.packages, "gonepkg", "1.0", "VERSION = '1.0'\n")
        lab.pipelines.new("p")
        lab.nodes.new("p", "uses")
        lab.envs.add_index("uses", server.simple_url, "team", True)
        lab.envs.add("uses", ["gonepkg>=1.0"])
        code = lab.nodes.path("uses") / "code"
        locked = (code / "uv.lock").read_text()
        assert "gonepkg-1.0-py3-none-any.whl" in locked
        build_wheel(server.packages, "gonepkg", "1.1", "VERSION = '1.1'\n")
        first.unlink()  # gone from the index, which still answers

        def downloads_again() -> None:  # no cached wheel, no environment: the sync must fetch
            shutil.rmtree(lab.root / ".nodepipe" / "uv-cache")
            shutil.rmtree(code / ".venv")

        downloads_again()
        gone = cli("env", "sync", "uses")
        assert gone.code == 2, gone.stderr
        assert "the package index answered that the file of gonepkg==1.0 is not there" in (
            gone.stderr
        )
        assert f"404 Not Found: {server.url}packages/gonepkg-1.0-py3-none-any.whl" in gone.stderr
        assert "`nodepipe env lock NODE --upgrade`" in gone.stderr
        assert "cannot be reached" not in gone.stderr
        assert (code / "uv.lock").read_text() == locked

        relocked = cli("env", "lock", "uses", "--upgrade")
        assert relocked.code == 0, relocked.stderr
        assert "gonepkg-1.1-py3-none-any.whl" in (code / "uv.lock").read_text()
    finally:
        server.stop()
    downloads_again()
    dead = cli("env", "sync", "uses")
    assert dead.code == 7, dead.stderr
    assert "the package index cannot be reached" in dead.stderr
    assert "404" not in dead.stderr


def test_a_static_index_saying_file_not_found_is_not_a_dead_index(
    lab: nodepipe.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    """The simplest index there is, a folder served by `python -m http.server`, answers a
    removed wheel with its own reason phrase ("404 File not found"): the sync said "the
    package index cannot be reached" (exit 7, try again later) instead of what the README
    promises for any 404 (the file is not there, naming it; exit 2; relock)."""
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")  # PyPI stand-in: dead
    served = tmp_path / "served"
    (served / "simple" / "gonepkg").mkdir(parents=True)
    wheel = build_wheel(served / "simple" / "gonepkg", "gonepkg", "1.0", "VERSION = '1.0'\n")
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--directory", str(served)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    simple = f"http://127.0.0.1:{port}/simple/"
    try:
        wait_for(lambda: _answers(simple + "gonepkg/"), f"http.server on port {port}")
        lab.pipelines.new("p")
        lab.nodes.new("p", "uses")
        lab.envs.add_index("uses", simple, "static", True)
        lab.envs.add("uses", ["gonepkg==1.0"])
        code = lab.nodes.path("uses") / "code"
        locked = (code / "uv.lock").read_text()
        wheel.unlink()  # gone from the index, which still answers
        shutil.rmtree(lab.root / ".nodepipe" / "uv-cache")
        shutil.rmtree(code / ".venv")
        gone = cli("env", "sync", "uses")
        words = " ".join(gone.stderr.split())
        assert gone.code == 2, gone.stderr
        assert (
            "the package index answered that the file of gonepkg==1.0 is not there (HTTP 404 "
            f"File not found: {simple}gonepkg/gonepkg-1.0-py3-none-any.whl)"
        ) in words
        assert "cannot be reached" not in words and "env lock NODE --upgrade" in words
        assert (code / "uv.lock").read_text() == locked
    finally:
        server.terminate()
        server.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def test_an_import_whose_lock_names_a_file_gone_from_the_index_asks_the_bundles_author(
    lab: nodepipe.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    """A walkthrough: the import of a bundle whose lock names a wheel its index removed said
    to run `nodepipe env lock NODE --upgrade`, of a node the undone import did not keep; it
    says the bundle's author must relock and export again."""
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")  # PyPI stand-in: dead
    server = PackageIndex(tmp_path / "gone-index").start()
    try:
        first = build_wheel(server.packages, "gonepkg", "1.0", "VERSION = '1.0'\n")
        lab.pipelines.new("p")
        lab.nodes.new("p", "uses")
        lab.envs.add_index("uses", server.simple_url, "team", True)
        lab.envs.add("uses", ["gonepkg>=1.0"])
        assert cli("bundle", "export", "p", str(tmp_path / "bundle")).code == 0
        first.unlink()  # gone from the index, which still answers
        shutil.rmtree(lab.root / ".nodepipe" / "uv-cache")
        before = snapshot(lab)
        refused = cli("bundle", "import", str(tmp_path / "bundle"), "--name", "copy")
        assert refused.code == 2, refused.stderr
        said = " ".join(refused.stderr.split())
        assert "the package index answered that the file of gonepkg==1.0 is not there" in said
        assert "the bundle's author must relock that node" in said
        assert "export the bundle again" in said
        assert "env lock" not in said
        assert snapshot(lab) == before
    finally:
        server.stop()
