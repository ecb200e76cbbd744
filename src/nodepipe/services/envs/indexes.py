"""``env index``: a node takes packages from a private index (``[[tool.uv.index]]``).

The index is the one given, or the workspace default (``[index]`` of ``nodepipe.toml``:
``url``, ``name``, ``default``). It is added to the node's ``pyproject.toml`` by name (an index
of the same name is replaced) and the node relocked, all or nothing (``envs.edits``): an index
that cannot be reached, or that lacks what the lock needs, leaves the node as it was. The index
itself is not contacted: only the relock reaches it, for what it has to resolve, so a node with
nothing to resolve yet takes an index that is offline now (configuration may come before the
network; the README says so); the first lock that needs it says it cannot be reached.
Credentials never go in the file: a URL with a password is refused; uv reads them from
``UV_INDEX_<NAME>_USERNAME`` and ``UV_INDEX_<NAME>_PASSWORD``, netrc or the keyring.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from nodepipe.domain.arguments import text_of
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.toml_limits import load_toml
from nodepipe.workspace.node_project import set_index

if TYPE_CHECKING:
    from nodepipe.services.envs.environments import EnvironmentService, EnvironmentView

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def credential_variables(name: str) -> tuple[str, str]:
    """The variables uv reads the index ``name``'s username and password from."""
    stem = "UV_INDEX_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
    return f"{stem}_USERNAME", f"{stem}_PASSWORD"


def check_index(url: str, name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInputError(f"{name!r} is not an index name (letters, digits, '.', '-', '_')")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.path):
        raise InvalidInputError(f"{url!r} is not an index URL (http://, https:// or file://)")
    if parts.password is not None:
        user, password = credential_variables(name)
        raise InvalidInputError(
            f"the index URL holds a password, which would be written into the node's files: "
            f"give the URL without it and set {user} and {password} (or use netrc or keyring)"
        )


def workspace_index(config_file: Path) -> tuple[str, str, bool]:
    """The ``[index]`` of the workspace's ``nodepipe.toml``: its URL, name and ``default``."""
    try:
        table = load_toml(config_file.read_text(encoding="utf-8")).get("index")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"cannot read {config_file.name}: {exc}") from None
    if not isinstance(table, dict):
        raise InvalidInputError(
            "give the index URL and its name, or set a workspace default in nodepipe.toml: "
            '[index] url = "https://…/simple/", name = "team" (default = true to replace PyPI)'
        )
    url, name, default = table.get("url"), table.get("name"), table.get("default", False)
    if not isinstance(url, str) or not isinstance(name, str) or not isinstance(default, bool):
        raise InvalidInputError(
            "nodepipe.toml [index]: url and name must be strings, default true or false"
        )
    return url, name, default


def add_index(
    service: EnvironmentService,
    name: str,
    url: str | None,
    index_name: str | None,
    default: bool = False,
    pipeline: str | None = None,
) -> EnvironmentView:
    """Make node ``name`` take packages from ``url`` too (``default``: instead of PyPI);
    without ``url``, the workspace's ``[index]`` of ``nodepipe.toml``."""
    for value, what in ((url, "the index's URL"), (index_name, "the index's name")):
        if value is not None:
            text_of(value, what)
    if url is None:
        url, workspace_name, workspace_default = workspace_index(service.context.layout.config_file)
        index_name = index_name or workspace_name
        default = default or workspace_default
    if index_name is None:
        raise InvalidInputError("give the index a name")
    check_index(url, index_name)
    node, code = service.node_code(name, pipeline)
    environments = service.context.environments

    def edit() -> None:
        set_index(code / "pyproject.toml", index_name, url, default)
        environments.lock(code)

    environments.change(code, edit)
    return service.show(node.id)
