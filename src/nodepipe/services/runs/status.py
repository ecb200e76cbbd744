"""What state each node of a pipeline is really in, and why: fingerprints against the store.

A completed node whose fingerprint changed is stale with the reasons ("code changed: main.py");
a node below a stale or never-run node is stale because of it ("parent 01 (clean) is stale").

The reasons are computed, never the stored ones repeated: a node stored ``stale`` says what its
fingerprint shows ("code changed: main.py"), not also the reason stored when it was marked; once
the change is undone (a parameter set back) it is completed again. Only a node marked stale by
hand or recovered by ``doctor --rebuild`` (``HELD_STALE_REASONS``), or one with no fingerprint
to compare, keeps its stored reason. Parents are named by tag,
also a parent that has since been removed from the pipeline or deleted.

A node that cannot be checked (its folder is missing, its pyproject.toml or params.yaml cannot
be read) is ``failed`` with that problem as its reason, and the nodes below it say so ("parent
01 (load) cannot run: cannot read …"); the other nodes are checked as usual.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nodepipe.domain.errors import NodepipeError
from nodepipe.domain.graph import topological_order
from nodepipe.domain.model import Edge, PipelineNode, PipelineView
from nodepipe.domain.staleness import (
    FORMAT_VERSION,
    HELD_STALE_REASONS,
    NodeFingerprint,
    ParentOutput,
    explain,
)
from nodepipe.domain.states import NodeState
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.file_state import latest_per_key
from nodepipe.workspace.fingerprint import SharedScans, fingerprint_and_scope
from nodepipe.workspace.folder_memo import FolderMemo
from nodepipe.workspace.node_config import NodeConfig, read_node_config

if TYPE_CHECKING:
    from nodepipe.store.light_read import LightReads


@dataclass(frozen=True, slots=True)
class NodeStatusView:
    """A node of a pipeline with its effective state and every reason for it."""

    item: PipelineNode
    state: NodeState
    reasons: tuple[str, ...]
    own_reasons: tuple[str, ...]
    fingerprint: NodeFingerprint | None
    """None when the node cannot be checked (see ``problem``)."""
    config: NodeConfig | None
    output_digest: str | None
    """Digest of the outputs of the node's last successful run (what its children read)."""
    problem: str | None = None
    """Why the node cannot be checked nor run (a missing folder, an unreadable file)."""
    problem_detail: str = ""
    """uv's full output behind ``problem``, when uv said it (for the node's log)."""

    @property
    def node_id(self) -> str:
        return self.item.node.id

    @property
    def tag(self) -> str:
        return self.item.node.tag


Stored = dict[str, tuple[str | None, str | None]]
"""Each node's stored fingerprint (its text) and output digest, by id."""


def compute_statuses(
    context: WorkspaceContext,
    session: LightReads,
    view: PipelineView,
    caught_up: bool | None = None,
    stored: Stored | None = None,
) -> dict[str, NodeStatusView]:
    """Effective states of every node of ``view``, parents before children. ``caught_up``:
    whether the caller just caught the web app's memo up with its watcher (None: do it here).
    ``stored``: the view's nodes' ``node_fingerprints`` when the caller read them in the same
    transaction (read here otherwise)."""
    if caught_up is None:
        caught_up = context.folder_memo.catch_up()
    if stored is None:
        stored = session.node_fingerprints(view.node_ids)
    checking = StatusPass(context, session, view, stored, caught_up)
    result = {
        node_id: checking.status(node_id)
        for node_id in topological_order(view.node_ids, view.edges)
    }
    checking.finish()
    return result


