"""Use cases on the external code a node runs: code paths and library nodes
(``workspace.external_code`` says what is declared and how)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.errors import Action, Hint, InvalidInputError, NotFoundError
from nodepipe.domain.model import Node
from nodepipe.domain.requirements import requirement_name
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs.environments import (
    EnvironmentService,
    EnvironmentView,
    told_moved_out,
)
from nodepipe.services.envs.switches import PackageSwitches
from nodepipe.workspace.external_code import (
    check_code_path,
    code_paths,
    library_nodes,
    library_packages,
    set_code_paths,
    set_library_nodes,
)
from nodepipe.workspace.self_links import written_by_runs
from nodepipe.workspace.source_kinds import SourceKind
from nodepipe.workspace.walk_progress import check_external_size


@dataclass(frozen=True, slots=True)
class ExternalCodeService:
    context: WorkspaceContext

    @property
    def _envs(self) -> EnvironmentService:
        return EnvironmentService(self.context)

    def code_path_add(
        self, name: str, directory: str, pipeline: str | None = None, large: bool = False
    ) -> EnvironmentView:
        """Put ``directory`` on the node's import path at launch; its files join the node's
        fingerprint. Recorded as an absolute path; an existing folder outside ``code/``, of at
        most ``MAX_EXTERNAL_FILES`` files unless ``large``."""
        node, code = self._envs.node_code(name, pipeline, own=False)  # whatever its isolation
        folder = Path(os.path.realpath(Path(check_code_path(directory)).expanduser()))
        check_code_path(str(folder))  # as recorded: absolute, links followed
        try:
            is_folder = folder.is_dir()
        except OSError as exc:  # a part longer than a file system takes
            raise InvalidInputError(f"no folder at {directory[:80]}: {exc.strerror}") from exc
        if not is_folder:
            raise InvalidInputError(f"no folder at {directory}")
        if folder.is_relative_to(code.resolve()):
            raise InvalidInputError(
                f"{directory} is inside the node's code/ folder: it is on the import path and "
                "fingerprinted already"
            )
        where = written_by_runs(folder, code)  # its store, logs, outputs: never up to date
        if where:
            raise InvalidInputError(
                f"{directory} is {where}: what each run writes would count as the node's "
                "code and it would never be up to date; name a folder of code only"
            )
        present = code_paths(code)
        if str(folder) not in present:
            check_external_size(folder, node.id, "code-path", large)
            set_code_paths(code / "pyproject.toml", [*present, str(folder)])
        return self._envs.show(node.id)

    def code_path_remove(
        self, name: str, directory: str, pipeline: str | None = None
    ) -> EnvironmentView:
        """Take ``directory`` (as recorded, or as the same folder) off the node's import path."""
        node, code = self._envs.node_code(name, pipeline, own=False)  # whatever its isolation
        present = code_paths(code)
        wanted = os.path.realpath(Path(check_code_path(directory)).expanduser())
        kept = [p for p in present if p != directory and str(_resolved(code, p)) != wanted]
        if kept == present:
            listed = ", ".join(present) or "none"
            raise NotFoundError(
                f"{directory} is not a code path of this node (code paths: {listed})"
            )
        set_code_paths(code / "pyproject.toml", kept)
        return self._envs.show(node.id)

    def add_from_node(
        self, name: str, library: str, pipeline: str | None = None, package: str | None = None
    ) -> EnvironmentView:
        """Install the package library node ``library`` holds into node ``name``, editable,
        and record the link: an edit of the library's package makes the node stale. Locked
        and synced, or nothing changes."""
        node, code, lib_node, chosen, folder = self._library_package(
            name, library, pipeline, package
        )
        relative = os.path.relpath(folder, code)
        environments = self.context.environments
        switches = PackageSwitches(self.context, node, code)
        package = requirement_name(chosen)

        def edit() -> None:
            switches.make_way(package, SourceKind.LIBRARY)
            environments.run_uv(
                code, ["add", "--no-sync", "--editable", relative], f"add {chosen} from {library}"
            )
            linked = library_nodes(code) | {chosen: lib_node.id}
            set_library_nodes(code / "pyproject.toml", linked)

        environments.change(code, edit, kept=switches.kept_places([package]))
        return told_moved_out(self._envs.show(node.id), switches)

    def check_from_node(
        self, name: str, library: str, pipeline: str | None = None, package: str | None = None
    ) -> None:
        """Refuse now, changing nothing, what ``add_from_node`` would refuse before it locks
        (the web API asks before its job)."""
        self._library_package(name, library, pipeline, package)

    def _library_package(
        self, name: str, library: str, pipeline: str | None, package: str | None
    ) -> tuple[Node, Path, Node, str, Path]:
        """The node and its code, the library node, and the package (name and folder) of
        the library node's that ``add_from_node`` installs."""
        envs = self._envs
        node, code = envs.node_code(name, pipeline)
        lib_node, lib_code = envs.node_code(library, pipeline, edit=False)
        if lib_node.id == node.id:
            raise InvalidInputError(f"node {node.tag!r} cannot be its own library node")
        chosen, folder = _one_package(node, lib_node, library_packages(lib_code), package)
        return node, code, lib_node, chosen, folder


def _one_package(
    node: Node, library: Node, found: dict[str, Path], wanted: str | None
) -> tuple[str, Path]:
    """The package of ``library`` that ``node`` installs: ``wanted``, or its only one."""
    if wanted is not None:
        if wanted not in found:
            listed = ", ".join(found) or "none"
            raise NotFoundError(
                f"library node {library.tag!r} holds no package {wanted!r} ({listed})"
            )
        return wanted, found[wanted]
    if len(found) != 1:
        raise InvalidInputError(
            f"library node {library.tag!r} holds "
            + (f"several packages ({', '.join(found)})" if found else "no package")
            + " (a folder of its code/ or code/snapshots/ with a pyproject.toml)",
            hint=Hint(
                Action.LIBRARY_PACKAGE,
                {
                    "node": node.id,
                    "tag": node.tag,
                    "library": library.id,
                    "library_tag": library.tag,
                },
            )
            if found
            else None,
        )
    return next(iter(found.items()))


def _resolved(code: Path, written: str) -> Path:
    return Path(os.path.realpath(code / Path(written).expanduser()))  # a link loop: no raise
