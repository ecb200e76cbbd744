"""`nodepipe doctor --objects`: the size of the run object store (``.nodepipe/objects``: the
code and locks each node run started with), what in it no run record names, and collecting it;
the contents that no longer hash to their names (damaged), and setting them aside (``repair``),
so that the next run of the node that recorded one stores it anew.

Kept are the code manifests and locks of every recorded environment, and every file those
manifests name. What no record names any more (the runs of a removed node, of a removed
pipeline) is unreferenced. ``keep`` also prunes: each node keeps the environments of its
newest ``keep`` node runs; older ones are marked pruned in the store (the run and its state
stay; `env restore`/`node restore` of them say the environment was pruned) and their contents
become unreferenced. Only contents older than ``grace`` seconds are collected, and none
written or touched since the oldest run still running began (less ``LIVE_MARGIN_SECONDS``):
a run records what it starts with before the store names it (a batch later), so a run
recording right now loses nothing, whatever the grace. The store is pruned in one transaction
before anything is removed, so a collection killed at any moment never removes what a kept
record names.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

from nodepipe.domain.errors import InvalidInputError, NodepipeError
from nodepipe.domain.runs import RunStatus
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.upkeep.crash_recovery import recover_after_crash
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.layout import WorkspaceLayout
from nodepipe.workspace.object_collect import collect, settle_leftovers, survey
from nodepipe.workspace.objects import ObjectStore

DEFAULT_GRACE_SECONDS = 3600.0
LIVE_MARGIN_SECONDS = 60.0
"""Contents touched this long before a live run began are left too: a process touches a
content again only once a second (``objects``), and a run records before its claim's clock."""


@dataclass(frozen=True, slots=True)
class ObjectsReport:
    """What the object store holds, and what was (or would be) collected."""

    root: str
    contents: int
    bytes: int
    referenced: int
    unreferenced: int
    unreferenced_bytes: int
    too_recent: int
    """Unreferenced contents younger than the grace period: left alone."""
    pruned: tuple[str, ...]
    """Node runs whose environment is (or would be) pruned by ``keep``."""
    collected: bool
    damaged: tuple[str, ...] = ()
    """Contents (their digests) that no longer hash to their names."""
    set_aside: bool = False
    """Whether the damaged contents were moved into the store's ``damaged/`` folder."""


def _oldest_live_run(context: WorkspaceContext) -> float:
    """When the oldest run the store calls running began (its contents may not be named
    yet); infinity when none runs."""
    with context.store.light_read() as session:
        live = session.runs_with_status(RunStatus.RUNNING)
    return min((run.created_at.timestamp() for run in live), default=math.inf)


def examine_objects(
    context: WorkspaceContext,
    keep: int | None = None,
    collect_now: bool = False,
    grace: float = DEFAULT_GRACE_SECONDS,
    repair: bool = False,
) -> ObjectsReport:
    """Report on the object store; with ``collect_now``, prune beyond ``keep`` and remove the
    unreferenced contents older than ``grace`` seconds; with ``repair``, set the damaged
    contents aside (every content is hashed)."""
    if grace < 0:
        raise InvalidInputError("--grace is a number of seconds, 0 or more")
    if keep is not None and keep < 1:
        raise InvalidInputError("--keep is at least 1: the newest run of each node is kept")
    if collect_now:  # runs whose process died are settled first: they hold nothing back
        recover_after_crash(context)
    objects = ObjectStore(context.layout.objects_dir)
    damaged = _damaged(objects, repair)
    older_than = min(time.time() - grace, _oldest_live_run(context) - LIVE_MARGIN_SECONDS)
    if collect_now:
        settle_leftovers(objects.root, older_than)
    with context.store.write() if collect_now else context.store.read() as session:
        beyond = session.environments_beyond(keep) if keep is not None else []
        pruned = [node_run for node_run, _run, _node in beyond]
        if collect_now and pruned:
            session.prune_environments(pruned)
        codes, locks = session.kept_environments(() if collect_now else pruned)
    crash_point("objects.pruned")
    named = _named(objects, codes, strict=collect_now) | locks
    contents = list(survey(objects.root))
    unreferenced = [c for c in contents if c.digest not in named]
    old = [c for c in unreferenced if c.modified < older_than]
    if collect_now:
        for content in old:
            collect(content, older_than)
    return ObjectsReport(
        str(objects.root),
        len(contents),
        sum(c.size for c in contents),
        len(contents) - len(unreferenced),
        len(old),
        sum(c.size for c in old),
        len(unreferenced) - len(old),
        tuple(pruned),
        collect_now,
        damaged,
        repair and bool(damaged),
    )


def _damaged(objects: ObjectStore, repair: bool) -> tuple[str, ...]:
    """The contents that no longer hash to their names, set aside with ``repair`` (before
    anything reads them: a damaged manifest is then unknown, not a stop of the collection)."""
    found = tuple(c.digest for c in survey(objects.root) if objects.is_damaged(c.digest))
    if repair:
        for digest in found:
            objects.set_aside(digest)
    return found


def store_size(layout: WorkspaceLayout) -> int:
    """Bytes the object store holds (what `doctor` reports beside outputs and environments)."""
    return sum(c.size for c in survey(layout.objects_dir))


def _named(objects: ObjectStore, codes: set[str], strict: bool) -> set[str]:
    """The manifests ``codes`` and every file they name; a manifest that cannot be read stops
    the collection (``strict``: what it names is not known, so nothing may be removed), and
    is passed over by a report (which names the damaged contents)."""
    named = set(codes)
    for code in codes:
        try:
            manifest = json.loads(objects.read(code))
        except (NodepipeError, ValueError) as exc:
            if not strict:
                continue
            raise InvalidInputError(
                f"cannot read the recorded code manifest {code[:12]}: {exc}; nothing was "
                "collected (what it names is unknown)"
            ) from None
        files = manifest.get("files", {}) if isinstance(manifest, dict) else {}
        named.update(str(digest) for digest in files.values())
    return named