class StatusPass:
    """One computation of statuses in ``view``: what its nodes share (the stored fingerprints,
    tags, what each node's children say of it). ``status`` of a node needs its parents' done
    first (or ``as_parent`` given for them: the web app recomputes only what a change reaches,
    ``services.graph.view_updates``)."""

    def __init__(
        self,
        context: WorkspaceContext,
        session: LightReads,
        view: PipelineView,
        stored: dict[str, tuple[str | None, str | None]],
        caught_up: bool,
        as_parent: dict[str, str | None] | None = None,
    ) -> None:
        self.context = context
        self.view = view
        self.stored = stored
        self.tags = _Tags(session, {item.node.id: item.node.tag for item in view.nodes})
        self.origins = _include_origins(session, view.pipeline.id)
        """Where the code of each node an include brought comes from (reasons name it)."""
        self.as_parent: dict[str, str | None] = {} if as_parent is None else as_parent
        """What each node's children say of it (``parent_problem``), once a node."""
        self.scans: SharedScans = {}  # a checkout many nodes share is walked once per check
        self.memo = context.folder_memo if caught_up else None
        self._outputs: dict[str, ParentOutput] = {}
        """What each parent gives its children (one value a parent, not one an edge)."""

    @property
    def named_elsewhere(self) -> set[str]:
        """Nodes whose reasons named a node that is not one of their parents now (its tag can
        change with no change to them nor their parents)."""
        return self.tags.elsewhere

    def status(self, node_id: str) -> NodeStatusView:
        """The status of ``node_id`` (its parents' ``as_parent`` known)."""
        view, tags = self.view, self.tags
        item = view.node(node_id)
        inputs = view.inputs(node_id)
        upstream = [
            f"parent {e.slot} ({tags[e.parent_id]}) {problem}"
            for e in inputs
            if (problem := self.as_parent[e.parent_id]) is not None
        ]
        previous_json, digest = self.stored.get(node_id, _NOTHING_STORED)
        try:
            config, current = _check(
                self.context, node_id, self._parents(inputs), self.scans, self.memo
            )
        except NodepipeError as exc:
            problem = str(exc)
            reasons = tuple(dict.fromkeys([problem, *upstream]))
            status = NodeStatusView(
                item, NodeState.FAILED, reasons, (problem,), None, None, digest, problem
            )
        else:
            origin = self.origins.get(node_id)
            parents = tags.parents_of(node_id, inputs)
            own = _own_reasons(item, current, previous_json, parents, origin)
            state = _effective_state(item.node.state, own, upstream)
            reasons = tuple(dict.fromkeys([*own, *upstream])) if own or upstream else ()
            status = NodeStatusView(item, state, reasons, tuple(own), current, config, digest)
        self.as_parent[node_id] = parent_problem(status)
        return status

    def _parents(self, inputs: tuple[Edge, ...]) -> dict[str, ParentOutput]:
        """The node's inputs by slot: each parent's id and stored output digest."""
        made, parents = self._outputs, {}
        for edge in inputs:
            given = made.get(edge.parent_id)
            if given is None:
                digest = self.stored.get(edge.parent_id, _NOTHING_STORED)[1] or ""
                given = made[edge.parent_id] = ParentOutput(edge.parent_id, digest)
            parents[edge.slot] = given
        return parents

    def finish(self) -> None:
        """Write what the checks learnt to the cross-process check cache."""
        if self.context.check_cache is not None:
            self.context.check_cache.save()


_NOTHING_STORED: tuple[None, None] = (None, None)


def _check(
    context: WorkspaceContext,
    node_id: str,
    parents: dict[str, ParentOutput],
    scans: SharedScans,
    memo: FolderMemo | None,
) -> tuple[NodeConfig, NodeFingerprint]:
    """The node's settings and current fingerprint; a NodepipeError saying what is wrong when
    its folder is missing or a file cannot be read. With ``memo`` (the web app's, caught up
    with its watcher) a node whose folder did not change is not looked at again."""
    key = (
        tuple(sorted((slot, p.node_id, p.outputs) for slot, p in parents.items()))
        if memo is not None
        else ()
    )
    kept: tuple[NodeConfig, NodeFingerprint] | None = memo.get(node_id, key) if memo else None
    if kept is not None:
        return kept
    ticket = memo.ticket(node_id) if memo else None
    cache = context.check_cache
    found = cache.get(node_id, parents) if cache is not None else None
    if found is not None:
        if memo is not None:
            memo.keep(node_id, ticket, key, found)
        return found
    began = time.time_ns()
    folder = context.layout.node_folder(node_id)
    if not folder.path.is_dir():
        raise NodepipeError(f"its folder {folder.path} is missing; restore it, or remove the node")
    config = read_node_config(folder.pyproject)
    entry = " ".join(config.command) if config.command else config.entry
    try:
        current, inside = fingerprint_and_scope(
            folder, parents, entry, folder.fingerprint_cache, scans
        )
    except OSError as exc:
        raise NodepipeError(f"cannot read {exc.filename or folder.code}: {exc.strerror}") from exc
    if inside is not None:
        if memo is not None:
            memo.keep(node_id, ticket, key, (config, current))
        if cache is not None:
            cache.put(node_id, folder, inside, (config, current), began)
    return config, current


