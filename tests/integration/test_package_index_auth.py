"""An index's refusals and guarded downloads, for real: a size-limiting proxy in front of
pypiserver answers a real 413; a pypiserver that wants the password for downloads too
(``-a download,update``) gives a real 401 without credentials and a real 403 with wrong ones.
Credentials given the way uv takes them (``UV_INDEX_<NAME>_*`` for ``--index-url NAME=URL``,
netrc, a real keyring: keyrings.alt's file backend) work for ``package pull`` and for a node's
``env index``; none is written into a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from support.model_pipeline import trained_model
from support.package_index import PASSWORD, USER, PackageIndex, offline_env
from support.size_proxy import SizeProxy
from support.wheels import build_wheel, toy_index

LIMIT = 2048
"""The proxy's body limit in bytes: below any pipeline wheel, above an empty request."""


@pytest.fixture(scope="module")
def private_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    """A pypiserver that wants the password for downloads as well as uploads."""
    server = PackageIndex(tmp_path_factory.mktemp("private"), "download,update").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing leaves the machine; no credential of the machine's (HOME, netrc, variables)."""
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")  # PyPI stand-in: dead
    for name in ("UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD", "TWINE_USERNAME", "TWINE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NETRC", raising=False)


def holding(folder: Path, secret: str) -> list[Path]:
    """The files under ``folder`` whose bytes contain ``secret``."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes():
            found.append(path)
    return found


def test_a_real_413_from_a_size_limit_names_the_fix_and_uploads_nothing(
    lab: nodepipe.Workspace,
    index: PackageIndex,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    cli: CliRunner,
) -> None:
    built = trained_model(lab).packages.build("model", alias="big-model", with_data=True)
    assert built.wheel.stat().st_size > LIMIT
    proxy = SizeProxy(index.url, LIMIT).start()
    try:
        files = [str(built.wheel), str(built.sdist)]
        missing = cli("package", "publish", *files, "--repository-url", proxy.url)
        assert missing.code == 2
        assert "needs a username and password and none was given" in missing.stderr
        assert "set TWINE_USERNAME and TWINE_PASSWORD" in missing.stderr
        monkeypatch.setenv("TWINE_USERNAME", USER)
        monkeypatch.setenv("TWINE_PASSWORD", PASSWORD)
        refused = cli("package", "publish", *files, "--repository-url", proxy.url)
    finally:
        proxy.stop()
    assert refused.code == 2
    assert "refused the file as too large (HTTP 413)" in refused.stderr
    assert "build it without data" in refused.stderr
    assert "ask the index's owner to raise its upload limit" in refused.stderr
    assert PASSWORD not in refused.stdout + refused.stderr
    assert index.files() == []


def test_pull_from_an_index_that_guards_downloads_takes_credentials_as_uv_does(
    lab: nodepipe.Workspace,
    private_index: PackageIndex,
    offline: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: CliRunner,
) -> None:
    built = trained_model(lab).packages.build("model", alias="guarded-model", version="1.0")
    lab.packages.publish(
        [built.wheel, built.sdist], private_index.url, username=USER, password=PASSWORD
    )
    other = nodepipe.init(tmp_path / "other")
    before = snapshot(other)
    named = f"private={private_index.simple_url}"
    pull = ("-w", str(other.root), "package", "pull", "guarded-model==1.0", "--index-url", named)

    unauthorized = cli(*pull)
    assert unauthorized.code == 7
    assert "refused the credentials (HTTP 401 Unauthorized" in unauthorized.stderr
    assert "UV_INDEX_<NAME>_USERNAME and UV_INDEX_<NAME>_PASSWORD" in unauthorized.stderr
    assert snapshot(other) == before
    monkeypatch.setenv("UV_INDEX_PRIVATE_USERNAME", USER)
    monkeypatch.setenv("UV_INDEX_PRIVATE_PASSWORD", "wrong")
    forbidden = cli(*pull)
    assert forbidden.code == 7
    assert "refused the credentials (HTTP 403 Forbidden" in forbidden.stderr
    assert "~/.netrc" in forbidden.stderr
    assert snapshot(other) == before

    monkeypatch.setenv("UV_INDEX_PRIVATE_PASSWORD", PASSWORD)
    pulled = cli(*pull, "--alias", "from-env", "--json")
    assert pulled.code == 0, pulled.stderr
    assert sorted(n["tag"] for n in pulled.json()["nodes"]) == ["predict", "train"]
    monkeypatch.delenv("UV_INDEX_PRIVATE_USERNAME")
    monkeypatch.delenv("UV_INDEX_PRIVATE_PASSWORD")

    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin {USER}\npassword {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    third = nodepipe.init(tmp_path / "third")  # its own uv cache: the download is asked again
    by_netrc = cli(
        "-w", str(third.root), "package", "pull", "guarded-model==1.0",
        "--index-url", private_index.simple_url, "--json",
    )  # fmt: skip
    assert by_netrc.code == 0, by_netrc.stderr
    for workspace in (other, third):
        assert holding(workspace.root, PASSWORD) == [], "a credential was written into a file"
        workspace.close()


def test_a_node_syncs_from_a_guarded_index_with_credentials_in_its_environment(
    lab: nodepipe.Workspace,
    private_index: PackageIndex,
    offline: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: CliRunner,
) -> None:
    wheels = sorted(toy_index(tmp_path / "wheels").glob("toypkg-*.whl"))
    lab.packages.publish(wheels, private_index.url, username=USER, password=PASSWORD)
    lab.pipelines.new("p")
    lab.nodes.new("p", "uses")
    added = cli("env", "index", "uses", private_index.simple_url, "--name", "vault", "--default")
    assert added.code == 0, added.stderr
    code = lab.nodes.path("uses") / "code"
    project, before = (code / "pyproject.toml").read_text(), snapshot(lab)

    refused = cli("env", "add", "uses", "toypkg==2.0")
    assert refused.code == 7
    assert "refused the credentials (HTTP 401 Unauthorized" in refused.stderr
    assert "UV_INDEX_<NAME>_USERNAME" in refused.stderr
    assert (code / "pyproject.toml").read_text() == project
    assert snapshot(lab) == before

    monkeypatch.setenv("UV_INDEX_VAULT_USERNAME", USER)
    monkeypatch.setenv("UV_INDEX_VAULT_PASSWORD", PASSWORD)
    synced = cli("env", "add", "uses", "toypkg==2.0", "--json")
    assert synced.code == 0, synced.stderr
    assert "toypkg" in json.dumps(synced.json())
    assert (code / ".venv" / "lib").is_dir()
    assert holding(lab.root, PASSWORD) == [], "a credential was written into a file"


@pytest.fixture
def keyring_holding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """A real keyring (keyrings.alt's file backend, in this test's folder) and its ``keyring``
    command on PATH, as uv asks it; returns a function storing the password for a service."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "keyring-data"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("UV_KEYRING_PROVIDER", raising=False)

    def store(service: str) -> None:
        command = ["keyring", "set", service, USER]
        subprocess.run(command, input=f"{PASSWORD}\n", text=True, check=True)

    return store


