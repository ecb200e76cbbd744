"""The node-folder convention (DESIGN.md section 3): create, copy and clear node folders.

```
<node-id>/code/    main.py, pyproject.toml, uv.lock, .venv/, params.yaml, any modules
<node-id>/data/    outputs (replaced only when a run succeeds)
<node-id>/reports/ plots and reports kept beside the data
<node-id>/logs/    one log per node run
```
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

NODE_PROJECT_NAME = "nodepipe-node"
"""Every node's pyproject uses this name, so a lock copied from another node stays valid."""

ENTRY_POINT = "main.py"
LINKS_FILE = "links.toml"
"""Beside ``code/``: the bundle code the node imports from (``workspace.bundle_libs``)."""
COPY_IGNORED_NAMES = (
    ".venv",
    ".venv.*",
    ".conda",
    ".conda.*",
    "__pycache__",
    "*.pyc",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".mypy_cache",
    ".*." + "[0-9a-f]" * 8 + ".tmp",  # a save a kill cut short (``durable.write_aside``)
)
"""Names (at any depth) a node's code is copied without: environments and caches."""
_IGNORED_NAMES = shutil.ignore_patterns(*COPY_IGNORED_NAMES)


def special_entries(folder: str, names: list[str]) -> set[str]:
    """The pipes, sockets and devices among ``names`` of ``folder``: no code (a fingerprint
    never counts one), and no copy can be made of one (``shutil`` refuses a pipe)."""
    found = set()
    for name in names:
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode  # noqa: PTH118
        except OSError:
            continue  # gone meanwhile: the copy says so
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            found.add(name)
    return found


def _copy_ignored(folder: str, names: list[str]) -> set[str]:
    return set(_IGNORED_NAMES(folder, names)) | special_entries(folder, names)


COPY_IGNORED: Callable[[str, list[str]], set[str]] = _copy_ignored
"""What a copy of a node's code leaves out (``shutil.copytree``'s ``ignore``): the names of
``COPY_IGNORED_NAMES``, and pipes, sockets and devices (``special_entries``)."""


@dataclass(frozen=True)
class NodeFolder:
    """A node's folder; its parts are computed once (a run looks them up many times)."""

    path: Path

    @staticmethod
    def at(path: Path | str) -> NodeFolder:
        """The folder at ``path``, one instance per path in a process whether it is named by
        a string (a task's) or a ``Path`` (the layout's): its parts are computed once, not at
        every run nor once for each caller."""
        return _folder_at(str(path))

    @cached_property
    def code(self) -> Path:
        return self.path / "code"

    @cached_property
    def data(self) -> Path:
        return self.path / "data"

    @cached_property
    def reports(self) -> Path:
        return self.path / "reports"

    @cached_property
    def logs(self) -> Path:
        return self.path / "logs"

    @cached_property
    def pyproject(self) -> Path:
        return self.code / "pyproject.toml"

    @cached_property
    def lock(self) -> Path:
        return self.code / "uv.lock"

    @cached_property
    def params_file(self) -> Path:
        return self.code / "params.yaml"

    @cached_property
    def venv(self) -> Path:
        return self.code / ".venv"

    @cached_property
    def python(self) -> Path:
        """The interpreter of the node's own environment."""
        return self.venv / "bin" / "python"

    @cached_property
    def fingerprint_cache(self) -> Path:
        """Stat cache of file hashes for this node's code and outputs."""
        return self.path / ".fingerprint-cache.json"

    def make_output_dirs(self) -> None:
        for directory in (self.data, self.reports, self.logs):
            if not directory.is_dir():  # a stat is cheaper than a refused mkdir
                directory.mkdir(parents=True, exist_ok=True)

    def has_data(self) -> bool:
        return self.data.is_dir() and any(self.data.iterdir())


@functools.cache  # one entry per node: sized to the workspace
def _folder_at(path: str) -> NodeFolder:
    return NodeFolder(Path(path))


@functools.cache
def template_text(name: str) -> str:
    """The text of the file ``name`` of ``workspace/templates`` (what a new node starts with)."""
    from importlib import resources  # only to make a node: not on a read or a run's path

    return resources.files("nodepipe.workspace.templates").joinpath(name).read_text("utf-8")


@functools.cache
def node_pyproject_text(python_version: str, shared_env: str | None = None) -> str:
    """The pyproject.toml of a new node: no dependencies yet, not a package, main.py entry
    (and the shared environment it uses, if any). Made once per process for each pair: a
    batch of many nodes writes the same text."""
    import tomlkit  # only to make a node: every command imports this module

    document = tomlkit.document()
    project = tomlkit.table()
    project.add("name", NODE_PROJECT_NAME)
    project.add("version", "0.0.0")
    project.add("requires-python", f">={python_version}")
    project.add("dependencies", tomlkit.array())
    document.add("project", project)
    tool = tomlkit.table(is_super_table=True)
    uv = tomlkit.table()
    uv.add("package", False)
    tool.add("uv", uv)
    nodepipe = tomlkit.table()
    nodepipe.add("entry", ENTRY_POINT)
    if shared_env is not None:
        nodepipe.add("shared-env", shared_env)
    tool.add("nodepipe", nodepipe)
    document.add("tool", tool)
    return tomlkit.dumps(document)


def write_new_node_folder(
    folder: NodeFolder, python_version: str, shared_env: str | None = None
) -> None:
    """Write the skeleton of a fresh node (no lock, no environment yet) into ``folder``."""
    folder.code.mkdir(parents=True)
    folder.make_output_dirs()
    (folder.code / ENTRY_POINT).write_text(template_text("main.py.template"), encoding="utf-8")
    folder.params_file.write_text(template_text("params.yaml"), encoding="utf-8")
    text = node_pyproject_text(python_version, shared_env)
    folder.pyproject.write_text(text, encoding="utf-8")


def copy_node_folder(source: NodeFolder, target: NodeFolder, with_data: bool) -> None:
    """Copy code, lock and links (never ``.venv``); with ``with_data`` also data/ and reports/."""
    shutil.copytree(source.code, target.code, ignore=COPY_IGNORED, symlinks=True)
    if (source.path / LINKS_FILE).is_file():  # a copy imports from the same bundle code
        shutil.copyfile(source.path / LINKS_FILE, target.path / LINKS_FILE)
    if with_data:
        for name in ("data", "reports"):
            src = source.path / name
            if src.is_dir():
                shutil.copytree(src, target.path / name, symlinks=True, ignore=special_entries)
    target.make_output_dirs()


def clear_data(folder: NodeFolder) -> None:
    """Delete the node's outputs in data/ (reports and logs stay); a link or a file put in
    data/'s place is removed, never what a link leads to."""
    if folder.data.is_symlink() or folder.data.is_file():
        folder.data.unlink()
    elif folder.data.exists():
        shutil.rmtree(folder.data)
    folder.data.mkdir(parents=True)
