"""The canvas's GET of a pipeline answered again from the bytes of the last one, while nothing
it was built from changed, and a weak ETag so a page that has those bytes gets a 304.

A pipeline's answer (its graph, each node with its computed state) is built from the store and
the node folders. At 10,000 nodes building it costs about 0.3 s of CPU; the page asks again
after every change event, and several pages ask. An answer is served again only when, at the
moment of the request:

- the watcher of the node folders has told every change made before it (the memo's fence,
  ``FolderMemo.catch_up``), and told none since the answer was built (``FolderMemo.generation``);
- every node's check in the answer was one the memo keeps, still trusted (``vouched_until``):
  a node whose check reads files outside its ``code/`` (linked libraries, a shared checkout, a
  path package, a symbolic link, a file with another hard link), a node that failed its check,
  or a check older than ``TRUST_SECONDS`` makes the next request build again;
- nothing was committed to the store since (``Store.changes``: any write of any process, a run's
  progress, an edit through the CLI, the API or the Python API).

Anything else builds the answer again, from the last one: ``build`` is given what the last
build returned to keep (the web app keeps the view and its written parts, and recomputes only
what the change reaches: ``services.graph.view_updates``), and whether the store's token is still
the one read before the last build (then nothing was committed since: what the last build read
from the store is what it would read again). Its ETag stays the same when the new
bytes are the same (a rebuild that finds nothing changed still earns the page a 304). ETags
carry a random prefix made when the server starts: a page never matches the answer of an
earlier server.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from nodepipe.workspace.folder_memo import FolderMemo

KEPT_PIPELINES = 8
"""Answers kept at once (the most recently asked pipelines; each is its JSON, ~5 MB at 10,000)."""

Kept = TypeVar("Kept")
"""What a build keeps for the next build of the same pipeline."""

Build = Callable[[bool, Kept | None, bool], tuple[bytes, Collection[str], Kept]]
"""Builds an answer, told whether the memo caught up, given what the last build of the pipeline
kept (None: there is none) and told whether nothing was committed to the store since that build
began; returns its JSON, its nodes' ids and what to keep."""


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes
    etag: str
    """A weak entity tag (``W/"…"``)."""

    def matches(self, if_none_match: str | None) -> bool:
        """Whether a request's ``If-None-Match`` names this answer (weak comparison)."""
        if not if_none_match:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or self.etag.removeprefix("W/") in tags


@dataclass(frozen=True, slots=True)
class _Entry(Generic[Kept]):
    answer: Answer
    kept: Kept
    token: Hashable
    """The store's token read before it was built."""
    stamp: Hashable
    """The store's token and the memo's generation when it was built (None: not reusable)."""
    until: float
    """``time.monotonic()`` after which its node checks are no longer trusted."""


class PipelineAnswers(Generic[Kept]):
    """The last answer of each pipeline asked, by the name it was asked by (thread-safe)."""

    def __init__(self, store_token: Callable[[], Hashable], memo: FolderMemo) -> None:
        self._store_token = store_token
        self._memo = memo
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry[Kept]] = OrderedDict()
        self._prefix = secrets.token_hex(4)
        self._built = 0

    def answer(self, pipeline: str, build: Build[Kept]) -> Answer:
        """The current answer for ``pipeline``: the last one when nothing changed, else
        ``build``'s."""
        caught_up = self._memo.catch_up()
        generation = self._memo.generation
        token = self._store_token()
        stamp = (token, generation) if caught_up else None
        with self._lock:
            kept = self._entries.get(pipeline)
        if (
            kept is not None
            and stamp is not None
            and kept.stamp == stamp
            and time.monotonic() < kept.until
        ):
            return kept.answer
        if kept is None:
            body, node_ids, keep = build(caught_up, None, False)
        else:
            body, node_ids, keep = build(caught_up, kept.kept, kept.token == token)
        until = self._memo.vouched_until(node_ids, generation) if stamp is not None else None
        with self._lock:
            kept = self._entries.get(pipeline)  # another request may have built meanwhile
            if kept is not None and kept.answer.body == body:
                answer = kept.answer
            else:
                self._built += 1
                answer = Answer(body, f'W/"{self._prefix}-{self._built}"')
            self._entries[pipeline] = _Entry(
                answer, keep, token, stamp, until if until is not None else 0.0
            )
            self._entries.move_to_end(pipeline)
            while len(self._entries) > KEPT_PIPELINES:
                self._entries.popitem(last=False)
        return answer
