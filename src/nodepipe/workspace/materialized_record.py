"""Which nodes a code-first ``materialize`` made: ``<node>/.materialized``, beside ``code/``.

A materialise rewrites the code, parameters and packages of the nodes of its definition, found
by tag in the pipeline; it may do so only to nodes it made (or was told to take over), never
to a node someone built by hand that happens to have the same tag. The record names the
pipeline the node was materialised into and the node itself (by id): a copy of the folder
(``node duplicate`` copies ``code/`` only; a folder copied by hand keeps the file) names
another node, so it is not taken for one the definition made. It is outside ``code/``, so it
is not in the node's fingerprint nor in its exports.

The record also holds a digest of the files a materialise last wrote (``files``): a node whose
files no longer match it was edited since (by hand, or by another call), and a materialise
that rewrites them keeps those edits first.
"""

from __future__ import annotations

import json
from pathlib import Path

from nodepipe.workspace.durable import write_atomic

MATERIALIZED = ".materialized"
"""Beside a node's ``code/``: the pipeline a materialise made (or took over) the node for."""


def record_materialized(
    node_dir: Path, node_id: str, pipeline_id: str, files: str | None = None
) -> None:
    """Record that a materialise into ``pipeline_id`` made the node, and the digest of the
    ``files`` it left (not flushed: the caller flushes many at once)."""
    record = {"node": node_id, "pipeline": pipeline_id}
    if files is not None:
        record["files"] = files
    text = json.dumps(record, sort_keys=True) + "\n"
    write_atomic(node_dir / MATERIALIZED, text.encode(), durable=False)


def materialized_into(node_dir: Path, node_id: str) -> str | None:
    """The pipeline a materialise made the node ``node_id`` (whose folder is ``node_dir``)
    for; None when none did (no record, a record of another node, one that cannot be read)."""
    return _recorded(node_dir, node_id, "pipeline")


def materialized_files(node_dir: Path, node_id: str) -> str | None:
    """The digest of the files the last materialise left in the node; None when unknown."""
    return _recorded(node_dir, node_id, "files")


def _recorded(node_dir: Path, node_id: str, key: str) -> str | None:
    try:
        found = json.loads((node_dir / MATERIALIZED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("node") != node_id:
        return None
    value = found.get(key)
    return value if isinstance(value, str) else None


def forget_materialized(node_dir: Path) -> None:
    """Remove the record (undoing a take-over a materialise did not finish)."""
    (node_dir / MATERIALIZED).unlink(missing_ok=True)
