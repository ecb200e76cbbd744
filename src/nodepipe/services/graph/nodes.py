"""Use cases on single nodes: create, show, rename, annotate, parameters, state, lock, remove."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Unpack

from nodepipe.domain.errors import (
    ChangedOnDiskError,
    ConflictError,
    InvalidInputError,
    NodepipeError,
    ReadOnlyError,
)
from nodepipe.domain.model import Membership, Node
from nodepipe.domain.names import listed, notes_text, validate_name
from nodepipe.domain.params import Params
from nodepipe.domain.staleness import MARKED_COMPLETED, MARKED_STALE, ParentOutput
from nodepipe.domain.states import NodeState, check_transition
from nodepipe.domain.views import Link, Loss, NodeDetails, RemovalReport
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs.isolation_rules import isolation_of
from nodepipe.services.graph.effective import effective_node, effective_nodes
from nodepipe.services.graph.fingerprint_now import fingerprint_with, recorded_inputs
from nodepipe.services.graph.library_links import check_no_library_users
from nodepipe.services.graph.losses import output_losses, removal_losses
from nodepipe.services.graph.membership import check_position, check_tag_free
from nodepipe.services.graph.node_creation import create_from_template, create_many
from nodepipe.services.graph.node_params import (
    ParamsChange,
    change_params,
    params_text,
    read_params,
)
from nodepipe.services.graph.removal import deleted_by_removal, remove_from_pipeline
from nodepipe.services.graph.staged_folders import (
    delete_nodes_on_disk,
    deleting_node_folders,
)
from nodepipe.services.graph.staleness import mark_downstream
from nodepipe.services.guards import check_node_editable, check_pipeline_editable
from nodepipe.services.renamed import warn_renamed
from nodepipe.store.changes import NodeChanges
from nodepipe.workspace.file_digests import fingerprint_outputs

if TYPE_CHECKING:
    from nodepipe.services.graph.node_restore import RestoredNode
    from nodepipe.store.light_read import LightReads
    from nodepipe.store.queries import StoreSession


@dataclass(frozen=True, slots=True)
class NodeService:
    context: WorkspaceContext

    def new(
        self,
        pipeline: str,
        tag: str,
        notes: str = "",
        template: str | None = None,
        shared_env: str | None = None,
        allow_duplicate_tag: bool = False,
    ) -> Node:
        """A node folder with its own environment, shown (and owned) by ``pipeline``.

        With ``template`` (a node of ``pipeline`` first, else of the workspace), code and lock
        are copied from that node (synced, not re-resolved);
        otherwise it starts from the skeleton plus the pipeline's base packages. With
        ``shared_env`` it uses that named shared environment instead of its own. A tag the
        pipeline already has is refused unless ``allow_duplicate_tag``.
        """
        notes_text(notes)
        if template is None:
            return self.new_many(pipeline, [tag], notes, shared_env, allow_duplicate_tag)[0]
        return create_from_template(
            self.context, pipeline, tag, notes, template, shared_env, allow_duplicate_tag
        )

    def new_many(
        self,
        pipeline: str,
        tags: Sequence[str],
        notes: str = "",
        shared_env: str | None = None,
        allow_duplicate_tag: bool = False,
    ) -> builtins.list[Node]:
        """New nodes ``tags`` in ``pipeline``, all or none, as ``new`` makes each one.

        The folders are built together and flushed to disk with one call, then the rows of
        all of them are committed in one transaction: many nodes cost little more than one
        each in disk flushes. A tag given twice, or one the pipeline has, is refused before
        anything is written (unless ``allow_duplicate_tag``).
        """
        notes_text(notes)
        return create_many(self.context, pipeline, tags, notes, shared_env, allow_duplicate_tag)

    def restore(self, name: str, run: str, tag: str, pipeline: str | None = None) -> RestoredNode:
        """A new node ``tag`` with the code, parameters and environment ``name`` had in run
        ``run``, with the parents that run read (see ``services.graph.node_restore``)."""
        from nodepipe.services.graph.node_restore import restore_node  # not for other commands

        return restore_node(self.context, name, run, tag, pipeline)

    def check_restore(self, name: str, run: str, tag: str, pipeline: str | None = None) -> str:
        """Refuse now what ``restore`` would refuse before writing anything; the id of the
        pipeline the new node would go into."""
        from nodepipe.services.graph.node_restore import check_restore  # not for other commands

        return check_restore(self.context, name, run, tag, pipeline)[3].id

    def _resolve(self, session: LightReads, name: str, pipeline: str | None) -> Node:
        within = resolver.pipeline(session, pipeline) if pipeline else None
        return resolver.node(session, name, within)

    def list(self, pipeline: str | None = None) -> builtins.list[Node]:
        """The nodes (of ``pipeline``), each with its effective state and reasons."""
        with self.context.store.light_read() as session:
            within = resolver.pipeline(session, pipeline).id if pipeline else None
            return effective_nodes(self.context, session, session.list_nodes(within))

    def get(self, name: str, pipeline: str | None = None) -> Node:
        """The node ``name`` names (an id or an unambiguous tag), with its effective state and
        reasons, as ``show``, ``list`` and ``ws.runs.status`` give them (stale since its code
        changed, say, though the store last recorded it completed)."""
        with self.context.store.light_read() as session:
            return effective_node(self.context, session, self._resolve(session, name, pipeline))

    def find(self, name: str, pipeline: str | None = None) -> Node:
        """The node ``name`` names, found without computing its state (its ``state`` is the
        one last recorded, which ``get`` brings up to date): to learn its id or tag fast."""
        with self.context.store.light_read() as session:
            return self._resolve(session, name, pipeline)

    def show(self, name: str, pipeline: str | None = None) -> NodeDetails:
        """The node with its effective state and reasons, neighbours, folder and parameters."""
        with self.context.store.read() as session:
            node = effective_node(self.context, session, self._resolve(session, name, pipeline))
            inputs = session.edges_into([node.id])
            outputs = session.edges_out_of([node.id])
            neighbours = session.get_nodes(
                {e.parent_id for e in inputs} | {e.child_id for e in outputs}
            )
            showing = session.get_pipelines(session.pipelines_showing([node.id])[node.id])
            text = params_text(self.context.layout, node.id)
            return NodeDetails(
                node=node,
                owner_pipeline=showing[node.owner_pipeline_id].tag,
                pipelines=tuple(sorted(p.tag for p in showing.values())),
                inputs=tuple(
                    Link(e.slot, e.parent_id, neighbours[e.parent_id].tag) for e in inputs
                ),
                outputs=tuple(
                    Link(e.slot, e.child_id, neighbours[e.child_id].tag) for e in outputs
                ),
                folder=self.context.layout.node_folder(node.id).path,
                params=read_params(self.context.layout, node.id, text),
                params_text=text,
                isolation=_isolation(self.context.layout.node_folder(node.id).code),
            )

    def path(self, name: str, pipeline: str | None = None) -> Path:
        return self.context.layout.node_folder(self.find(name, pipeline).id).path

    def import_path(self, name: str, pipeline: str | None = None) -> builtins.list[str]:
        """The folders a run puts on the node's PYTHONPATH, in order (the helper
        ``nodepipe_node`` first, then its code paths and the bundle code it links): what
        running its code by hand needs."""
        from nodepipe.execution.task_factory import node_import_path  # not for other reads

        folder = self.context.layout.node_folder(self.find(name, pipeline).id)
        return list(node_import_path(folder))

    def rename(
        self,
        name: str,
        new_tag: str,
        pipeline: str | None = None,
        allow_duplicate_tag: bool = False,
    ) -> Node:
        """Change the tag; refused when a pipeline showing the node has another node so tagged
        (unless ``allow_duplicate_tag``)."""
        validate_name(new_tag, "node tag")
        with self.context.store.write() as session:
            node = _editable(session, name, pipeline, outputs=False)
            for pipeline_id in session.pipelines_showing([node.id])[node.id]:
                check_tag_free(
                    session, pipeline_id, new_tag, allowed=allow_duplicate_tag, ignoring=[node.id]
                )
            session.update_node(node.id, tag=new_tag)
            renamed = _fetch(session, node.id)
        return self._effective(renamed)

    def notes(
        self, name: str, text: str, pipeline: str | None = None, *, were: str | None = None
    ) -> Node:
        """Set the node's notes (``node notes``; Notes… in the web app). ``were`` (None: any):
        the notes this edit began from; notes changed since (another tab, the CLI) are not
        overwritten (``ChangedOnDiskError``)."""
        notes_text(text)
        if were is None:
            return self._update(name, pipeline, notes=text)
        with self.context.store.write() as session:
            node = _editable(session, name, pipeline, outputs=False)
            if node.notes != were:
                raise ChangedOnDiskError(
                    f"the notes of node {node.tag!r} were changed since you read them (in "
                    "another tab, or from the command line); nothing was saved"
                )
            session.update_node(node.id, notes=text)
            updated = _fetch(session, node.id)
        return self._effective(updated)

    def annotate(self, name: str, notes: str, pipeline: str | None = None) -> Node:
        """The former name of ``notes``."""
        warn_renamed("nodes.annotate", "nodes.notes")
        return self.notes(name, notes, pipeline)

    def _update(self, name: str, pipeline: str | None, **changes: Unpack[NodeChanges]) -> Node:
        with self.context.store.write() as session:
            node = _editable(session, name, pipeline, outputs=False)
            session.update_node(node.id, **changes)
            updated = _fetch(session, node.id)
        return self._effective(updated)

    def _effective(self, edited: Node) -> Node:
        """The node an edit answers, with its effective state and reasons (a stale node
        renamed says stale, not the ``completed`` last recorded), computed after the write,
        which holds no lock while the folders are read (``edited`` if it is gone since)."""
        with self.context.store.light_read() as session:
            node = session.get_node(edited.id) or edited
            return effective_node(self.context, session, node)

    # parameters ---------------------------------------------------------------------------
    def params(self, name: str, pipeline: str | None = None) -> Params:
        return read_params(self.context.layout, self.find(name, pipeline).id)

    def set_params(
        self,
        name: str,
        assignments: builtins.list[str] | None = None,
        unset: builtins.list[str] | None = None,
        replace_with: str | None = None,
        pipeline: str | None = None,
        *,
        version: str | None = None,
    ) -> Params:
        """Change parameters: ``name=value`` assignments, removals, or a whole YAML text.

        Everything is validated before params.yaml is (atomically) rewritten, its comments and
        layout kept (see ``edit_params``); the node and its descendants become stale when a
        value really changed. ``version``: the ``params_version`` the change was based on (its
        node's details give it); params.yaml changed since is not overwritten
        (``ChangedOnDiskError``). None: whatever it holds.
        """
        return self.edit_params(
            name, assignments, unset, replace_with, pipeline, version=version
        ).params

    def edit_params(
        self,
        name: str,
        assignments: builtins.list[str] | None = None,
        unset: builtins.list[str] | None = None,
        replace_with: str | None = None,
        pipeline: str | None = None,
        *,
        version: str | None = None,
    ) -> ParamsChange:
        """``set_params``, saying too whether params.yaml had to be written anew from the
        values (its comments and layout dropped: a layout assignments cannot be made in line
        by line, such as a flow mapping, a block scalar or an anchor)."""
        assignments = listed(assignments or [], "the assignments (name=value)")
        unset = listed(unset or [], "the parameter names to unset")
        if replace_with is not None and not isinstance(replace_with, str):
            raise InvalidInputError(
                f"the new params.yaml is given as text, not {replace_with!r:.80}"
            )
        with self.context.store.write() as session:
            node = _editable(session, name, pipeline)
            return change_params(
                session, self.context.layout, node, assignments, unset, replace_with, version
            )

    # state and locks ----------------------------------------------------------------------
    def mark(self, name: str, state: NodeState, pipeline: str | None = None) -> Node:
        """Mark by hand: ``completed`` accepts the outputs, ``stale`` outdates them. The answer
        is the node's effective state, as ``get`` gives it: a node accepted under a stale
        parent is stale still, and says why."""
        if state not in (NodeState.COMPLETED, NodeState.STALE):
            raise InvalidInputError("a node can be marked completed or stale by hand")
        state = NodeState(state)  # "stale" as text is NodeState.STALE
        if state is NodeState.COMPLETED:
            return self._effective(self._accept_outputs(name, pipeline))
        with self.context.store.write() as session:
            node = _editable(session, name, pipeline)
            check_transition(node.state, state, repr(node.tag))
            session.update_node(node.id, state=state, state_reason=MARKED_STALE)
            mark_downstream(session, [node.id], f"upstream: {node.tag} was marked stale")
            marked = _fetch(session, node.id)
        return self._effective(marked)

    def _accept_outputs(self, name: str, pipeline: str | None) -> Node:
        """Mark completed: what ``data/`` holds now is the node's outputs, made by the node as
        it is now. Its fingerprint as of now (code, lock, parameters, its parents' recorded
        outputs) and the digest of ``data/`` are recorded, as a run completing now would
        record them: the node stays completed until one of them changes, and its children
        read these outputs.

        The folder is read outside any write (a large ``data/`` or checkout takes a while, and
        other writers of the store would wait), then the write checks that the node and its
        inputs are as they were read: a run, a ``clear-data`` or a parent's new outputs in
        between make the mark refused, nothing changed. A node that never ran is accepted with
        what its ``data/`` holds, even nothing: the user says it is done (its work was done
        elsewhere, or it makes no files)."""
        with self.context.store.read() as session:
            node = _editable(session, name, pipeline)
            check_transition(node.state, NodeState.COMPLETED, repr(node.tag))
            seen = _accepting(session, node.id)
        folder = self.context.layout.node_folder(node.id)
        refused = f"cannot accept the outputs of {node.tag!r}"
        try:
            fingerprint = fingerprint_with(self.context, node.id, seen.inputs)
            outputs = fingerprint_outputs(folder.data, folder.fingerprint_cache)
        except NodepipeError as error:
            raise ConflictError(f"{refused}: {error}; nothing was changed") from error
        except OSError as error:
            what = f"{error.filename}: {error.strerror}" if error.filename else str(error)
            raise ConflictError(f"{refused}: cannot read {what}; nothing was changed") from error
        with self.context.store.write() as session:
            node = _editable(session, name, pipeline)
            if _accepting(session, node.id) != seen:
                raise ConflictError(
                    f"{refused}: it changed while they were read (it ran, its outputs were "
                    "cleared, or a parent's changed); nothing was changed, mark it again"
                )
            session.update_node(
                node.id,
                state=NodeState.COMPLETED,
                state_reason=MARKED_COMPLETED,
                fingerprint=fingerprint,
                output_digest=outputs,
            )
            return _fetch(session, node.id)

    def lock(self, name: str, pipeline: str | None = None) -> Node:
        """Make the node read-only: it does not run, and no edit changes it (``node lock``)."""
        return self._set_locked(name, True, pipeline)

    def unlock(self, name: str, pipeline: str | None = None) -> Node:
        """Make a locked node editable again (``node unlock``)."""
        return self._set_locked(name, False, pipeline)

    def set_locked(self, name: str, locked: bool, pipeline: str | None = None) -> Node:
        """The former name of ``lock`` and ``unlock``."""
        warn_renamed("nodes.set_locked", "nodes.lock / nodes.unlock")
        return self._set_locked(name, locked, pipeline)

    def _set_locked(self, name: str, locked: bool, pipeline: str | None) -> Node:
        with self.context.store.write() as session:
            context_pipeline = resolver.pipeline(session, pipeline) if pipeline else None
            node = resolver.node(session, name, context_pipeline)
            if context_pipeline is not None and node.owner_pipeline_id != context_pipeline.id:
                raise ReadOnlyError(
                    f"node {node.tag!r} is a reference in {context_pipeline.tag!r}; "
                    "lock or unlock it in the pipeline it belongs to"
                )
            session.update_node(node.id, locked=locked)
            updated = _fetch(session, node.id)
        return self._effective(updated)

    def clear_data(self, name: str, pipeline: str | None = None) -> Node:
        """Delete the node's outputs; it becomes ready and its descendants stale (answered with
        its effective state, as ``get`` gives it)."""
        from nodepipe.services.graph.clearing import Clearing  # not for a read command

        clearing = Clearing(self.context)  # a kill at any step: see services.graph.clearing
        node: Node | None = None
        try:
            with self.context.store.write() as session:
                node = _editable(session, name, pipeline)
                clearing.move_aside(session, node)
                cleared = _fetch(session, node.id)
        except BaseException:
            if node is None:
                clearing.operation.finish()
            else:
                clearing.undo(node)
            raise
        clearing.finish()
        return self._effective(cleared)

    def clearing_losses(self, name: str, pipeline: str | None = None) -> builtins.list[Loss]:
        """What ``clear_data`` would delete (asked about before it does)."""
        return output_losses(self.context, name, pipeline)

    def deletion_losses(self, names: builtins.list[str], pipeline: str) -> builtins.list[Loss]:
        """The folders ``delete`` would delete (asked about before it does)."""
        return removal_losses(self.context, names, pipeline)

    def removal_losses(self, names: builtins.list[str], pipeline: str) -> builtins.list[Loss]:
        """The former name of ``deletion_losses``."""
        warn_renamed("nodes.removal_losses", "nodes.deletion_losses")
        return self.deletion_losses(names, pipeline)

    def place(self, name: str, pipeline: str, x: float, y: float) -> Membership:
        """Move a node on a pipeline's canvas (allowed on references and locked pipelines)."""
        check_position(name, x, y)
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            node = resolver.node(session, name, target)
            session.update_membership(target.id, node.id, x=float(x), y=float(y))
            membership = session.get_membership(target.id, node.id)
            assert membership is not None
            return membership

    def remove(self, names: builtins.list[str], pipeline: str) -> RemovalReport:
        """The former name of ``delete``."""
        warn_renamed("nodes.remove", "nodes.delete")
        return self.delete(names, pipeline)

    def delete(self, names: builtins.list[str], pipeline: str) -> RemovalReport:
        """Delete nodes from ``pipeline``; a folder goes only when no pipeline shows it."""
        with deleting_node_folders(self.context) as deletion:
            with self.context.store.write() as session:
                target = resolver.pipeline(session, pipeline)
                check_pipeline_editable(target)
                found = resolver.nodes(session, names, target)
                doomed = deleted_by_removal(session, target, found)
                check_no_library_users(self.context, session, target, doomed, "removing the node")
                report = remove_from_pipeline(session, target, found)
                deletion.record(deleting=list(report.deleted))
            delete_nodes_on_disk(self.context, report.deleted)
        return report


class _Accepting(NamedTuple):
    """What accepting a node's outputs read of it, to be the same when it writes."""

    state: NodeState
    reason: str
    recorded: tuple[str | None, str | None]
    inputs: dict[str, ParentOutput]


def _accepting(session: StoreSession, node_id: str) -> _Accepting:
    node = _fetch(session, node_id)
    recorded = session.node_fingerprints([node_id])[node_id]
    return _Accepting(node.state, node.state_reason, recorded, recorded_inputs(session, node_id))


def _editable(
    session: StoreSession, name: str, pipeline: str | None, *, outputs: bool = True
) -> Node:
    """Resolve ``name`` (in ``pipeline`` if given) and check it may be changed from there."""
    context = resolver.pipeline(session, pipeline) if pipeline else None
    node = resolver.node(session, name, context)
    check_node_editable(session, node, context, outputs=outputs)
    return node


def _isolation(code: Path) -> str:
    try:
        return isolation_of(code)
    except InvalidInputError:  # an unreadable pyproject: status says so
        return "unknown"


def _fetch(session: StoreSession, node_id: str) -> Node:
    node = session.get_node(node_id)
    assert node is not None
    return node
