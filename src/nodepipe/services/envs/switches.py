"""Switching a node's package from one kind of source to another, and dropping a snapshot.

``env add`` of a package the node already installs another way (``--snapshot`` after
``--path``, ``--shared`` after ``--snapshot``, a PyPI pin after a git URL…) replaces it: uv
alone would keep the old source (a snapshot is a member of the node's uv workspace, which uv
always prefers; a pin keeps a path or git source), so the old kind is taken out first and the
package is added as if it was never there. The same kind is left to uv (another version,
revision or folder).

A snapshot a switch (or ``env remove`` of its package) leaves is dropped: its workspace member,
its record and its folder in ``code/snapshots/``, which nodepipe took from its origin and can
take again. A snapshot holding something of the user's (an edited file, a commit that no remote
branch has) is never deleted: that switch is refused, as ``env update-snapshot`` refuses to
overwrite edits, and so is one whose package other nodes install from this node (a library
node's snapshot). Everything happens in the caller's edit: a refusal or a failure changes
nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.errors import Action, ConflictError, Hint, InvalidInputError
from nodepipe.domain.model import Node
from nodepipe.domain.requirements import requirement_name
from nodepipe.domain.staleness import SNAPSHOTS_DIR
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.library_links import library_users
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.external_code import (
    library_nodes,
    library_packages,
    local_projects,
    set_library_nodes,
)
from nodepipe.workspace.node_project import forget_requirement
from nodepipe.workspace.snapshots import (
    forget_snapshot,
    own_changes,
    recorded_snapshots,
    refresh_paths,
    snapshot_path,
)
from nodepipe.workspace.source_kinds import SourceKind, installed_from


@dataclass(frozen=True, slots=True)
class PackageSwitches:
    """The switches of node ``node``'s packages, whose ``code/`` is ``code``."""

    context: WorkspaceContext
    node: Node
    code: Path

    def asides(self, packages: Iterable[str] | None = None) -> list[tuple[Path, Path]]:
        """(folder, aside) of each snapshot an edit may drop: the snapshots holding
        ``packages`` (None: every snapshot of the node, for an add that learns its package
        only once it has it). The edit journal puts an aside folder back if the edit is
        undone, and deletes it once the edit is done."""
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
                pairs.append((snapshot_path(self.code, name), refresh_paths(self.code, name)[1]))
            except InvalidInputError:
                continue  # a name no snapshot can have: never dropped either
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
        its aside path (see ``asides``); ConflictError, before anything changes, when it holds
        something of the user's or other nodes install its package. ``doing`` says what
        drops it ("removing mytool")."""
        where = f"snapshot {name} (code/{SNAPSHOTS_DIR}/{name})"
        changes = own_changes(self.code, name)
        if changes:
            shown = "; ".join(changes[:10]) + (" …" if len(changes) > 10 else "")
            raise ConflictError(
                f"{doing} would delete {where}, which holds what only it has: {shown}. Keep "
                "that elsewhere first (copy the files out, push the commits), then discard it "
                "or delete the folder, and try again; nothing was changed",
                hint=Hint(Action.SNAPSHOT_RESET, {"node": self.node.tag, "snapshot": name}),
            )
        self._check_no_users(name, package, f"{doing} would delete {where}")
        target, aside = snapshot_path(self.code, name), refresh_paths(self.code, name)[1]
        if target.exists():
            shutil.rmtree(aside, ignore_errors=True)
            target.rename(aside)
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

    def _check_no_users(self, name: str, package: str, doing: str) -> None:
        """ConflictError when other nodes install ``package`` from snapshot ``name`` of this
        node (a library node's snapshot), naming them."""
        held = {requirement_name(p): f for p, f in library_packages(self.code).items()}
        folder = held.get(package)
        if folder is None or folder.resolve() != snapshot_path(self.code, name).resolve():
            return
        with self.context.store.read() as session:
            uses = library_users(self.context, session, [self.node.id]).get(self.node.id, [])
        users = [use.user.tag for use in uses if package in map(requirement_name, use.packages)]
        if users:
            raise ConflictError(
                f"{doing}, whose package {package} {', '.join(sorted(users))} install from "
                f"library node {self.node.tag}: take {package} out of them first, or point "
                "them at another library node; nothing was changed"
            )
