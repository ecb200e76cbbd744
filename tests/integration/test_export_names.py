"""Export refuses a name an import would refuse, before writing anything: a workspace made
before a naming rule existed may hold a node tagged ``.`` (it would be written to the bundle's
``nodes/`` folder itself), a group or pipeline named so. The refusal names the node and how to
rename it; once renamed as told, the export is whole and imports."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot


def _set(ws: nodepipe.Workspace, table: str, column: str, value: str, row_id: str) -> None:
    """What an older nodepipe let through, written as it wrote it: straight into the store."""
    with ws.context.store.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE id = ?", (value, row_id))


@pytest.mark.parametrize("tag", [".", "-x"])
def test_a_node_tag_an_import_refuses_is_not_exported(
    chain: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, tag: str
) -> None:
    clean = chain.nodes.find("clean").id
    _set(chain, "nodes", "tag", tag, clean)
    before = snapshot(chain)
    for command in (
        ("bundle", "export", "baseline", str(tmp_path / "bundle")),
        ("bundle", "export", "baseline", str(tmp_path / "bundle.zip")),
        ("package", "build", "baseline", "--destination", str(tmp_path / "dist")),
    ):
        refused = cli(*command)
        assert refused.code == 2, refused.stdout + refused.stderr
        words = " ".join(refused.stderr.split())
        assert f"invalid node tag {tag!r}" in words, words
        assert f"`nodepipe node rename {clean} NEW_TAG`" in words, "how to rename it"
        assert snapshot(chain) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab"], "nothing was written"

    assert cli("node", "rename", clean, "clean").code == 0  # as the hint says
    exported = cli("bundle", "export", "baseline", str(tmp_path / "bundle"))
    assert exported.code == 0, exported.stderr
    assert sorted(p.name for p in (tmp_path / "bundle" / "nodes").iterdir()) == [
        "clean", "load", "plot"
    ]  # fmt: skip
    imported = chain.bundles.import_(tmp_path / "bundle", name="again")
    assert sorted(item.node.tag for item in imported.view.nodes) == ["clean", "load", "plot"]


def test_a_group_or_pipeline_name_an_import_refuses_is_not_exported(
    chain: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    pipeline = chain.pipelines.get("baseline").id
    group = chain.groups.new("baseline", "prep", ["load", "clean"])
    _set(chain, "groups", "name", ".", group.id)
    refused = cli("bundle", "export", "baseline", str(tmp_path / "bundle"))
    assert refused.code == 2
    words = " ".join(refused.stderr.split())
    assert "invalid group name '.'" in words
    assert f"`nodepipe group rename {pipeline} . NEW_NAME`" in words
    _set(chain, "groups", "name", "prep", group.id)
    _set(chain, "pipelines", "tag", "..", pipeline)
    refused = cli("bundle", "export", pipeline, str(tmp_path / "bundle"))
    words = " ".join(refused.stderr.split())
    assert refused.code == 2 and "invalid pipeline tag '..'" in words
    assert f"`nodepipe pipeline rename {pipeline} NEW_TAG`" in words
    assert not (tmp_path / "bundle").exists()
