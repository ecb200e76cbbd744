"""``pipeline.lock``: what each node of an exported bundle was made from, machine-written.

```toml
# written by nodepipe: what each node's outputs were made from
format = 1

[nodes.prep]
fingerprint = "…"   # the node's fingerprint digest when exported
lock = "…"          # the sha256 of its uv.lock
outputs = "…"       # the digest of its data/ (nodes that have outputs only)
```
Nodes are keyed by qualified name (``features.clean``). Sorted, LF, no timestamps: two exports
of the same state give the same bytes, and ``parse_lock(dump_lock(r)) == r``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tomlkit

from nodepipe.bundles.model import FORMAT_VERSION
from nodepipe.bundles.toml_reader import TomlReader
from nodepipe.domain.names import validate_name

LOCK_KEYS = ("fingerprint", "lock", "outputs")
_DIGEST = re.compile(r"^[A-Za-z0-9:_+/=.-]{1,200}$")
HEADER = "written by nodepipe: what each node's outputs were made from"


@dataclass(frozen=True, slots=True)
class LockRecord:
    """What ``pipeline.lock`` says of one node."""

    fingerprint: str
    lock_hash: str | None = None
    """The sha256 of the node's ``uv.lock``."""
    output_digest: str | None = None
    """The digest of the node's ``data/``; None when it had no outputs."""


def dump_lock(records: Mapping[str, LockRecord]) -> str:
    """The text of ``pipeline.lock`` for ``records`` (node name → record)."""
    document = tomlkit.document()
    document.add(tomlkit.comment(HEADER))
    document["format"] = FORMAT_VERSION
    nodes = tomlkit.table(is_super_table=True)
    for name in sorted(records):
        record = records[name]
        entry = tomlkit.table()
        entry["fingerprint"] = record.fingerprint
        if record.lock_hash is not None:
            entry["lock"] = record.lock_hash
        if record.output_digest is not None:
            entry["outputs"] = record.output_digest
        nodes[name] = entry
    document["nodes"] = nodes
    return tomlkit.dumps(document)


def parse_lock(text: str, origin: str) -> dict[str, LockRecord]:
    """The records of a ``pipeline.lock``; BundleError naming ``origin`` and the line if not."""
    reader = TomlReader(text, origin)
    document = reader.document
    version = document.get("format")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise reader.error(f"'format = {FORMAT_VERSION}' is missing or not a whole number")
    if version > FORMAT_VERSION:
        raise reader.error(
            f"lock format {version} is newer than this nodepipe reads (format {FORMAT_VERSION})",
            (),
            "format",
        )
    reader.only_keys(document, ("format", "nodes"), ())
    nodes = reader.table(document.get("nodes", {}), (), "nodes")
    return {name: _record(reader, name, nodes[name]) for name in sorted(nodes)}


def _record(reader: TomlReader, name: str, value: Any) -> LockRecord:
    for part in name.split("."):
        reader.checked(("nodes",), name, validate_name, part, "node name")
    address = ("nodes", name)
    entry = reader.table(value, ("nodes",), name)
    reader.only_keys(entry, LOCK_KEYS, address)
    if "fingerprint" not in entry:
        raise reader.error(f"[nodes.{name}] has no 'fingerprint'", ("nodes",), name)
    fields = {key: _digest(reader, entry.get(key), address, key) for key in LOCK_KEYS}
    return LockRecord(fields["fingerprint"] or "", fields["lock"], fields["outputs"])


def _digest(reader: TomlReader, value: Any, address: tuple[str, ...], key: str) -> str | None:
    if value is None:
        return None
    text = reader.string(value, address, key)
    if not _DIGEST.match(text):
        raise reader.error(f"{key!r} of [nodes.{address[-1]}] is not a digest", address, key)
    return text
