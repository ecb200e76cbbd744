"""Building node folders so that a failure, or a killed process, leaves nothing behind.

A batch is an operation of the workspace journal (``workspace.journal``): folders are written
in its scratch folder under ``.nodepipe/staging``, flushed to disk, moved into ``nodes/`` with a
rename (same filesystem) once the journal names them, and get their environments synced there.
If anything fails before the rows are committed, every folder of the batch is removed again;
if the process dies, the next command removes those whose rows were never committed
(``recover_node_folders``). Deleting node folders is journaled the same way.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nodepipe.domain.environments import CodeManifest
from nodepipe.domain.errors import Action, Hint, NotFoundError, WorkspaceError
from nodepipe.domain.ids import looks_like_id
from nodepipe.envs.kernels import remove_kernel
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import journal
from nodepipe.workspace.bundle_libs import LIBS_DIR, read_links
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir, sync_filesystem
from nodepipe.workspace.external_code import relink_libraries
from nodepipe.workspace.node_config import read_node_config
from nodepipe.workspace.node_folder import NodeFolder, copy_node_folder, write_new_node_folder
from nodepipe.workspace.node_project import set_base_names, set_dependencies
from nodepipe.workspace.objects import ObjectStore
from nodepipe.workspace.run_environment import write_code

FOLDERS_KIND = "node-folders"
"""Journal operations building node folders: ``installing`` names the ids moved into nodes/."""
DELETE_KIND = "node-folder-deletion"
"""Journal operations deleting node folders: ``deleting`` names ids whose rows go."""


@dataclass
class FolderBatch:
    """Node folders being built together; ``install`` puts them in place with environments."""

    context: WorkspaceContext
    operation: journal.Operation
    staged: dict[str, NodeFolder] = field(default_factory=dict)
    installed: list[NodeFolder] = field(default_factory=list)
    staged_libs: dict[str, Path] = field(default_factory=dict)
    installed_libs: list[Path] = field(default_factory=list)
    copies: dict[str, str] = field(default_factory=dict)
    """Source id -> copy id of the copies in the batch: a copy of a node that uses a library
    node copied with it uses that copy (``relink_libraries``)."""

    def _staging_folder(self, node_id: str) -> NodeFolder:
        folder = NodeFolder(self.operation.folder / node_id)
        if folder.path.exists() or self.context.layout.node_dir(node_id).exists():
            raise WorkspaceError(f"a folder for node id {node_id} already exists")
        self.staged[node_id] = folder
        return folder

    def add_new(
        self, node_id: str, requirements: Sequence[str] = (), shared_env: str | None = None
    ) -> None:
        """A fresh node: skeleton files plus a lock (taken from the lock cache when possible).

        ``requirements`` (a pipeline's base packages) go into its pyproject; with
        ``shared_env`` it will use that shared environment instead of its own, and gets none
        of them: a node on a shared environment cannot get its pipeline's base (``base-env``
        names it as not given; ``env detach`` gives them). Its files are not flushed one by
        one: ``install`` flushes the whole batch at once.
        """
        folder = self._staging_folder(node_id)
        if not requirements or shared_env is not None:  # the whole pyproject written at once
            write_new_node_folder(folder, self.context.python_version, shared_env)
            self.context.environments.lock_pristine(folder.code)
            return
        write_new_node_folder(folder, self.context.python_version)
        # packaging's parser, only when there are requirements: read commands import this
        from nodepipe.domain.requirements import requirement_name

        names = {requirement_name(r) for r in requirements}
        set_dependencies(folder.pyproject, list(requirements), durable=False)
        set_base_names(folder.pyproject, names, durable=False)
        self.context.environments.lock_pristine(folder.code)

    def add_copy(self, source_id: str, node_id: str, with_data: bool) -> None:
        """A copy of node ``source_id``'s code and lock (and outputs with ``with_data``)."""
        source = self.context.layout.node_folder(source_id)
        if not source.code.is_dir():
            raise WorkspaceError(f"the folder of node {source_id} is missing: {source.path}")
        copy_node_folder(source, self._staging_folder(node_id), with_data)
        self.copies[source_id] = node_id

    def add_restored(self, node_id: str, manifest: CodeManifest, objects: ObjectStore) -> None:
        """A node whose code is the one a past run recorded (``manifest``), from ``objects``."""
        folder = self._staging_folder(node_id)
        write_code(folder.code, manifest, objects)
        folder.make_output_dirs()

    def staged_folder(self, node_id: str) -> NodeFolder:
        """An empty staged folder for a node whose files the caller writes (a bundle's)."""
        return self._staging_folder(node_id)

    def add_lib(self, lib_id: str) -> Path:
        """An empty staged folder for bundle code, moved to ``libs/<lib_id>`` by ``install``;
        the caller fills it."""
        folder = self.operation.folder / LIBS_DIR / lib_id
        if folder.exists() or (self.context.layout.root / LIBS_DIR / lib_id).exists():
            raise WorkspaceError(f"a folder for lib id {lib_id} already exists")
        self.staged_libs[lib_id] = folder
        return folder

    def discard_lib(self, lib_id: str) -> None:
        """Drop a lib staged by ``add_lib`` (found identical to one the workspace has)."""
        shutil.rmtree(self.staged_libs.pop(lib_id), ignore_errors=True)

    def install(self, jobs: int = 1, on_synced: Callable[[NodeFolder], None] | None = None) -> None:
        """Move every staged folder into nodes/ (and libs/) and sync its environment from its
        lock, ``jobs`` at a time; ``on_synced`` hears of each environment done."""
        nodes_dir = self.context.layout.nodes_dir
        nodes_dir.mkdir(parents=True, exist_ok=True)
        for staged in self.staged.values():
            relink_libraries(staged.code, self.copies)
        if self.staged or self.staged_libs:
            sync_filesystem(self.operation.folder)  # every staged file on disk, in one call
        self.operation.record(installing=sorted(self.staged), libs=sorted(self.staged_libs))
        crash_point("folders.recorded")
        self._install_libs()
        for node_id, staged in list(self.staged.items()):
            final = self.context.layout.node_folder(node_id)
            staged.path.rename(final.path)
            del self.staged[node_id]
            self.installed.append(final)
            crash_point("folders.moved")
        fsync_dir(nodes_dir)

        def sync(folder: NodeFolder) -> None:
            sync_node_environment(self.context, folder.code)
            if on_synced is not None:
                on_synced(folder)

        if jobs <= 1 or len(self.installed) <= 1:
            for folder in self.installed:
                sync(folder)
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                list(pool.map(sync, self.installed))  # the first failure is raised
        crash_point("folders.synced")

    def _install_libs(self) -> None:
        libs_dir = self.context.layout.root / LIBS_DIR
        if self.staged_libs:
            libs_dir.mkdir(exist_ok=True)
        for lib_id, staged in list(self.staged_libs.items()):
            final = libs_dir / lib_id
            staged.rename(final)
            del self.staged_libs[lib_id]
            self.installed_libs.append(final)
        if self.installed_libs:
            fsync_dir(libs_dir)

    def discard(self) -> None:
        for folder in [*self.staged.values(), *self.installed]:
            shutil.rmtree(folder.path, ignore_errors=True)
        for lib in [*self.staged_libs.values(), *self.installed_libs]:
            shutil.rmtree(lib, ignore_errors=True)


