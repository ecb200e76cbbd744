"""Bundle code in the workspace: a bundle's ``py-dir`` copied once, linked from its nodes.

```
<workspace>/libs/<lib-id>/      the files of one bundle's py-dir, as imported (or updated)
<workspace>/nodes/<id>/links.toml  which libs the node's code imports from
```

``links.toml`` lies beside ``code/`` (not in it): it is the workspace's wiring, not the node's
code, so an export never carries it. It reads::

    [libs]
    lib = "3fk2m9qa"   # the py-dir as the bundle names it → the lib's id

A linked lib is on the node process's import path (``import_dirs``), and its files enter the
node's fingerprint as ``lib::features.py`` (``workspace.fingerprint``), so editing one makes
exactly the nodes linking it stale, with the file named. A link naming anything but a lib of
this workspace is ignored (the link file is nodepipe's, but it is plain text on disk).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.ids import looks_like_id
from nodepipe.domain.staleness import SHARED_CODE_SEPARATOR
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.node_folder import LINKS_FILE, NodeFolder

LIBS_DIR = "libs"


@dataclass(frozen=True, slots=True)
class LibLink:
    """A lib a node imports from: its name in the bundle (the py-dir) and its folder."""

    name: str
    lib_id: str
    path: Path


def libs_dir_of(folder: NodeFolder) -> Path:
    """The workspace's libs folder, seen from a node folder (``<root>/nodes/<id>``)."""
    return folder.path.parent.parent / LIBS_DIR


def links_file(folder: NodeFolder) -> Path:
    return folder.path / LINKS_FILE


def read_links(folder: NodeFolder) -> tuple[LibLink, ...]:
    """The libs node ``folder`` links, by name; none when it has no (readable) links file."""
    try:
        data = tomllib.loads(links_file(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    libs = data.get("libs")
    if not isinstance(libs, dict):
        return ()
    root = libs_dir_of(folder)
    return tuple(
        LibLink(name, lib_id, root / lib_id)
        for name, lib_id in sorted(libs.items())
        if isinstance(lib_id, str) and looks_like_id(lib_id) and _safe_name(name)
    )


def write_links(folder: NodeFolder, libs: Mapping[str, str]) -> None:
    """Link node ``folder`` to ``libs`` (name → lib id); no libs removes the links file."""
    if not libs:
        links_file(folder).unlink(missing_ok=True)
        return
    import tomlkit  # only to write (reading is tomllib's): fingerprinting imports this module

    document = tomlkit.document()
    document.add(tomlkit.comment("written by nodepipe: the bundle code this node imports from"))
    table = tomlkit.table()
    for name, lib_id in sorted(libs.items()):
        table.add(name, lib_id)
    document.add("libs", table)
    write_atomic(links_file(folder), tomlkit.dumps(document), durable=False)


def import_dirs(folder: NodeFolder) -> tuple[str, ...]:
    """The folders a node process gets on its ``PYTHONPATH`` for its linked libs."""
    return tuple(str(link.path) for link in read_links(folder) if link.path.is_dir())


def _safe_name(name: str) -> bool:
    return bool(name) and SHARED_CODE_SEPARATOR not in name and ".." not in name
