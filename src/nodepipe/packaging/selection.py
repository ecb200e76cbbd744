"""``package build --node``: a package of some nodes of a pipeline.

The whole pipeline is exported first (the one export code path), then the bundle is cut down
in place to the chosen nodes: their folders, the edges between them, their ``pipeline.lock``
records. A chosen node whose parent is left out gets that parent as an input of the bundle
(``[inputs]``, named by the slot the node reads it on, so its code finds it where it did),
so whoever includes the package can feed it, beside the inputs the pipeline declares that
chosen nodes take; two left-out parents read on the same slot by different chosen nodes
cannot be one input, and are refused, and so is a left-out parent read on the slot of an
input the pipeline declares. A chosen node that installs a
library node left out (``env add NODE --from-node LIB``) is refused too: the package would
not carry the library (``local_sources``, the rule an import applies). An include cannot be
cut (its nodes come from another bundle): choosing nodes of a pipeline with includes is
refused.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from nodepipe.bundles.lockfile import dump_lock, parse_lock
from nodepipe.bundles.model import BUNDLE_FILE, LOCK_FILE, frozen_mapping
from nodepipe.bundles.schema import dump_definition, parse_definition
from nodepipe.packaging.errors import PackageError
from nodepipe.workspace import local_sources


def keep_nodes(bundle: Path, keys: Sequence[str]) -> None:
    """Cut the exported bundle in ``bundle`` down to the nodes ``keys`` (their tags)."""
    definition = parse_definition((bundle / BUNDLE_FILE).read_text(encoding="utf-8"), "export")
    known = {node.key for node in definition.nodes}
    unknown = sorted(set(keys) - known)
    if unknown:
        raise PackageError(
            f"no node {', '.join(unknown)} in the pipeline to package "
            f"(it has: {', '.join(sorted(known))})"
        )
    if definition.includes:
        names = ", ".join(include.namespace for include in definition.includes)
        raise PackageError(
            f"a package of some nodes cannot be cut from a pipeline that includes other bundles "
            f"({names}): build the whole pipeline"
        )
    chosen = set(keys)
    declared = {name: set(taking) & chosen for name, taking in definition.inputs.items()}
    inputs: dict[str, set[str]] = {name: set(taking) for name, taking in declared.items() if taking}
    parents: dict[str, set[str]] = {}
    for edge in definition.edges:
        if edge.child in chosen and edge.parent not in chosen:
            inputs.setdefault(edge.slot, set()).add(edge.child)
            parents.setdefault(edge.slot, set()).add(edge.parent)
    mixed = sorted(slot for slot, names in parents.items() if len(names) > 1)
    if mixed:
        names = ", ".join(sorted(parents[mixed[0]]))
        raise PackageError(
            f"the nodes chosen for the package read different nodes left out ({names}) on the same "
            f"slot {mixed[0]!r}: choose those nodes too"
        )
    merged = sorted(set(parents) & {name for name, taking in declared.items() if taking})
    if merged:
        slot = merged[0]
        readers = sorted(
            e.child
            for e in definition.edges
            if e.child in chosen and e.parent not in chosen and e.slot == slot
        )
        raise PackageError(
            f"the package's input {slot!r} would be both the pipeline's declared input {slot!r} "
            f"(taken by {', '.join(sorted(declared[slot]))}) and node "
            f"{', '.join(sorted(parents[slot]))}, left out, which {', '.join(readers)} "
            f"read{'s' if len(readers) == 1 else ''} on slot {slot!r}: two different data "
            "cannot be one input; choose that node too"
        )
    carried = [bundle / node.path / "code" for node in definition.nodes if node.key in chosen]
    for node in definition.nodes:
        if node.key not in chosen:
            continue
        foreign = local_sources.outside(bundle / node.path / "code", *carried)
        if foreign:
            raise PackageError(
                f"node {node.key!r} chosen for the package installs from a node left out "
                f"({', '.join(foreign)}): choose that node too"
            )
    for node in definition.nodes:
        if node.key not in chosen:
            shutil.rmtree(bundle / node.path)
    kept = replace(
        definition,
        nodes=tuple(n for n in definition.nodes if n.key in chosen),
        edges=tuple(e for e in definition.edges if {e.parent, e.child} <= chosen),
        inputs=frozen_mapping({k: tuple(sorted(v)) for k, v in inputs.items()}),
    )
    (bundle / BUNDLE_FILE).write_text(dump_definition(kept), encoding="utf-8")
    lock = bundle / LOCK_FILE
    if lock.is_file():
        records = parse_lock(lock.read_text(encoding="utf-8"), "export")
        kept_records = {k: r for k, r in records.items() if k in chosen}
        lock.write_text(dump_lock(kept_records), encoding="utf-8")
