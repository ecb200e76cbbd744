"""Use cases on node environments: add/remove packages, lock, sync, Python version, snapshots,
shared references, requirements files, Jupyter kernels, and showing all of it."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

from nodepipe.domain.arguments import path_of, text_of
from nodepipe.domain.errors import Action, Hint, InvalidInputError
from nodepipe.domain.model import Node
from nodepipe.domain.requirements import (
    requirement_name,
    validate_package_names,
    validate_requirements,
)
from nodepipe.domain.staleness import SNAPSHOTS_DIR
from nodepipe.envs.interpreters import find_interpreter, interpreter_version, python3_version
from nodepipe.envs.kernels import install_kernel
from nodepipe.envs.node_env import PYTHON_VERSION_FILE
from nodepipe.envs.python_requests import first_request, requires_python
from nodepipe.envs.url_names import url_package
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs import indexes
from nodepipe.services.envs.imported_files import check_requirements_file
from nodepipe.services.envs.inline_metadata import check_inline_pins, honour_inline_metadata
from nodepipe.services.envs.isolation_rules import (
    check_own_environment,
    interpreter_warning,
    isolation_of,
    not_installed,
)
from nodepipe.services.envs.origins import requirement_origins
from nodepipe.services.envs.switches import PackageSwitches
from nodepipe.services.graph.staged_folders import sync_node_environment
from nodepipe.services.guards import check_node_editable
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.external_code import (
    SHARED,
    check_present,
    code_paths,
    external_code,
    forget_removed_libraries,
    library_nodes,
)
from nodepipe.workspace.node_config import read_node_config, read_pyproject
from nodepipe.workspace.node_project import (
    base_names,
    dependencies,
    set_base_names,
    set_dependencies,
    set_requires_python,
)
from nodepipe.workspace.run_environment import VENV_PYTHON, venv_python_version
from nodepipe.workspace.snapshots import (
    check_python_project,
    record_snapshot,
    refresh_paths,
    refreshed_snapshot,
    shown_snapshots,
    snapshot_name,
    snapshot_origin,
    snapshot_path,
    take_snapshot,
)
from nodepipe.workspace.source_kinds import (
    SourceKind,
    installed_from,
    project_name,
    requested_kind,
)
from nodepipe.workspace.uv_lock import locked_packages
from nodepipe.workspace.walk_progress import check_external_size


@dataclass(frozen=True, slots=True)
class EnvironmentView:
    """What ``nodepipe env show`` prints."""

    node_id: str
    tag: str
    python: str
    python_request: str
    direct: tuple[str, ...]
    locked: dict[str, str]
    snapshots: dict[str, str]
    shared: dict[str, str]
    origins: dict[str, str]
    code_paths: tuple[str, ...]
    isolation: str = "own"
    """``own`` environment; ``shared:NAME``; ``interpreter:PATH`` (not isolated)."""
    not_installed: tuple[str, ...] = ()
    """With an existing interpreter: the locked packages it does not have."""
    warnings: tuple[str, ...] = ()
    environment_python: str = ""
    """The version of the Python its ``.venv`` was built with ("" without one, or with an
    existing interpreter); another than ``python`` when the last sync failed."""


@dataclass(frozen=True, slots=True)
class EnvironmentService:
    context: WorkspaceContext

    def node_code(
        self,
        name: str,
        pipeline: str | None,
        edit: bool = True,
        own: bool | None = None,
        leaving: Collection[str] | None = (),
    ) -> tuple[Node, Path]:
        """The node and its code folder, whose pyproject.toml must be readable (InvalidInputError
        naming the file otherwise: a missing folder, malformed TOML). An edit (``own``, by
        default) needs the node's own environment: a node using a shared one or an existing
        interpreter is refused, hinting ``env detach``; and its external code present, since
        uv reads every folder the node installs (InvalidInputError saying what ``status``
        says, before uv runs), but for the external code named in ``leaving`` (what the edit
        removes; None: an edit that runs no uv)."""
        with self.context.store.read() as session:
            within = resolver.pipeline(session, pipeline) if pipeline else None
            node = resolver.node(session, name, within)
            if edit:
                check_node_editable(session, node, within)
        code = self.context.layout.node_folder(node.id).code
        read_pyproject(code / "pyproject.toml")
        if edit if own is None else own:
            check_own_environment(node, code)
            if leaving is not None:
                gone = {requirement_name(package) for package in leaving}
                kept = (e for e in external_code(code) if requirement_name(e.name) not in gone)
                check_present(code, tuple(kept))
        return node, code

    def add(
        self,
        name: str,
        requirements: list[str],
        *,
        pipeline: str | None = None,
        path: str | None = None,
        snapshot: str | None = None,
        shared: str | None = None,
        large: bool = False,
    ) -> EnvironmentView:
        """Add packages (pinned or ranged), a git URL, a local path, a snapshot or a shared
        checkout; locked and synced, or nothing changes. A shared checkout or local path of
        more than ``MAX_EXTERNAL_FILES`` files is refused unless ``large``."""
        chosen = [bool(requirements), path is not None, snapshot is not None, shared is not None]
        if sum(chosen) != 1:
            raise InvalidInputError(
                "give packages, or one folder to install: a local project, a snapshot or a "
                "shared checkout"
            )
        validate_requirements(requirements)
        node, code = self.node_code(name, pipeline)
        check_inline_pins(code, requirements)
        switches = PackageSwitches(self.context, node, code)
        if snapshot is not None:
            self._add_snapshot(code, snapshot, switches)
            return told_moved_out(self.show(node.id), switches)
        kinds = {self._package_of(code, r): requested_kind(r) for r in requirements}
        args = ["add", "--no-sync", *requirements]
        given = shared if shared is not None else path
        folder = None
        if given is not None:
            source, editable = ("shared", ["--editable"]) if shared is not None else ("path", [])
            folder = Path(added_folder(given, node.id, source, large))
            args = ["add", "--no-sync", *editable, str(folder)]
            held = project_name(folder)
            kind = SourceKind.SHARED if editable else SourceKind.LOCAL_PATH
            kinds = {held: kind} if held is not None else {}
        environments = self.context.environments

        def edit() -> None:
            for package, wanted in kinds.items():
                switches.make_way(package, wanted)
            environments.run_uv(code, args, "add " + " ".join(args[2:]))
            if folder is not None and given is not None:
                switches.check_installed(folder, given)
            _claim(code, set(kinds))

        environments.change(code, edit, kept=switches.kept_places(kinds))
        return told_moved_out(self.show(node.id), switches)

    def check_add(self, name: str, requirements: list[str], pipeline: str | None = None) -> None:
        """Refuse now what ``add`` would refuse of ``requirements`` before it locks (a surface
        that runs it in the background asks first): a pin the node's inline script metadata
        rules out."""
        requirements = validate_requirements(requirements)
        check_inline_pins(self.node_code(name, pipeline, edit=False)[1], requirements)

    def _add_snapshot(self, code: Path, snapshot: str, switches: PackageSwitches) -> None:
        """Take a snapshot of ``snapshot`` (a folder or a URL) and install it, editable, in
        place of how the node installs its package now."""
        origin = _absolute_or_url(snapshot)
        label = snapshot_name(origin)
        target = snapshot_path(code, label)
        if target.exists() or target.is_symlink():
            raise InvalidInputError(
                f"the node already has a snapshot named {label!r} (code/{SNAPSHOTS_DIR}/{label}), "
                f"so one of {snapshot} cannot be taken under that name; nothing was changed",
                hint=Hint(
                    Action.SNAPSHOT_REFRESH,
                    {"node": switches.node.id, "tag": switches.node.tag, "snapshot": label},
                ),
            )
        environments = self.context.environments

        def edit() -> None:
            take_snapshot(code, origin, label)
            record_snapshot(code / "pyproject.toml", label, origin)
            held = project_name(target)
            if held is not None:
                switches.make_way(held, SourceKind.SNAPSHOT, label)
            environments.run_uv(
                code,
                ["add", "--no-sync", "--editable", f"./{SNAPSHOTS_DIR}/{label}"],
                "add the snapshot",
            )
            switches.check_installed(target, snapshot)
            _claim(code, {held} if held is not None else set())

        environments.change(code, edit, creates=[target], kept=switches.kept_places())

    def _package_of(self, code: Path, requirement: str) -> str:
        """The normalised name of the package ``requirement`` adds; for a URL that names
        none, uv is asked (it fetches the URL, as its ``add`` would)."""
        name = requirement_name(requirement)
        if name != requirement.strip() or "://" not in requirement:
            return name  # a name of its own (a plain name, or NAME @ URL): uv is not asked
        environments = self.context.environments
        found = url_package(environments.uv, environments.python_for(code), requirement)
        return found if found is not None else name

    def remove(
        self, name: str, packages: list[str], pipeline: str | None = None
    ) -> EnvironmentView:
        validate_package_names(packages)
        node, code = self.node_code(name, pipeline, leaving=packages)
        _check_requirements_of(node.tag, code, packages)
        environments = self.context.environments
        switches = PackageSwitches(self.context, node, code)
        names = {requirement_name(p) for p in packages}

        def edit() -> None:
            for package in sorted(names):
                found = installed_from(code, package)
                if found is not None and found.snapshot is not None:
                    switches.drop_snapshot(found.snapshot, package, f"removing {package}")
            environments.run_uv(
                code, ["remove", "--no-sync", *packages], "remove " + " ".join(packages)
            )
            _claim(code, names)
            forget_removed_libraries(code)

        environments.change(code, edit, kept=switches.kept_places(names))
        return told_moved_out(self.show(node.id), switches)

    def import_requirements(
        self, name: str, file: Path | str, pipeline: str | None = None, local_files: bool = True
    ) -> EnvironmentView:
        """Add every requirement of ``file`` (checked first, with what it includes: see
        ``imported_files``); its relative paths (``-e ../lib``, ``./pkg``, ``-r other.txt``)
        are taken from the file's folder, as pip and uv do; ``local_files=False`` for a file
        sent over the web, which may name no file or folder of this machine."""
        file = path_of(file, "the requirements file")
        self.check_import(name, file, pipeline, local_files)
        node, code = self.node_code(name, pipeline)
        environments = self.context.environments
        source = file.resolve()
        environments.change(  # run in the file's folder: its relative paths start there
            code,
            lambda: environments.run_uv(
                code, ["add", "--no-sync", "-r", str(source)], f"import {file}", source.parent
            ),
        )
        return self.show(node.id)

    def check_import(
        self, name: str, file: Path | str, pipeline: str | None = None, local_files: bool = True
    ) -> None:
        """Refuse now what ``import_requirements`` would refuse of ``file`` before it locks:
        a line it cannot take, a file naming no package, a pin the node's inline script
        metadata rules out."""
        file = path_of(file, "the requirements file")
        wanted = check_requirements_file(file, local_files)
        if not wanted:
            raise InvalidInputError(f"{file} names no package to add")
        check_inline_pins(self.node_code(name, pipeline, edit=False)[1], wanted)

    def replace_requirements(
        self,
        name: str,
        requirements: list[str],
        requires_python: str | None = None,
        pipeline: str | None = None,
    ) -> EnvironmentView:
        """Make the node's direct requirements exactly ``requirements``; locked and synced."""
        validate_requirements(requirements)
        node, code = self.node_code(name, pipeline)
        check_inline_pins(code, requirements)
        environments = self.context.environments

        def edit() -> None:
            set_dependencies(code / "pyproject.toml", requirements)
            if requires_python is not None:
                set_requires_python(code / "pyproject.toml", requires_python)
            environments.lock(code)

        environments.change(code, edit)
        return self.show(node.id)

    def add_index(
        self,
        name: str,
        url: str | None,
        index: str | None,
        default: bool = False,
        pipeline: str | None = None,
    ) -> EnvironmentView:
        """Add the package index ``url`` named ``index`` to the node (see ``indexes``)."""
        return indexes.add_index(self, name, url, index, default, pipeline)

    def sync(self, name: str, pipeline: str | None = None) -> EnvironmentView:
        """Sync from the lock (after honouring inline script metadata, if any), relocking first
        a lock out of step with its projects (unless frozen)."""
        node, code = self.node_code(name, pipeline)
        if not honour_inline_metadata(self.context, code):
            if read_node_config(code / "pyproject.toml").shared_env is None:
                self.context.environments.bring_lock_in_step(code)
            sync_node_environment(self.context, code)
        return self.show(node.id)

    def lock(
        self, name: str, upgrade: bool = False, pipeline: str | None = None
    ) -> EnvironmentView:
        node, code = self.node_code(name, pipeline)
        environments = self.context.environments
        environments.change(code, lambda: environments.lock(code, upgrade=upgrade))
        return self.show(node.id)

    def set_python(self, name: str, version: str, pipeline: str | None = None) -> EnvironmentView:
        """Use another installed interpreter (never downloaded); relocks and syncs."""
        node, code = self.node_code(name, pipeline)
        text_of(version, "the Python version")
        requires = requires_python(version, python3_version(find_interpreter(version)))
        environments = self.context.environments

        def edit() -> None:
            write_atomic(code / PYTHON_VERSION_FILE, f"{version}\n")
            set_requires_python(code / "pyproject.toml", requires)
            environments.lock(code)

        environments.change(code, edit)
        return self.show(node.id)

    def check_python(self, name: str, version: str, pipeline: str | None = None) -> None:
        """Refuse now what ``set_python`` would refuse before it locks (a surface that runs it
        in the background asks first): a node whose environment cannot change here, no
        installed Python answering ``version``."""
        self.node_code(name, pipeline)
        python3_version(find_interpreter(text_of(version, "the Python version")))

    def update_snapshot(
        self, name: str, snapshot: str, pipeline: str | None = None, force: bool = False
    ) -> EnvironmentView:
        """Refresh a snapshot (a fast-forward of a clone, or a new copy), relock and sync, all
        or nothing.

        Local edits in the snapshot, and a clone whose upstream rewrote its history, refuse the
        update (ConflictError listing the edits, naming the revisions) unless ``force`` discards
        them (the clone reset to the upstream head); the view's warnings list what was
        dropped."""
        node, code = self.node_code(name, pipeline)
        origin = snapshot_origin(code / "pyproject.toml", text_of(snapshot, "the snapshot"))
        environments = self.context.environments

        dropped: list[str] = []
        token = os.urandom(4).hex()

        def edit() -> None:
            with refreshed_snapshot(code, origin, snapshot, force, node, token) as discarded:
                environments.lock(code)  # the snapshot may require something new
                crash_point("snapshot.relocked")
                environments.sync(code)
            dropped.extend(discarded)

        fresh, aside = refresh_paths(code, snapshot, token)
        target = snapshot_path(code, snapshot)
        environments.change(code, edit, sync=False, creates=[fresh], moved=[(target, aside)])
        view = self.show(node.id)
        if not dropped:
            return view
        shown = "; ".join(dropped[:20]) + (
            f"; … and {len(dropped) - 20} more" if len(dropped) > 20 else ""
        )
        return replace(view, warnings=(*view.warnings, f"snapshot {snapshot}: dropped {shown}"))

    def kernel(self, name: str, pipeline: str | None = None) -> Path:
        """A Jupyter kernel spec running this node's environment (removed with the node)."""
        node, code = self.node_code(name, pipeline, edit=False)
        from nodepipe.execution.task_factory import node_import_path  # not for other commands

        self.context.environments.ensure_synced(code)
        folder = self.context.layout.node_folder(node.id)
        python = code / ".venv" / "bin" / "python"
        return install_kernel(node.id, node.tag, python, code.parent, node_import_path(folder))

    def show(self, name: str, pipeline: str | None = None) -> EnvironmentView:
        node, code = self.node_code(name, pipeline, edit=False)
        existing = read_node_config(code / "pyproject.toml").interpreter  # not isolated
        try:  # never runs an interpreter another user could have put there (NOT_TRUSTED)
            python = interpreter_version(existing or self.context.environments.python_for(code))
        except InvalidInputError as exc:  # a .python-version naming what may not be run
            python = str(exc)
        request_file = code / PYTHON_VERSION_FILE
        lock = code / "uv.lock"
        locked = (
            {k: v for k, v in locked_packages(lock.read_bytes()).items() if k != "nodepipe-node"}
            if lock.is_file()
            else {}
        )
        isolation = isolation_of(code)
        missing = not_installed(code, locked)
        direct, origins = self._requested(code, isolation)
        built = "" if existing else venv_python_version(code / VENV_PYTHON)
        return EnvironmentView(
            node_id=node.id,
            tag=node.tag,
            python=python,
            python_request=_python_request(request_file),
            direct=direct,
            locked=locked,
            snapshots=shown_snapshots(code / "pyproject.toml"),
            shared=_shared_references(code),
            origins=origins,
            code_paths=tuple(code_paths(code)),
            isolation=isolation,
            not_installed=missing,
            warnings=(
                *interpreter_warning(node.tag, isolation, missing),
                *_python_warning(python, built),
            ),
            environment_python=built,
        )

    def _requested(self, code: Path, isolation: str) -> tuple[tuple[str, ...], dict[str, str]]:
        """The requirements ``show`` lists as asked for, and where each comes from. A node on
        a shared environment runs that environment's packages, asked for by it: its own
        ``pyproject.toml`` requirements (a pipeline's base among them) are not installed
        until ``env detach``, so they are not shown as what its locked packages answer."""
        kind, _, name = isolation.partition(":")
        if kind == "shared":
            shared = self.context.layout.shared_env_dir(name) / "pyproject.toml"
            return (tuple(dependencies(shared)) if shared.is_file() else ()), {}
        origins = requirement_origins(code, self._library_tags(code))
        return tuple(dependencies(code / "pyproject.toml")), origins

    def _library_tags(self, code: Path) -> dict[str, str]:
        """Package -> tag of the library node it comes from."""
        libraries = library_nodes(code)
        if not libraries:
            return {}
        with self.context.store.read() as session:
            nodes = {lib_id: session.get_node(lib_id) for lib_id in set(libraries.values())}
        return {
            package: (found.tag if (found := nodes[lib_id]) is not None else f"{lib_id} (removed)")
            for package, lib_id in libraries.items()
        }


