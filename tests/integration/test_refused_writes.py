"""What a user reads when the system refuses nodepipe a write: the file or folder that refused.

The tests run as root, which writes anywhere; each command here runs without root's power over
file permissions (``setpriv`` drops ``CAP_DAC_OVERRIDE`` and ``CAP_DAC_READ_SEARCH`` from the
process it starts), so a 0400 file or a 0555 folder refuses it as it would refuse any user. The
first test proves that it does: without it, the others could pass by testing nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from nodepipe.cli.fork_client import SWITCH_ENV

CLI = str(Path(sys.executable).parent / "nodepipe")
AS_A_USER = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def as_a_user(*args: str) -> subprocess.CompletedProcess[str]:
    """``args`` run as root without its power over permissions (as any user when not root);
    never through a fork server (started with full rights)."""
    before = AS_A_USER if os.geteuid() == 0 else []
    return subprocess.run(
        [*before, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, SWITCH_ENV: "0"},
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace (closed) with pipeline ``p`` of one node ``a``."""
    with nodepipe.init(tmp_path / "lab") as ws:
        ws.pipelines.new("p")
        ws.nodes.new("p", "a")
        return ws.root


def test_a_read_only_file_refuses_these_commands(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.write_text("x")
    locked.chmod(0o400)
    written = as_a_user("/bin/sh", "-c", f"echo y > {locked}")
    assert written.returncode != 0 and "Permission denied" in written.stderr
    assert locked.read_text() == "x"


def test_a_nodes_folder_that_refuses_a_new_node_is_named(root: Path) -> None:
    """``node new`` in a workspace whose ``nodes/`` may not be written named only the scratch
    folder it had built the node in (``.nodepipe/staging/...``), not where it could not go."""
    nodes = root / "nodes"
    nodes.chmod(0o555)
    try:
        refused = as_a_user(CLI, "-w", str(root), "node", "new", "p", "--tag", "b")
    finally:
        nodes.chmod(0o755)
    assert refused.returncode != 0
    assert "permission denied" in refused.stderr and f"→ {nodes}/" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_store_left_read_only_beside_it_is_named(root: Path) -> None:
    """A store made read-only (0400) is read all the same, and SQLite makes its shared memory
    file (``store.sqlite-shm``) with the store's mode; made writable again, the store still
    refused every change, the message naming only the store itself, which was fine."""
    store = root / ".nodepipe" / "store.sqlite"
    store.chmod(0o400)
    assert as_a_user(CLI, "-w", str(root), "status", "p").returncode == 0
    store.chmod(0o600)
    shm = store.with_name("store.sqlite-shm")
    assert shm.exists() and not shm.stat().st_mode & 0o200, "SQLite made it read-only"
    refused = as_a_user(CLI, "-w", str(root), "node", "new", "p", "--tag", "b")
    assert refused.returncode != 0
    assert f"this user may not write {shm}" in refused.stderr, refused.stderr
    assert f"{store}," not in refused.stderr and f"write {store};" not in refused.stderr
    shm.chmod(0o600)  # as the message says: then the command works
    assert as_a_user(CLI, "-w", str(root), "node", "new", "p", "--tag", "b").returncode == 0


def test_outputs_that_may_not_be_replaced_are_kept_and_the_folder_named(root: Path) -> None:
    """A node whose ``data/`` was made read-only (0555) re-runs, and its new outputs cannot
    take the old ones' place (a folder is moved only by a user who may write in it): the run
    said only ``[Errno 13] Permission denied: '…/data' -> '…/.staging/….previous'``. Now it
    names the folders and the fix; the previous outputs stay whole."""
    first = as_a_user(CLI, "-w", str(root), "run", "p")
    assert first.returncode == 0, first.stderr
    folder = Path(as_a_user(CLI, "-w", str(root), "node", "path", "a").stdout.strip())
    data = folder / "data"
    kept = {p.name: p.read_bytes() for p in data.iterdir()}
    assert kept
    data.chmod(0o555)
    try:
        refused = as_a_user(CLI, "-w", str(root), "run", "p", "--force")
    finally:
        data.chmod(0o755)
    said = refused.stdout + refused.stderr
    assert refused.returncode == 8, said
    assert f"`chmod u+w {folder} {data}`" in said and "previous outputs are kept" in said
    assert "Errno" not in said and "Traceback" not in said
    assert {p.name: p.read_bytes() for p in data.iterdir()} == kept
    assert not [p for p in (folder / ".staging").iterdir() if not p.name.startswith(".")]
    again = as_a_user(CLI, "-w", str(root), "run", "p", "--force")
    assert again.returncode == 0, again.stdout + again.stderr
