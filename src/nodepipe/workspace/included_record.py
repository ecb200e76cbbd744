"""The part of an include's record (``<node>/.included-code``) that lower layers keep in step.

``services.bundles.included_code`` writes and reads the record: each file of the node's
``code/`` as installed, by its mode and the sha256 of its bytes (``file_entry``). When nodepipe
itself rewrites a file the record covers (a relock before a run, ``follow_own_rewrite``), the
record follows, so that the node does not look edited by hand; an entry that no longer
matched what was there before (an edit) is left as it is.
"""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

from nodepipe.workspace.durable import write_atomic

INCLUDED_CODE = ".included-code"
"""Beside a node's ``code/``: what an include installed in it."""


def file_entry(path: Path) -> str:
    """A regular file's entry in the record: its mode (octal) and the sha256 of its bytes."""
    info = path.lstat()
    return f"{stat.S_IMODE(info.st_mode):o}:{hashlib.sha256(path.read_bytes()).hexdigest()}"


def follow_own_rewrite(code_dir: Path, name: str, before: bytes | None) -> None:
    """``code_dir/name`` was rewritten by nodepipe (it held ``before``): if the node's record
    had it as it was, record it as it is now. Nothing when there is no record, the record
    had another version (an edit made here stays one) or it cannot be read."""
    record = code_dir.parent / INCLUDED_CODE
    path = code_dir / name
    if code_dir.name != "code" or before is None or not record.is_file() or not path.is_file():
        return
    try:
        found = json.loads(record.read_text(encoding="utf-8"))
        files = found["files"]
        was = files[name]
        if not isinstance(was, str):
            return
        if was.partition(":")[2] != hashlib.sha256(before).hexdigest():
            return
        files[name] = file_entry(path)
    except (OSError, ValueError, KeyError, TypeError):
        return
    write_atomic(record, json.dumps(found, sort_keys=True, indent=1) + "\n")