def told_moved_out(view: EnvironmentView, switches: PackageSwitches) -> EnvironmentView:
    """``view`` saying where each snapshot the edit took out of the node went (one line
    each, with its warnings)."""
    lines = tuple(
        f"snapshot {name} was moved out of the node's code to {place} (kept: nodepipe never "
        "removes it; delete it yourself when you no longer need it)"
        for name, place in sorted(switches.moved_out.items())
    )
    return replace(view, warnings=(*view.warnings, *lines)) if lines else view


def _check_requirements_of(tag: str, code: Path, packages: list[str]) -> None:
    """Each package is a direct requirement of the node; else nothing is removed."""
    direct = sorted({requirement_name(r) for r in dependencies(code / "pyproject.toml")})
    absent = [p for p in packages if requirement_name(p) not in direct]
    if absent:
        raise InvalidInputError(
            f"{tag} has no requirement {', '.join(absent)}: its requirements are "
            f"{', '.join(direct) if direct else 'none'} (a package installed only because "
            "another one needs it goes with that one)"
        )


def _claim(code: Path, names: set[str]) -> None:
    """The node now decides these packages itself: the pipeline's base no longer does."""
    pyproject = code / "pyproject.toml"
    from_base = base_names(pyproject)
    if from_base & names:
        set_base_names(pyproject, from_base - names)


