"""Local folders a node's ``pyproject.toml`` requires by a ``file:`` URL (PEP 508).

```toml
[project]
dependencies = ["mytool @ file:///home/me/src/mytool"]   # written by hand, no [tool.uv.sources]
```

uv installs such a folder as it installs ``env add --path DIR`` (built, not editable, locked as
``source = { directory = … }``), so it is external code like a ``--path`` package
(``workspace.external_code``): hashed into the fingerprint, checked present, rebuilt when it
changed. A ``file:`` URL to an archive (a wheel, an sdist) names no folder and is not one.
Only requirements that mention ``file:`` are parsed (with ``packaging``): an ordinary status
imports nothing for this.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")


def names_archive(path: str) -> bool:
    """Whether ``path`` names a built or source distribution (a wheel, an sdist), not a
    folder: its content is pinned by the hash ``uv.lock`` records, like an index package's."""
    return path.lower().endswith(_ARCHIVES)


PROJECT_ROOT = "${PROJECT_ROOT}"
"""What uv (and pip) replace by the project's folder in a ``file:`` URL."""


def folder_references(data: dict[str, Any]) -> dict[str, str]:
    """Package -> the folder (as a path: absolute, or relative to ``code/``) that a parsed
    ``pyproject.toml`` requires by a ``file:`` URL in ``[project] dependencies`` or in a
    dependency group (uv syncs the ``dev`` group by default)."""
    found: dict[str, str] = {}
    for text in _requirements(data):
        if "file:" in text and "@" in text:
            reference = _folder_reference(text)
            if reference is not None:
                found.setdefault(*reference)
    return found


def _requirements(data: dict[str, Any]) -> list[str]:
    project = data.get("project", {})
    lists = [project.get("dependencies", [])] if isinstance(project, dict) else []
    groups = data.get("dependency-groups", {})
    lists += list(groups.values()) if isinstance(groups, dict) else []
    return [t for found in lists if isinstance(found, list) for t in found if isinstance(t, str)]


def _folder_reference(text: str) -> tuple[str, str] | None:
    from packaging.requirements import InvalidRequirement, Requirement  # only for file: URLs

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None  # uv says so when it locks
    url = requirement.url or ""
    rooted = f"file://{PROJECT_ROOT}"
    if url.startswith(rooted):  # file://${PROJECT_ROOT}/../mytool: relative to code/
        path = "." + unquote(url[len(rooted) :])
    else:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return None
        path = unquote(parts.path)
    if not path or names_archive(path):
        return None
    return requirement.name, path
