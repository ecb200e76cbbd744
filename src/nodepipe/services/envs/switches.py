"""Switching a node's package from one kind of source to another, and dropping a snapshot.

``env add`` of a package the node already installs another way (``--snapshot`` after
``--path``, ``--shared`` after ``--snapshot``, a PyPI pin after a git URL…) replaces it: uv
alone would keep the old source (a snapshot is a member of the node's uv workspace, which uv
always prefers; a pin keeps a path or git source), so the old kind is taken out first and the
package is added as if it was never there. The same kind is left to uv (another version,
revision or folder).

A snapshot a switch (or ``env remove`` of its package) leaves is taken out of the node: its
workspace member and its record, and its folder is moved, with one rename, out of ``code/`` to
``<node>/undone-edits/snapshot-NAME.<8 hex>/`` (``undone_place``), where it is no code, not
fingerprinted, and never removed by nodepipe: whatever it held (edits, commits, stashes,
branches, ignored files) is still there. The move is part of the caller's edit: a failure or a
kill at any step leaves the snapshot in place with the old pyproject.toml and lock, or moved
out with the new ones. A snapshot other nodes install (from this library node, or as a
``--shared``/``--path`` folder inside it) is not moved: their builds would break; that switch
is refused, naming them, before anything changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nodepipe.domain.errors import ConflictError, InvalidInputError
from nodepipe.domain.model import Node
from nodepipe.domain.requirements import requirement_name
from nodepipe.domain.staleness import SNAPSHOTS_DIR
from nodepipe.envs.edits import UNDONE_EDITS, undone_edits_folder
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir
from nodepipe.workspace.external_code import (
    library_nodes,
    local_projects,
    set_library_nodes,
)
from nodepipe.workspace.node_project import forget_requirement
from nodepipe.workspace.snapshots import (
    forget_snapshot,
    recorded_snapshots,
    snapshot_path,
)
from nodepipe.workspace.source_kinds import SourceKind, installed_from


@dataclass(frozen=True, slots=True)
class PackageSwitches:
    """The switches of node ``node``'s packages, whose ``code/`` is ``code``."""

    context: WorkspaceContext
    node: Node
    code: Path

    places: dict[str, Path] = field(default_factory=dict)
    """Snapshot name -> where dropping it moves its folder (chosen by ``kept_places``)."""
    moved_out: dict[str, Path] = field(default_factory=dict)
    """Snapshot name -> where this edit moved its folder (for the command to say)."""

    def kept_places(self, packages: Iterable[str] | None = None) -> list[tuple[Path, Path]]:
        """(folder, place) of each snapshot an edit may drop: the snapshots holding
        ``packages`` (None: every snapshot of the node, for an add that learns its package
        only once it has it); ``place`` is in the node's ``undone-edits/``. The edit journal
        moves a dropped folder back if the edit is undone, and leaves it there once done."""
        if packages is None:
            pyproject = self.code / "pyproject.toml"
            folder = self.code / SNAPSHOTS_DIR
            names = set(recorded_snapshots(pyproject)) | {
                p.name for p in (folder.iterdir() if folder.is_dir() else ()) if p.is_dir()
            }
        else:
            found = (installed_from(self.code, package) for package in packages)
            names = {item.snapshot for item in found if item is not None and item.snapshot}
        pairs = []
        for name in sorted(n for n in names if not n.startswith(".")):
            try:
                target = snapshot_path(self.code, name)
            except InvalidInputError:
                continue  # a name no snapshot can have: never dropped either
            if target.is_dir():
                kept = undone_edits_folder(self.code)
                if kept is None:  # a folder in code/ would be code: fingerprinted, offered
                    raise ConflictError(
                        f"snapshot {name} would be moved out of the node's code into "
                        f"{self.code.parent / UNDONE_EDITS}, but something else has that "
                        "name (a file or a link); nothing was changed: move it away, then "
                        "run this again"
                    )
                token = os.urandom(4).hex()  # not secrets: it imports random, not for a run
                self.places[name] = kept / f"snapshot-{name}.{token}"
                pairs.append((target, self.places[name]))
        return pairs

    def make_way(self, package: str, kind: SourceKind, snapshot: str | None = None) -> None:
        """Before ``package`` is added as ``kind`` (``snapshot``: the snapshot it comes from):
        take out how the node installs it now, if that is another kind (or another
        snapshot)."""
        current = installed_from(self.code, package)
        if current is None or (current.kind is kind and current.snapshot == snapshot):
            return
        doing = f"switching {package} from a {current.kind} to a {kind}"
        if current.kind is SourceKind.WORKSPACE:
            raise InvalidInputError(
                f"{doing} is not possible: {package} is a member of the uv workspace of "
                f"{self.node.tag} (its [tool.uv.workspace] in code/pyproject.toml); take it "
                "out of the members first; nothing was changed"
            )
        if current.kind is SourceKind.SNAPSHOT and current.snapshot is not None:
            self.drop_snapshot(current.snapshot, package, doing)
        forget_requirement(self.code / "pyproject.toml", package)
        libraries = library_nodes(self.code)
        kept = {p: lib for p, lib in libraries.items() if requirement_name(p) != package}
        if kept != libraries:
            set_library_nodes(self.code / "pyproject.toml", kept)

    def drop_snapshot(self, name: str, package: str, doing: str) -> None:
        """Take snapshot ``name`` (holding ``package``) out of the node, its folder moved to
        the place ``kept_places`` chose; ConflictError, before anything changes, when other
        nodes install from it. ``doing`` says what drops it ("removing mytool")."""
        target = snapshot_path(self.code, name)
        self._check_no_users(name, f"{doing} would move snapshot {name} out of {self.node.tag}")
        place = self.places.get(name)
        if target.is_dir() and place is not None:
            target.rename(place)
            fsync_dir(place.parent)
            self.moved_out[name] = place
            crash_point("snapshot.dropped")
        forget_snapshot(self.code / "pyproject.toml", name)

    def check_installed(self, folder: Path, named: str) -> None:
        """After ``uv add`` of ``folder``: the node installs a package from it. InvalidInputError
        otherwise: uv kept another source of the same package, which ``make_way`` could not
        take out, not knowing the folder's package (a project without a ``[project]`` name)."""
        wanted = folder.resolve()
        if not any(found == wanted for found, _ in local_projects(self.code).values()):
            raise InvalidInputError(
                f"{named} was not added: {self.node.tag} installs the same package another way "
                "and uv kept that; remove the package from the node first, then add "
                f"{named} again; nothing was changed"
            )

    def _check_no_users(self, name: str, doing: str) -> None:
        """ConflictError when other nodes install a folder inside snapshot ``name`` (from this
        library node, or with ``--shared``/``--path``), naming them. Each node's pyproject is
        read as text first: only one naming the snapshot's folder is parsed."""
        target = snapshot_path(self.code, name).resolve()
        part = f"{self.node.id}/code/{SNAPSHOTS_DIR}/{name}"
        library: list[tuple[str, str]] = []
        other: list[tuple[str, str]] = []
        with self.context.store.read() as session:
            nodes = [n for n in session.list_nodes() if n.id != self.node.id]
        for node in nodes:
            code = self.context.layout.node_folder(node.id).code
            try:
                if part not in (code / "pyproject.toml").read_text(encoding="utf-8"):
                    continue
                found = local_projects(code)
            except (OSError, UnicodeDecodeError, InvalidInputError):
                continue
            inside = sorted(p for p, (f, _) in found.items() if f.is_relative_to(target))
            links = library_nodes(code)
            for package in inside:
                linked = links.get(package, links.get(requirement_name(package)))
                (library if linked == self.node.id else other).append((node.tag, package))
        if library:
            users = ", ".join(sorted({tag for tag, _ in library}))
            packages = ", ".join(sorted({p for _, p in library}))
            raise ConflictError(
                f"{doing}, whose package {packages} {users} install from library node "
                f"{self.node.tag}: take {packages} out of them first, or point them at another "
                "library node; nothing was changed"
            )
        if other:
            shown = ", ".join(f"{tag} ({package})" for tag, package in sorted(other))
            raise ConflictError(
                f"{doing}, which other nodes install from that folder (as a shared checkout or "
                f"a local project): {shown}; take it out of them first, or point them at "
                "another folder; nothing was changed"
            )
