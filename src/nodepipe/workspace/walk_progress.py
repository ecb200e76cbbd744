"""Telling someone how a long walk of external code goes, and how big an external folder is.

A node's external code (a shared checkout, a ``--path`` project, a code path) is walked and
hashed at every check (``workspace.code_trees``, ``workspace.file_digests``). A huge one (a
code path of ``/usr``, ``--shared ~`` by mistake) makes each ``status`` take seconds to
minutes, so:

- while a reporter is installed (``reporting``: the CLI's ``status`` and ``run`` on a terminal),
  those walks tell it what they are doing ("hashing external code /usr: 40,000 files…"); with
  none installed (the usual case, and the web app) they pay one ``None`` test per folder;
- adding external code counts its files first as the walk would take them (``.gitignore``
  honoured), stopping above ``MAX_EXTERNAL_FILES``: ``check_external_size`` refuses a bigger
  folder unless the user says it is meant (``large``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nodepipe.domain.errors import Action, Hint, InvalidInputError
from nodepipe.workspace.code_trees import EXTERNAL, WALK_REPORTERS, Reporter, scan

MAX_EXTERNAL_FILES = 20_000
"""Above this many files an external folder is refused when added, unless meant (``large``)."""


@contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Tell ``reporter`` about walks of external code while the block runs (the registry
    lives in ``code_trees``, which every check imports anyway)."""
    WALK_REPORTERS.append(reporter)
    try:
        yield
    finally:
        WALK_REPORTERS.remove(reporter)
        reporter(None)


def check_external_size(folder: Path, node: str, source: str, large: bool) -> None:
    """Refuse (InvalidInputError) to add ``folder`` to node ``node`` as external code
    (``source``: ``code-path``, ``shared`` or ``path``) when it holds more than
    ``MAX_EXTERNAL_FILES`` files as a fingerprint walks it, unless ``large``: every status
    would walk and hash them all. A folder on a kernel filesystem (procfs, sysfs, devtmpfs:
    ``special_filesystems``) is refused even with ``large``, before any walk."""
    from nodepipe.workspace.special_filesystems import check_regular_tree  # adding only

    check_regular_tree(folder, str(folder))  # /proc, /sys, /dev: not even with large
    if large:
        return
    files = len(scan(folder, EXTERNAL, stop_above=MAX_EXTERNAL_FILES).files)
    if files > MAX_EXTERNAL_FILES:
        raise InvalidInputError(
            f"{folder} holds more than {MAX_EXTERNAL_FILES:,} files (its .gitignore honoured): "
            f"as {_KINDS[source]}, every status and run would read and hash them all",
            hint=_large_hint(folder, node, source),
        )


_KINDS = {"code-path": "a code path", "shared": "a shared checkout", "path": "a local path"}


def _large_hint(folder: Path, node: str, source: str) -> Hint:
    params = {"folder": str(folder), "node": node}
    if source == "code-path":
        return Hint(Action.CODE_PATH_LARGE, params)
    return Hint(Action.EXTERNAL_LARGE, {**params, "source": source})