def test_pull_and_a_node_sync_take_the_password_from_the_keyring(
    lab: nodepipe.Workspace,
    private_index: PackageIndex,
    offline: None,
    keyring_holding: Callable[[str], None],
    tmp_path: Path,
    cli: CliRunner,
) -> None:
    """The index URL names the user (``http://alice@host/simple/``), the keyring holds the
    password: ``package pull`` by name and a node's ``env index`` sync get in, and the password
    is in no file of the workspace. Before the keyring holds it, the same pull is refused."""
    built = trained_model(lab).packages.build("model", alias="keyring-model", version="1.0")
    wheel = build_wheel(tmp_path, "keypkg", "2.0", "VERSION = '2.0'\n")  # this test's own
    lab.packages.publish([built.wheel, wheel], private_index.url, username=USER, password=PASSWORD)
    with_user = private_index.simple_url.replace("://", f"://{USER}@")
    other = nodepipe.init(tmp_path / "other")
    before = snapshot(other)
    pull = ("-w", str(other.root), "package", "pull", "keyring-model==1.0", "--index-url")

    refused = cli(*pull, with_user)
    assert refused.code == 7
    assert "refused the credentials (HTTP 403 Forbidden" in refused.stderr
    assert "the keyring" in refused.stderr
    assert snapshot(other) == before

    keyring_holding(private_index.url.removeprefix("http://").rstrip("/"))  # host:port
    pulled = cli(*pull, with_user, "--json")
    assert pulled.code == 0, pulled.stderr
    assert sorted(n["tag"] for n in pulled.json()["nodes"]) == ["predict", "train"]

    other.pipelines.new("p")
    other.nodes.new("p", "uses")
    added = cli("-w", str(other.root), "env", "index", "uses", with_user, "--name", "vault")
    assert added.code == 0, added.stderr
    synced = cli("-w", str(other.root), "env", "add", "uses", "keypkg==2.0", "--json")
    assert synced.code == 0, synced.stderr
    assert synced.json()["locked"]["keypkg"] == "2.0"
    assert holding(other.root, PASSWORD) == [], "a credential was written into a file"
    other.close()
