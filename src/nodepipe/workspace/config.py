"""The workspace config file ``nodepipe.toml``: reading, writing and defaults."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from nodepipe.domain.errors import WorkspaceError
from nodepipe.workspace.layout import WorkspaceLayout

DB_URL_ENV = "NODEPIPE_DB_URL"


@dataclass(frozen=True, slots=True)
class WorkspaceConfig:
    """``store_url`` may be relative (``sqlite:///.nodepipe/store.sqlite``) to the workspace."""

    store_url: str
    python: str

    def resolved_store_url(self, layout: WorkspaceLayout) -> str:
        """The store URL with a relative SQLite path made absolute; NODEPIPE_DB_URL overrides."""
        url = os.environ.get(DB_URL_ENV) or self.store_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            return prefix + str(layout.root / url.removeprefix(prefix))
        return url


def default_interpreter() -> str:
    """The base interpreter running nodepipe (not a venv's, and never a pyenv shim)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / version
    return str(candidate if candidate.exists() else Path(sys.executable).resolve())


def write_config(layout: WorkspaceLayout, config: WorkspaceConfig) -> None:
    document = tomlkit.document()
    document.add(tomlkit.comment("nodepipe workspace; see `nodepipe --help`"))
    store = tomlkit.table()
    store.add("url", config.store_url)
    document.add("store", store)
    python = tomlkit.table()
    python.add("interpreter", config.python)
    document.add("python", python)
    layout.config_file.write_text(tomlkit.dumps(document), encoding="utf-8")


def read_config(layout: WorkspaceLayout) -> WorkspaceConfig:
    try:
        data = tomlkit.parse(layout.config_file.read_text(encoding="utf-8")).unwrap()
    except (OSError, tomlkit.exceptions.TOMLKitError) as exc:
        raise WorkspaceError(f"cannot read {layout.config_file}: {exc}") from exc
    try:
        return WorkspaceConfig(
            store_url=str(data["store"]["url"]), python=str(data["python"]["interpreter"])
        )
    except (KeyError, TypeError) as exc:
        raise WorkspaceError(
            f"{layout.config_file} lacks {exc}; expected [store] url and [python] interpreter"
        ) from exc