def _own_reasons(
    item: PipelineNode,
    current: NodeFingerprint,
    previous_json: str | None,
    tags: _Tags,
    origin: str | None = None,
) -> list[str]:
    node = item.node
    if node.state is NodeState.READY:
        return ["never ran"]
    if node.state in (NodeState.QUEUED, NodeState.RUNNING):
        return []
    if previous_json and _same_digest(node.id, previous_json, current.digest):
        computed: list[str] = []  # nothing changed: nothing to explain, no parent to name
        previous: NodeFingerprint | dict[str, Any] | None = {}
    else:
        previous = _stored_fingerprint(node.id, previous_json) if previous_json else None
        computed = (
            []
            if previous is None and node.state is not NodeState.COMPLETED
            else explain(previous, current, tags.naming(previous), origin)
        )
    if node.state is NodeState.STALE and previous is not None:
        held = node.state_reason in HELD_STALE_REASONS
        return computed or ([node.state_reason] if held else [])
    if node.state in (NodeState.FAILED, NodeState.CANCELLED, NodeState.STALE):
        return [node.state_reason or node.state.value, *computed]
    return computed


class _Tags(dict[str, str]):
    """Tags of the view's nodes; ``naming`` adds those of the parents a stored fingerprint
    names that the view no longer shows (a deleted one is named as such), read only for a
    node whose fingerprint changed. ``elsewhere``: the nodes whose stored fingerprint named a
    node that is not one of their parents now."""

    def __init__(self, session: LightReads, shown: dict[str, str]) -> None:
        super().__init__(shown)
        self._session = session
        self.elsewhere: set[str] = set()
        self._node: tuple[str, tuple[Edge, ...]] = ("", ())

    def parents_of(self, node_id: str, inputs: tuple[Edge, ...]) -> _Tags:
        """These tags, naming for ``node_id`` whose parents are now ``inputs``."""
        self._node = (node_id, inputs)
        return self

    def naming(self, previous: NodeFingerprint | dict[str, Any] | None) -> _Tags:
        if isinstance(previous, NodeFingerprint):
            named = {p.node_id for p in previous.parents.values()}
            node_id, inputs = self._node
            if not named <= {e.parent_id for e in inputs}:
                self.elsewhere.add(node_id)
            unknown = named - self.keys()
            if unknown:
                found = self._session.get_nodes(unknown)
                self.update(
                    {i: found[i].tag if i in found else f"deleted node {i}" for i in unknown}
                )
        return self


def _same_digest(node_id: str, text: str, digest: str) -> bool:
    """Whether the stored fingerprint ``text`` is of this format and has ``digest``: read from
    its opening when nodepipe wrote it (``json.dumps`` of ``to_dict``, which opens with the
    version and the digest), parsed otherwise (10,000 fingerprints a ``status`` are not parsed
    for their digest alone)."""
    if text.startswith(f'{{"version": {FORMAT_VERSION}, "digest": "{digest}"'):
        return True
    return _stored_digest(node_id, text) == digest


@latest_per_key(lambda node_id, text: node_id)
def _stored_digest(node_id: str, text: str) -> str | None:
    """The digest of a node's stored fingerprint, if it is of this format (None otherwise):
    when it is the current one, the rest of it need not be read back."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        return None
    digest = data.get("digest")
    return digest if isinstance(digest, str) and digest else None


@latest_per_key(lambda node_id, text: node_id)
def _stored_fingerprint(node_id: str, text: str) -> NodeFingerprint | dict[str, Any]:
    """A node's stored fingerprint read back once per text (as it was stored, if it is of
    another format: ``explain`` says so)."""
    data = json.loads(text)
    try:
        return NodeFingerprint.from_dict(data)
    except ValueError:
        return dict(data)


def parent_problem(parent: NodeStatusView) -> str | None:
    if parent.problem is not None:
        return f"cannot run: {parent.problem}"
    if parent.state is NodeState.COMPLETED:
        return None
    if parent.state is NodeState.READY:
        return "never ran"
    return f"is {parent.state.value}"


def _effective_state(stored: NodeState, own: list[str], upstream: list[str]) -> NodeState:
    if stored is NodeState.COMPLETED and (own or upstream):
        return NodeState.STALE
    if stored is NodeState.STALE and not (own or upstream):
        return NodeState.COMPLETED  # what made it stale was undone: its outputs match again
    return stored


def _include_origins(session: LightReads, pipeline_id: str) -> dict[str, str]:
    """Each node an include brought into the pipeline: "include NS, from LOCATION" (without
    the credentials a URL may hold)."""
    origins = session.include_origins(pipeline_id)
    if not origins:
        return {}
    from nodepipe.domain.url_credentials import text_without_credentials  # only with includes

    return {
        node_id: f"include {namespace}, from {text_without_credentials(location)}"
        for node_id, (namespace, location) in origins.items()
    }
