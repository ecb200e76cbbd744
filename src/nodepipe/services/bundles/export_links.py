"""Links in what an export copies: refused up front when the bundle could not carry them.

An export copies a node's ``code/`` (and, with data, its ``data/``) keeping links as links;
an import follows a link only when it leads inside the bundle (``bundles.tree``), and
``package build`` refuses a package whose files link outside it. So a link that leads outside
the node's own folder (an output written as a link to a file elsewhere, a script linked from
a shared checkout) or is written as an absolute path (it names this machine's folder, wherever
the bundle goes) would give a bundle no workspace can import. The export refuses it before
writing anything, naming the node, the link, where it leads and the way out; a link between
the node's own files (``data/latest.csv`` → ``v2.csv``) travels as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from nodepipe.domain.errors import InvalidInputError
from nodepipe.services.bundles.exporting import ExportPlan, left_out
from nodepipe.workspace.node_folder import NodeFolder, special_entries

Ignored = Callable[[str, list[str]], set[str]]


def check_links(plan: ExportPlan, with_data: bool, keys: Collection[str] | None = None) -> None:
    """InvalidInputError for the first link, in the code of a node ``plan`` writes (and its
    data, ``with_data``; the data of a kept include's nodes too), that would lead outside the
    node once it is in the bundle. ``keys``: only those nodes (a package of some nodes: the
    others are dropped from the export)."""
    for key, folder in sorted(plan.folders.items()):
        if keys is not None and key not in keys:
            continue
        _check(key, folder, "code", left_out, "")
        if with_data:
            _check(key, folder, "data", special_entries, ", or export without data")
    for name, folder in sorted(plan.included.items()) if with_data and keys is None else ():
        _check(name, folder, "data", special_entries, ", or export without data")


def _check(key: str, folder: NodeFolder, part: str, ignored: Ignored, way_out: str) -> None:
    top = folder.path / part
    node = folder.path.resolve()
    for link in _links(top, ignored):
        text = str(link.readlink())
        shown = f"{part}/{link.relative_to(top).as_posix()}"
        where = (link.parent / text).resolve()
        lexical = Path(os.path.normpath(link.parent / text))
        if not where.is_relative_to(node) or not lexical.is_relative_to(folder.path):
            problem = f"is a link to {where}, outside the node's folder"
        elif Path(text).is_absolute():
            problem = f"is a link to the absolute path {text}"
        else:
            continue
        raise InvalidInputError(
            f"node {key!r}: {shown} {problem}; a bundle carries the node's own files only, and "
            f"an import refuses a link leading out of it: put the file itself in place of the "
            f"link{way_out}"
        )


def _links(top: Path, ignored: Ignored) -> Iterator[Path]:
    """The links under ``top`` (links to folders are not walked into), what ``ignored``
    leaves out left out, in a stable order."""
    for folder, dirs, files in os.walk(top):
        skipped = ignored(folder, [*dirs, *files])
        dirs[:] = sorted(d for d in dirs if d not in skipped)
        for name in sorted({*dirs, *files} - skipped):
            path = Path(folder, name)
            if path.is_symlink():
                yield path