@contextmanager
def staged_folders(context: WorkspaceContext) -> Iterator[FolderBatch]:
    """Yield a batch; on any exception inside the block, remove every folder it built.

    The block commits the rows of the nodes; the operation ends when it returns.
    """
    with journal.operation(context.layout.staging_dir, FOLDERS_KIND) as operation:
        batch = FolderBatch(context, operation)
        try:
            yield batch
        except BaseException:
            batch.discard()
            raise
        crash_point("folders.committed")


def sync_node_environment(context: WorkspaceContext, code_dir: Path) -> None:
    """Sync the node's own environment, or link it to the shared one its config names; a
    node on an existing interpreter has none (``env interpreter``), so none is made."""
    config = read_node_config(code_dir / "pyproject.toml")
    if config.interpreter is not None:
        return
    if config.shared_env is None:
        context.environments.sync(code_dir)
    else:
        shared = context.layout.shared_env_dir(config.shared_env)
        if not (shared / "pyproject.toml").is_file():
            raise NotFoundError(
                f"no shared environment {config.shared_env!r}",
                hint=Hint(Action.SHARED_ENV_NEW, {"name": config.shared_env}),
            )
        context.environments.ensure_synced(code_dir, shared)


def delete_nodes_on_disk(context: WorkspaceContext, node_ids: Iterable[str]) -> None:
    """Remove deleted nodes' folders and what they left outside them (Jupyter kernels, the
    bundle code only they linked)."""
    linked: set[str] = set()
    for node_id in node_ids:
        linked |= {link.lib_id for link in read_links(context.layout.node_folder(node_id))}
        shutil.rmtree(context.layout.node_dir(node_id), ignore_errors=True)
        remove_kernel(node_id)
        crash_point("folders.deleted-one")
    if linked:
        remove_unlinked_libs(context, linked)


@contextmanager
def deleting_node_folders(context: WorkspaceContext) -> Iterator[journal.Operation]:
    """An operation for a block that deletes node rows, then their folders: the block records
    ``deleting=[ids]`` before its transaction commits, so a crash between the commit and the
    folders' removal leaves the next command to finish it."""
    with journal.operation(context.layout.staging_dir, DELETE_KIND) as operation:
        yield operation


def recover_node_folders(context: WorkspaceContext, operation: journal.Operation) -> None:
    """Finish an abandoned folder operation: remove every folder it named whose node has no
    row (never committed, or deleted); keep those whose rows exist. A replace's library links
    are re-pointed first when its rows were committed (``library_links.recover_repoints``)."""
    from nodepipe.services.graph.library_links import recover_repoints  # rarely needed

    recover_repoints(context, operation.intent)
    named = [*operation.intent.get("installing", []), *operation.intent.get("deleting", [])]
    ids = [node_id for node_id in named if isinstance(node_id, str) and looks_like_id(node_id)]
    with context.store.read() as session:
        kept = set(session.get_nodes(ids))
    delete_nodes_on_disk(context, [node_id for node_id in ids if node_id not in kept])
    libs = [lib for lib in operation.intent.get("libs", []) if isinstance(lib, str)]
    if libs:
        remove_unlinked_libs(context, libs)


def remove_unlinked_libs(context: WorkspaceContext, lib_ids: Iterable[str]) -> None:
    """Remove those of ``lib_ids`` that no node of the store links (bundle code of nodes that
    were never committed, or were deleted)."""
    candidates = {lib_id for lib_id in lib_ids if looks_like_id(lib_id)}
    with context.store.read() as session:
        node_ids = [node.id for node in session.list_nodes()]
    for node_id in node_ids:
        candidates -= {link.lib_id for link in read_links(context.layout.node_folder(node_id))}
    for lib_id in sorted(candidates):
        shutil.rmtree(context.layout.root / LIBS_DIR / lib_id, ignore_errors=True)
