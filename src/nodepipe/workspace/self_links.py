"""Symbolic links in code that lead back into what a run writes: refused, never hashed.

A node's ``code/`` (and a bundle's lib it links) may hold links, and the walk of
``workspace.code_trees`` follows them (a link in external code is recorded by its target,
never followed, so it cannot bring anything in). A link that leads to the node's own folder
or one above it, into the node's ``data/``, ``logs/`` or ``reports/``, or into the
workspace's ``.nodepipe/`` would put what every run writes (logs, outputs, the hash cache,
the store) into the node's code: the node would be stale again after every run, forever.
``check_no_self_links`` refuses such a link, naming it, before anything is hashed: status
shows it as the node's error and a run fails with it, so the user removes the link (or points
it at code only).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from nodepipe.domain.errors import InvalidInputError
from nodepipe.workspace.layout import STATE_DIR_NAME
from nodepipe.workspace.node_folder import NodeFolder


def check_no_self_links(folder: NodeFolder, walked: Iterable[tuple[str, Path, set[str]]]) -> None:
    """InvalidInputError naming the first link of ``walked`` (label, folder walked, its linked
    entries) that leads where the runs of the node in ``folder`` write."""
    for label, root, linked in walked:
        for relative in sorted(linked):
            real = Path(os.path.realpath(root / relative))
            where = written_by_runs(real, folder.code)
            if where:
                raise InvalidInputError(
                    f"{label}/{relative} is a link to {real}, {where}: what each run writes "
                    "would count as the node's code and it would never be up to date; remove "
                    "the link, or point it at a folder of code only"
                )


def check_code_paths(code: Path, paths: Iterable[tuple[str, Path]]) -> None:
    """InvalidInputError naming the first code path (as written, its folder) of the node whose
    code folder is ``code`` that holds or lies in what its runs write: a hand-edited
    ``code-paths`` gets the refusal ``env code-path add`` gives."""
    for written, path in paths:
        where = written_by_runs(Path(os.path.realpath(path)), code)
        if where:
            raise InvalidInputError(
                f"code path {written} is {where}: what each run writes would count as the "
                "node's code and it would never be up to date; take it off "
                "([tool.nodepipe] code-paths), or name a folder of code only"
            )


def written_by_runs(real: Path, code_dir: Path) -> str:
    """What the folder ``real`` (symbolic links resolved) is, when the runs of the node whose
    code folder is ``code_dir`` write there, or the runs of another node of the workspace (a
    folder of ``nodes/`` other than a ``code/``); empty when it is code. The workspace's
    ``.nodepipe/`` lies beside ``nodes/``, so a folder holding it holds the node's too."""
    code = Path(os.path.realpath(code_dir))
    node = code.parent
    state = node.parent.parent / STATE_DIR_NAME  # the workspace's, beside nodes/
    if code.is_relative_to(real) and real != code:  # code/ itself holds none of what runs write
        return "a folder that holds the node's own folder"
    if real.is_relative_to(node) and not real.is_relative_to(code):
        return "inside the node's own folder (its outputs, logs and reports)"
    if real.is_relative_to(state):
        return "inside the workspace's .nodepipe/ (its store and caches)"
    nodes = node.parent  # the workspace's nodes/, when .nodepipe/ stands beside it
    if real.is_relative_to(nodes) and state.is_dir():
        inside = real.relative_to(nodes).parts
        if len(inside) < 2 or inside[1] != "code":
            return "another node's folder or inside it (its outputs, logs and reports)"
    return ""
