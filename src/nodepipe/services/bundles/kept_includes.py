"""Whether an export writes an include back as ``[includes.NS]`` or inlines its nodes.

An include is written back only when its bundle can still be read where it was found, its
content hash is the one recorded (the bundle did not change since the import or the last
update), and every one of its nodes in the workspace has exactly the bundle's code, lock and
parameters (nothing was edited here). Its source is then written relative to the export
directory (a local bundle), or as it was written (a package or a URL). Otherwise its nodes
are written as ordinary nodes: an export never loses an edit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from nodepipe.bundles.model import EdgeEntry, IncludeEntry, ResolvedPipeline
from nodepipe.bundles.paths import folder_name
from nodepipe.domain.bundles import PipelineInclude
from nodepipe.domain.errors import InvalidInputError, NodepipeError
from nodepipe.services.bundles.node_files import copy_node, own_code
from nodepipe.services.bundles.prefixing import as_included, input_edges
from nodepipe.services.bundles.reading import read_bundle
from nodepipe.workspace.node_folder import NodeFolder


def kept_source(
    include: PipelineInclude,
    folders: Mapping[str, NodeFolder],
    edges: frozenset[EdgeEntry],
    directory: Path,
    scratch: Path,
) -> str | None:
    """The source to write for ``include`` in an export to ``directory``, or None to inline.

    ``folders``: the include's nodes by qualified name; ``edges``: the edges into them, which
    must be the bundle's own and its inputs' (``include.inputs``, by tag), not one more or
    less (an edge connected or removed here is an edit too); ``scratch``: where to copy the
    bundle's nodes to compare them (a folder on the workspace's filesystem).
    """
    local = include.loader == "file"
    source: str | Path = Path(include.location) if local else include.source
    try:
        bundle = read_bundle(source, Path(include.location) if local else directory)
    except (NodepipeError, OSError):
        return None
    if bundle.content_hash != include.content_hash:
        return None
    entry = IncludeEntry(include.namespace, include.source, include.inputs, include.params)
    resolved, _ = as_included(bundle.resolved, entry, bundle.content_hash)
    nodes = {node.name: node for node in resolved.nodes}
    if set(nodes) != set(folders) or edges != _bundle_edges(bundle.resolved, resolved, entry):
        return None
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="export-compare-", dir=scratch))
    try:
        for name, folder in folders.items():
            copied = NodeFolder(work / folder_name(name))
            copy_node(nodes[name], copied, with_data=False)
            if own_code(copied) != own_code(folder):
                return None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not local:
        return include.source
    return Path(os.path.relpath(include.location, directory)).as_posix()


def _bundle_edges(
    bundle: ResolvedPipeline, included: ResolvedPipeline, entry: IncludeEntry
) -> frozenset[EdgeEntry] | None:
    """The edges the include makes: the bundle's own (``included``: qualified) and those
    feeding its inputs from ``entry.inputs``; None when its inputs are no longer those fed."""
    try:
        feeding = input_edges(bundle, entry.namespace, entry.inputs, can_feed=False)
    except InvalidInputError:
        return None
    return frozenset((*included.edges, *feeding))