def _absolute_or_url(origin: str) -> str:
    return origin if "://" in origin or origin.startswith("git@") else str(Path(origin).resolve())


def added_folder(path: str, node: str, source: str, large: bool) -> str:
    """``path`` resolved, to add to node ``node`` as external code (``source``: ``shared`` or
    ``path``): an existing folder, of at most ``MAX_EXTERNAL_FILES`` files unless ``large``
    (the web API asks before its job)."""
    folder = Path(os.path.realpath(path))  # a link loop is no folder (resolve() raises)
    if not folder.is_dir():
        raise InvalidInputError(f"no folder at {path}")
    check_python_project(folder, path)
    check_external_size(folder, node, source, large)
    return str(folder)


def _shared_references(code: Path) -> dict[str, str]:
    """Editable sources outside the node's code/ folder: shared checkouts (less reproducible)."""
    return {item.name: str(item.path) for item in external_code(code) if item.kind == SHARED}


def _python_warning(asked: str, built: str) -> tuple[str, ...]:
    """What ``show`` warns when the node's environment has another Python than the one it
    asks for: its last sync failed (or none ran since the request changed)."""
    if not built or not asked[:1].isdigit() or built == asked:
        return ()
    return (
        f"its environment has Python {built}, not the {asked} it asks for: the last sync "
        "failed, or none ran since the request changed (the next sync or run tries again)",
    )


def _python_request(request_file: Path) -> str:
    """The request the node's ``.python-version`` makes, as uv reads it (its first line that is
    not blank or a comment); "default" without one."""
    if not request_file.is_file():
        return "default"
    return first_request(request_file.read_text(encoding="utf-8", errors="replace")) or "default"
