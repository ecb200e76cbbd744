"""A snapshot cloned from a URL holding credentials (audit finding F21): the token is written
nowhere nodepipe writes, shown nowhere, exported nowhere; git's credential helper or netrc give
it when the snapshot is updated. The https URL is mapped to a local repository by git's own
``insteadOf`` in a private global git config, so no network is needed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from integration.test_external_code import git_checkout

TOKEN = "ghp_SECRETTOKEN123"
URL = f"https://snapuser:{TOKEN}@example.invalid/org/snaptool.git"
CLEAN_URL = "https://example.invalid/org/snaptool.git"
NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))


def nodepipe_cli(ws: nodepipe.Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    command = [NODEPIPE, "-w", str(ws.root), *args]
    return subprocess.run(command, capture_output=True, text=True, env=os.environ, check=False)


def holding_token(folder: Path) -> list[str]:
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and TOKEN.encode() in path.read_bytes()
    )


def test_a_snapshot_url_token_is_never_recorded_shown_or_exported(
    chain: nodepipe.Workspace, offline_uv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = git_checkout(tmp_path / "src" / "snaptool", "snaptool")
    config = tmp_path / "gitconfig"
    config.write_text(f'[url "{upstream}"]\n\tinsteadOf = {URL}\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    added = nodepipe_cli(chain, "env", "add", "clean", "--snapshot", URL)
    assert added.returncode == 0, added.stdout + added.stderr
    code = chain.nodes.path("clean") / "code"
    assert (code / "snapshots" / "snaptool" / "snaptool" / "__init__.py").is_file()
    pyproject = code / "pyproject.toml"
    assert f'snaptool = "{CLEAN_URL}"' in pyproject.read_text()
    assert holding_token(code) == []  # neither pyproject.toml nor the clone's .git/config

    # A pyproject.toml written before (or by hand) still holding the token.
    pyproject.write_text(pyproject.read_text().replace(CLEAN_URL, URL))
    shown = nodepipe_cli(chain, "env", "show", "clean", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["snapshots"] == {"snaptool": CLEAN_URL}
    text = nodepipe_cli(chain, "env", "show", "clean")
    assert text.returncode == 0 and TOKEN not in text.stdout + text.stderr, text.stdout

    bundle = tmp_path / "bundle"
    exported = nodepipe_cli(chain, "bundle", "export", "baseline", str(bundle))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert holding_token(bundle) == []
    assert not list(bundle.rglob(".git"))  # no clone's .git/config, no history
    node_code = next(p for p in bundle.glob("nodes/*/code") if (p / "snapshots").is_dir())
    assert f'snaptool = "{CLEAN_URL}"' in (node_code / "pyproject.toml").read_text()
    assert TOKEN in pyproject.read_text()  # the node's own file is the user's to fix

    dist = tmp_path / "dist"
    built = nodepipe_cli(chain, "package", "build", "baseline", "--destination", str(dist))
    assert built.returncode == 0, built.stdout + built.stderr
    archives = sorted(dist.iterdir())
    assert archives
    for archive in archives:  # the wheel and the sdist, as index users would download them
        unpacked = tmp_path / "unpacked" / archive.name
        shutil.unpack_archive(archive, unpacked, "zip" if archive.suffix == ".whl" else None)
        assert holding_token(unpacked) == [], archive.name
        assert not list(unpacked.rglob(".git"))
