"""The files a node run leaves in its node's ``logs/`` folder besides its own log.

``context.json`` (what ``NODEPIPE_CONTEXT`` names) and ``latest.log`` (a second name of the
newest run's log). Both are written without creating a file when nothing changed: creating
files is what costs most on a busy filesystem.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.file_state import FileState, file_state_or_none, latest_per_key
from nodepipe.workspace.kept_facts import facts_for, now_ns, settled

CONTEXT_FILE = "context.json"
_WRITTEN_FACT = "holds"
"""The kind of ``kept_facts`` entry: the sha256 of the text a file holds, by its path."""


def write_if_changed(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` unless it already holds exactly that.

    The context of a node rarely changes between runs; not rewriting it spares the
    filesystem a file creation per node run. A process that has not read the file yet takes
    its digest from the facts an earlier one kept by the file's state (``kept_facts``).
    """
    state = file_state_or_none(path)
    if state is None:
        write_atomic(path, text, durable=False)  # rewritten at the node's next run if lost
        return
    facts = facts_for(str(path.parent.parent))
    states = [[*state]]
    digest = hashlib.sha256(text.encode()).hexdigest()
    if facts is not None and facts.get(_WRITTEN_FACT, state[0], states) == digest:
        return
    began = now_ns()
    with contextlib.suppress(OSError, ValueError):
        if _text_at(state) == text:
            if facts is not None and settled((state[1], state[4]), began):
                facts.put(_WRITTEN_FACT, state[0], states, digest)
            return
    write_atomic(path, text, durable=False)


@latest_per_key(lambda state: state[0])
def _text_at(state: FileState) -> str:
    """A file's text as it was in ``state``: read again only once the file changed."""
    return Path(state[0]).read_text(encoding="utf-8")


def point_latest_log(log_file: Path) -> None:
    """``logs/latest.log`` becomes a second name of this run's log file (replaced atomically).

    A hard link, not a symlink: it creates no new file, which is what costs on a busy
    filesystem, and ``tail -f`` on it follows the run all the same.
    """
    logs, _, name = str(log_file).rpartition("/")  # strings: once a node run
    latest, temporary = f"{logs}/latest.log", f"{logs}/.latest-{name.removesuffix('.log')}"
    try:
        os.link(log_file, temporary)
    except FileExistsError:  # left by a crash
        os.unlink(temporary)  # noqa: PTH108 (str paths, see above)
        os.link(log_file, temporary)
    os.replace(temporary, latest)  # noqa: PTH105
