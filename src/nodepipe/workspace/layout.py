"""Where everything of a workspace lives on disk, in one place.

```
<root>/nodepipe.toml          config (store URL, default interpreter)
<root>/.nodepipe/store.sqlite the embedded store (when SQLite)
<root>/.nodepipe/workspace-id the workspace's id, the same as its store's (services.identity)
<root>/.nodepipe/store-password the PostgreSQL store's password, if it has one (mode 0600)
<root>/.nodepipe/backups/     copies of the store made by `nodepipe backup`
<root>/.nodepipe/rebuilding   there while a `doctor --rebuild` has not given its new store the
                              node folders (``rebuild_mark``)
<root>/.nodepipe/uv-cache/    the uv cache shared by every node (same filesystem: hard links)
<root>/.nodepipe/staging/     folders being built; moved into nodes/ only when complete
<root>/.nodepipe/objects/     locks and code files node runs ran with, once each by sha256
<root>/.nodepipe/cache/       node checks kept across processes, one file per OS user (0700)
<root>/.nodepipe/undone-edits/ code of edited nodes an include update deleted (never removed)
<root>/.nodepipe/included-libs/ what each lib (libs/<id>/) held as an include installed it
<root>/nodes/<node-id>/       one folder per node
```
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.ids import looks_like_id
from nodepipe.domain.names import validate_name
from nodepipe.workspace.node_folder import NodeFolder

CONFIG_FILE_NAME = "nodepipe.toml"
STATE_DIR_NAME = ".nodepipe"


@dataclass(frozen=True, slots=True)
class WorkspaceLayout:
    """Where each part of the workspace rooted at ``root`` lives on disk."""

    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE_NAME

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR_NAME

    @property
    def default_store_file(self) -> Path:
        return self.state_dir / "store.sqlite"

    @property
    def identity_file(self) -> Path:
        """The workspace's id, the same as its store's (``services.identity``)."""
        return self.state_dir / "workspace-id"

    @property
    def store_password_file(self) -> Path:
        return self.state_dir / "store-password"

    @property
    def rebuild_mark(self) -> Path:
        """There while a ``doctor --rebuild`` has made a store it has not yet given the node
        folders (``workspace.rebuild_mark``)."""
        return self.state_dir / "rebuilding"

    @property
    def backups_dir(self) -> Path:
        return self.state_dir / "backups"

    @property
    def uv_cache_dir(self) -> Path:
        return self.state_dir / "uv-cache"

    @property
    def conda_cache_dir(self) -> Path:
        """Extracted conda packages, hard-linked into node prefixes (``envs.conda``)."""
        return self.state_dir / "conda-pkgs"

    @property
    def staging_dir(self) -> Path:
        return self.state_dir / "staging"

    @property
    def objects_dir(self) -> Path:
        """Contents node runs ran with (locks, code files), once each (``workspace.objects``)."""
        return self.state_dir / "objects"

    @property
    def lock_cache_dir(self) -> Path:
        """Locks of pristine node environments, reused so a new node needs no resolution."""
        return self.state_dir / "lock-cache"

    @property
    def shared_envs_dir(self) -> Path:
        """Named environments that nodes may share instead of having their own."""
        return self.state_dir / "envs"

    def shared_env_dir(self, name: str) -> Path:
        return self.shared_envs_dir / validate_name(name, "shared environment name")

    @property
    def nodes_dir(self) -> Path:
        return _below(self.root, "nodes")

    def node_dir(self, node_id: str) -> Path:
        """The folder of node ``node_id``; refuses anything that is not an id."""
        return _node_dir(self.nodes_dir, node_id)

    def node_folder(self, node_id: str) -> NodeFolder:
        """The node folder of ``node_id`` (the same instance each time in a process)."""
        return NodeFolder.at(self.node_dir(node_id))

    def create_directories(self) -> None:
        for directory in (self.state_dir, self.uv_cache_dir, self.staging_dir, self.nodes_dir):
            directory.mkdir(parents=True, exist_ok=True)


@functools.cache  # one entry per node: sized to the workspace
def _below(folder: Path, name: str) -> Path:
    """``folder / name``, remembered: a run looks up every node's folder many times."""
    return folder / name


@functools.cache  # one entry per node: sized to the workspace
def _node_dir(nodes_dir: Path, node_id: str) -> Path:
    if not looks_like_id(node_id):
        raise InvalidInputError(f"{node_id!r} is not a node id")  # not remembered: raised anew
    return nodes_dir / node_id


def find_workspace_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding a ``nodepipe.toml``, like git."""
    current = start.resolve()
    for candidate in (current, *current.parents):
        if (candidate / CONFIG_FILE_NAME).is_file():
            return candidate
    return None


def folder_identity(layout: WorkspaceLayout) -> str | None:
    """The id the workspace folder carries (``.nodepipe/workspace-id``), or None while it
    carries none (or a file a disk fault left that holds no id: the store's is written
    again)."""
    try:
        with layout.identity_file.open("rb") as handle:
            text = handle.read(64).decode("ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    return text if looks_like_id(text) else None
