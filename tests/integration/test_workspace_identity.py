"""A store belongs to one workspace folder: two real folders, one store.

Folder ``b`` pointed at the store of workspace ``a`` (by ``$NODEPIPE_DB_URL`` or its
``nodepipe.toml``) is refused, naming both folders, and nothing changes in ``a``'s store (before,
``b`` listed ``a``'s nodes and ``doctor --repair`` in ``b`` deleted them as rows without a
folder). What legitimately changes the pairing keeps working: moving a folder, copying it with
its own store, a store of an older nodepipe (adopted on first open, also by two processes at
once), ``doctor --rebuild``, ``backup restore``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import nodepipe
from integration.conftest import CliRunner
from nodepipe.store.store import Store
from support.cli_process import nodepipe_process

WORKSPACE_ERROR = 6
NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))


def workspace_with_a_node(root: Path, store_url: str | None = None) -> nodepipe.Workspace:
    ws = nodepipe.init(root, store_url=store_url)
    ws.pipelines.new("base")
    ws.nodes.new("base", tag="load")
    return ws


def sqlite_url(root: Path) -> str:
    return f"sqlite:///{root / '.nodepipe' / 'store.sqlite'}"


def stored_identity(root: Path) -> tuple[str, str] | None:
    with sqlite3.connect(root / ".nodepipe" / "store.sqlite") as connection:
        row = connection.execute("SELECT workspace_id, root FROM workspace_identity").fetchone()
    return (row[0], row[1]) if row else None


def folder_identity(root: Path) -> str:
    return (root / ".nodepipe" / "workspace-id").read_text().strip()


def forget_identity(root: Path) -> None:
    """What a workspace made by an older nodepipe holds: no identity on either side."""
    with sqlite3.connect(root / ".nodepipe" / "store.sqlite") as connection:
        connection.execute("DELETE FROM workspace_identity")
    (root / ".nodepipe" / "workspace-id").unlink()


def node_tags(cli: CliRunner, root: Path) -> list[str]:
    listed = cli("-w", str(root), "node", "list", "--json")
    assert listed.code == 0, listed.stderr
    return sorted(node["tag"] for node in listed.json())


def test_a_folder_pointed_at_another_workspaces_store_is_refused_and_changes_nothing(
    tmp_path: Path,
    store_url: str | None,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    workspace_with_a_node(a, store_url).close()
    nodepipe.init(b).close()
    backup_of_b = cli("-w", str(b), "backup", "--json").json()["path"]
    monkeypatch.setenv("NODEPIPE_DB_URL", store_url or sqlite_url(a))
    for command in (
        ("node", "list", "--json"),
        ("backup", "restore", backup_of_b),  # would replace a's store
    ):
        refused = cli("-w", str(b), *command)
        assert refused.code == WORKSPACE_ERROR, refused.stdout
        assert f"belongs to the workspace in {a}, not in {b}" in refused.stderr
        assert "nothing was changed" in refused.stderr
        assert f"nodepipe --workspace {a} status" in refused.stderr  # the fix, as a command
    with pytest.raises(nodepipe.WorkspaceError, match="belongs to the workspace in"):
        nodepipe.open(b)
    assert node_tags(cli, a) == ["load"]  # $NODEPIPE_DB_URL names a's own store: a opens
    monkeypatch.delenv("NODEPIPE_DB_URL")
    assert node_tags(cli, a) == ["load"]
    assert node_tags(cli, b) == []


def store_contents(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables a doctor repair could change (nodes, memberships, pipelines,
    projects, the identity), sorted: equal before and after means nothing changed."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table: sorted(
                    (tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {table}"))),
                    key=repr,
                )
                for table in ("projects", "pipelines", "nodes", "memberships", "workspace_identity")
            }
    finally:
        engine.dispose()


def test_doctor_reports_a_store_of_another_workspace_as_a_finding_and_repairs_nothing(
    tmp_path: Path,
    store_url: str | None,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    workspace_with_a_node(a, store_url).close()
    workspace_with_a_node(b).close()  # b's folder: a node folder a's store has no row for
    a_url, b_url = store_url or sqlite_url(a), sqlite_url(b)
    before = store_contents(a_url), store_contents(b_url)
    monkeypatch.setenv("NODEPIPE_DB_URL", a_url)
    mismatch = f"belongs to the workspace in {a}, not in {b}"
    fix = f"nodepipe --workspace {a} status"

    report = cli("-w", str(b), "doctor", "--json")
    assert report.code == WORKSPACE_ERROR, report.stderr
    found = report.json()
    summary = {line["category"]: line["count"] for line in found["categories"]}
    assert summary["store-of-another-workspace"] == 1
    assert sum(summary.values()) == 1  # nothing else was looked at in a store not b's
    [finding] = found["findings"]
    assert finding["subject"] == str(b)
    assert mismatch in finding["what"] and fix in finding["what"]
    assert finding["action"] is None

    human = cli("-w", str(b), "doctor")
    assert human.code == WORKSPACE_ERROR, human.stderr
    said = " ".join(human.stdout.split())  # the table and long lines wrap
    assert mismatch in said and fix in said

    for repair in (("doctor", "--repair", "--json"), ("doctor", "--repair")):
        repaired = cli("-w", str(b), *repair)
        assert repaired.code == WORKSPACE_ERROR, repaired.stderr
        if "--json" in repair:
            assert repaired.json()["repaired"] == []
        assert (store_contents(a_url), store_contents(b_url)) == before
    refused = cli("-w", str(b), "node", "list")  # other commands go on refusing
    assert refused.code == WORKSPACE_ERROR
    assert mismatch in refused.stderr
    monkeypatch.delenv("NODEPIPE_DB_URL")
    assert node_tags(cli, a) == ["load"]
    assert node_tags(cli, b) == ["load"]


def test_a_moved_workspace_opens_and_its_store_records_the_new_folder(
    tmp_path: Path, cli: CliRunner
) -> None:
    workspace_with_a_node(tmp_path / "a").close()
    workspace_id = folder_identity(tmp_path / "a")
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "a", moved)
    assert node_tags(cli, moved) == ["load"]
    assert stored_identity(moved) == (workspace_id, str(moved))
    assert folder_identity(moved) == workspace_id


def test_a_copy_with_its_own_store_is_a_workspace_of_its_own(
    tmp_path: Path, cli: CliRunner
) -> None:
    a, copy = tmp_path / "a", tmp_path / "copy"
    workspace_with_a_node(a).close()
    shutil.copytree(a, copy, symlinks=True)
    assert node_tags(cli, copy) == ["load"]
    assert node_tags(cli, a) == ["load"]
    assert stored_identity(copy) == (folder_identity(a), str(copy))
    assert stored_identity(a) == (folder_identity(a), str(a))


def test_a_copy_on_the_original_store_is_refused_while_the_original_is_there(
    tmp_path: Path, cli: CliRunner
) -> None:
    a, copy = tmp_path / "a", tmp_path / "copy"
    workspace_with_a_node(a).close()
    shutil.copytree(a, copy, symlinks=True)
    config = copy / "nodepipe.toml"
    config.write_text(
        config.read_text().replace("sqlite:///.nodepipe/", f"sqlite:///{a}/.nodepipe/")
    )
    refused = cli("-w", str(copy), "node", "list")
    assert refused.code == WORKSPACE_ERROR
    assert f"is in use by the workspace in {a}, not in {copy}" in refused.stderr
    assert node_tags(cli, a) == ["load"]
    shutil.rmtree(a / "nodes")  # the original gone (its store kept where the copy points)
    (a / "nodepipe.toml").unlink()
    (a / ".nodepipe" / "workspace-id").unlink()
    assert node_tags(cli, copy) == ["load"]  # now the copy is the workspace, moved


def test_an_older_workspace_adopts_one_identity_when_two_processes_open_it_at_once(
    tmp_path: Path, store_url: str | None
) -> None:
    a = tmp_path / "a"
    workspace_with_a_node(a, store_url).close()
    url = store_url or sqlite_url(a)
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # what a workspace of an older nodepipe holds
        connection.execute(sa.text("DELETE FROM workspace_identity"))
    engine.dispose()
    (a / ".nodepipe" / "workspace-id").unlink()
    # each is held after finding no identity and before claiming one: all of them claim
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env["NODEPIPE_PAUSE_AT"] = "identity.claiming:2"
    processes = [
        subprocess.Popen(
            [NODEPIPE, "-w", str(a), "node", "list"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert "load" in out
    store = Store.open(url)
    try:
        assert store.identity() == (folder_identity(a), str(a))
    finally:
        store.close()


def test_an_older_folder_pointed_at_an_older_store_of_another_workspace_is_refused(
    tmp_path: Path,
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    workspace_with_a_node(a).close()
    nodepipe.init(b).close()
    forget_identity(a)
    forget_identity(b)
    config = b / "nodepipe.toml"
    config.write_text(
        config.read_text().replace("sqlite:///.nodepipe/", f"sqlite:///{a}/.nodepipe/")
    )
    refused = nodepipe_process(b, "node", "list")
    assert refused.returncode == WORKSPACE_ERROR
    assert "holds 1 nodes and none of them has a folder in" in refused.stderr
    assert "`nodepipe --workspace OWNER status`" in refused.stderr  # its folder is not known
    assert stored_identity(a) is None  # nothing changed: a adopts its own store later
    assert not (b / ".nodepipe" / "workspace-id").exists()
    assert nodepipe_process(a, "node", "list").returncode == 0
    assert stored_identity(a) == (folder_identity(a), str(a))


def test_a_rebuilt_or_restored_store_belongs_to_the_same_folder(
    tmp_path: Path, cli: CliRunner
) -> None:
    a = tmp_path / "a"
    workspace_with_a_node(a).close()
    workspace_id = folder_identity(a)
    backup = cli("-w", str(a), "backup", "--json")
    assert backup.code == 0, backup.stderr
    for file in (a / ".nodepipe").glob("store.sqlite*"):
        file.unlink()
    rebuilt = cli("-w", str(a), "doctor", "--rebuild")
    assert rebuilt.code == 0, rebuilt.stderr
    assert stored_identity(a) == (workspace_id, str(a))
    assert len(node_tags(cli, a)) == 1  # adopted (its tag is its id: it never ran)
    restored = cli("-w", str(a), "backup", "restore", backup.json()["path"])
    assert restored.code == 0, restored.stderr
    assert node_tags(cli, a) == ["load"]
    assert stored_identity(a) == (workspace_id, str(a))


@pytest.mark.postgres
def test_one_folder_under_two_names_on_a_shared_store_is_one_workspace(
    tmp_path: Path, fresh_postgres_url: str, cli: CliRunner
) -> None:
    """A folder reached through a bind mount is not a copy: it opens (on a PostgreSQL store,
    which both names resolve to, a copy would be refused)."""
    a, alias = tmp_path / "a", tmp_path / "alias"
    workspace_with_a_node(a, fresh_postgres_url).close()
    alias.mkdir()
    subprocess.run(["mount", "--bind", str(a), str(alias)], check=True)
    try:
        assert node_tags(cli, alias) == ["load"]
        assert node_tags(cli, a) == ["load"]
    finally:
        subprocess.run(["umount", "--lazy", str(alias)], check=False)


def test_a_new_workspace_in_the_folder_of_a_moved_one_cannot_take_its_store(
    tmp_path: Path, cli: CliRunner
) -> None:
    a, moved = tmp_path / "a", tmp_path / "moved"
    workspace_with_a_node(a).close()
    workspace_id = folder_identity(a)
    shutil.move(a, moved)
    nodepipe.init(a).close()  # a new workspace where the moved one was
    config = a / "nodepipe.toml"
    config.write_text(
        config.read_text().replace("sqlite:///.nodepipe/", f"sqlite:///{moved}/.nodepipe/")
    )
    refused = cli("-w", str(a), "node", "list")
    assert refused.code == WORKSPACE_ERROR
    assert f"belongs to another workspace, last opened in this folder ({a})" in refused.stderr
    assert stored_identity(moved) == (workspace_id, str(a))  # nothing changed
    assert node_tags(cli, moved) == ["load"]  # the moved one opens, and is recorded
    assert stored_identity(moved) == (workspace_id, str(moved))


def test_a_damaged_identity_file_is_written_again_from_the_store(
    tmp_path: Path, cli: CliRunner
) -> None:
    a = tmp_path / "a"
    workspace_with_a_node(a).close()
    workspace_id = folder_identity(a)
    (a / ".nodepipe" / "workspace-id").write_bytes(b"\x00\x00\x00\x00garbage")
    assert node_tags(cli, a) == ["load"]
    assert folder_identity(a) == workspace_id
