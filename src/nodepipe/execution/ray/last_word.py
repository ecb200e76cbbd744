"""A cancelled Ray task's last word: what became of its node, left where the driver finds it.

Ray drops what a cancelled streaming task yielded that the driver had not read yet, and all it
yields after its cancellation (measured on Ray 2.60): the driver hears only
``TaskCancelledError``. A node whose process had started, killed before the driver read its
start (the worker's report of it still on its way, or the driver's thread behind under load),
then looked as if it had never started: its run said "cancelled before it started" while its
log said "killed on request". So a task that ``ray.cancel`` interrupts leaves, once its node
is stopped, the node's start (if its process started) and its outcome in the cluster's
key-value store, under the node run's id; the driver takes it (and deletes it) when it hears
of the cancellation. No word: Ray cancelled the task before a worker ran it.

The key-value store is Ray's internal one (the GCS's, which Ray's own libraries use), the one
place both sides of a cancelled task can still reach. Leaving and taking are best effort: a
store that cannot be reached loses the word, and the driver then knows no more than before.
"""

from __future__ import annotations

import contextlib
import pickle
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ray.experimental import internal_kv

from nodepipe.domain.runs import TaskOutcome

if TYPE_CHECKING:
    from nodepipe.execution.ray.worker import NodeStartedOnWorker

LOG_TAIL_BYTES = 64 * 1024
"""How much of the end of a shipped node's log a word carries (its last lines, the kill's)."""

NAMESPACE = "nodepipe"
"""The key-value store's namespace for nodepipe's words (Ray's own keys are elsewhere)."""


@dataclass(frozen=True, slots=True)
class LastWord:
    """What became of a node whose task was cancelled."""

    started: NodeStartedOnWorker | None
    """Its process's start, if it started (whether the driver heard it or not)."""
    outcome: TaskOutcome | None
    """How it ended, if the worker saw it end (None: its stop outlived the bounded wait)."""
    log_size: int = 0
    """On a worker without the shared filesystem: the size of the node's log there (0: a
    shared log), whose end the driver may not have received (``LOG_TAIL_BYTES`` of it follow)."""
    log_tail: bytes = b""
    """The last ``LOG_TAIL_BYTES`` of that log at most."""


def _key(node_run_id: str) -> bytes:
    return f"cancelled:{node_run_id}".encode()


def leave(node_run_id: str, word: LastWord) -> None:
    """On the worker, once the cancelled node is stopped: say what became of it."""
    with contextlib.suppress(Exception):  # best effort: the cancellation goes on regardless
        internal_kv._internal_kv_put(
            _key(node_run_id), pickle.dumps(word), overwrite=True, namespace=NAMESPACE
        )


def take(node_run_id: str) -> LastWord | None:
    """On the driver, once Ray said the task was cancelled: what its worker said, if anything
    (the word is deleted). Pickled by a worker of this cluster, which runs this program's code
    anyway."""
    try:
        key = _key(node_run_id)
        raw = internal_kv._internal_kv_get(key, namespace=NAMESPACE)
        if raw is None:
            return None
        internal_kv._internal_kv_del(key, namespace=NAMESPACE)
        word = pickle.loads(raw)
    except Exception:  # best effort: without it, the driver knows what it heard
        return None
    return word if isinstance(word, LastWord) else None
