"""A new node made from a past run: that run's code, parameters and environment, editable.

``nodepipe node restore NODE --run RUN --as TAG`` writes every file the run recorded (see
``workspace.run_environment``) into a new node folder, built and installed as every new node
folder is (``staged_folders``: a failure or a kill leaves nothing behind), and syncs its
environment from the run's lock with ``--frozen`` (nothing is resolved). Its parameters come
with its ``params.yaml``.

The new node goes into the pipeline the original belongs to (or the one named), and gets the
**parents that run read, on the same slots**, so code reading ``parent("01")`` runs as it did;
a parent deleted since is left out and named. It never ran: it is ``ready``. The original node
is not touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from nodepipe.domain.environments import RunEnvironment
from nodepipe.domain.errors import NotFoundError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Edge, Membership, Node, Pipeline
from nodepipe.domain.names import validate_name
from nodepipe.domain.runs import NodeRun
from nodepipe.domain.states import NodeState
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext, now
from nodepipe.services.envs.run_envs import past_run
from nodepipe.services.graph.membership import check_tag_free, place_new, show_with_ancestors
from nodepipe.services.graph.staged_folders import staged_folders
from nodepipe.services.guards import check_pipeline_editable
from nodepipe.workspace.objects import MissingObjectError, ObjectStore
from nodepipe.workspace.run_environment import damaged_record, read_manifest


@dataclass(frozen=True, slots=True)
class RestoredNode:
    """The node made from run ``run_id``, the parents it got by slot, and those it could not."""

    node: Node
    run_id: str
    parents: dict[str, str]
    """Slot -> parent node id, as in that run."""
    missing_parents: dict[str, str]
    """Slot -> id of a parent that run read and that no longer exists."""


def restore_node(
    context: WorkspaceContext, node: str, run: str, tag: str, pipeline: str | None = None
) -> RestoredNode:
    """A new node ``tag`` with the code, parameters and environment ``node`` had in ``run``."""
    objects = ObjectStore(context.layout.objects_dir)
    source, node_run, environment, target = check_restore(context, node, run, tag, pipeline)
    with damaged_record(source.tag, node_run.run_id):
        manifest = read_manifest(objects, environment)
    missing = [  # one set aside as damaged is told as damaged when it is read below
        path
        for path, digest in manifest.files.items()
        if not objects.has(digest) and not objects.aside(digest).exists()
    ]
    if missing:
        raise MissingObjectError(
            f"run {node_run.run_id} recorded {', '.join(sorted(missing)[:5])} of node "
            f"{source.tag!r}, but their contents are gone from {objects.root}"
        )
    pyproject = manifest.files.get("pyproject.toml")
    if pyproject is not None:
        with damaged_record(source.tag, node_run.run_id):
            recorded = objects.read(pyproject, "pyproject.toml")
        code = context.layout.node_folder(source.id).code  # a sibling of the new node's
        from nodepipe.services.envs.restored_libraries import check_libraries_present  # rare

        check_libraries_present(context, source.tag, node_run.run_id, recorded, code)
    wanted = _parents_read(node_run)
    node_id = new_id()
    with staged_folders(context) as batch:
        with damaged_record(source.tag, node_run.run_id):
            batch.add_restored(node_id, manifest, objects)
        batch.install()
        with context.store.write() as session:
            target = resolver.pipeline(session, target.id)
            check_pipeline_editable(target)
            check_tag_free(session, target.id, tag, can_allow=False)
            present = session.get_nodes(wanted.values())
            parents = {slot: p for slot, p in wanted.items() if p in present}
            created = Node(
                node_id,
                tag,
                f"restored from run {node_run.run_id} of {source.tag}",
                NodeState.READY,
                "",
                False,
                target.id,
                now(),
            )
            session.insert_node(created)
            x, y = place_new(session, target.id, parents.values())
            session.insert_membership(Membership(target.id, node_id, x, y))
            for slot, parent_id in sorted(parents.items()):
                session.insert_edge(Edge(parent_id, node_id, slot))
            show_with_ancestors(session, target.id, [node_id])
    gone = {slot: p for slot, p in wanted.items() if slot not in parents}
    return RestoredNode(created, node_run.run_id, parents, gone)


def check_restore(
    context: WorkspaceContext, node: str, run: str, tag: str, pipeline: str | None = None
) -> tuple[Node, NodeRun, RunEnvironment, Pipeline]:
    """What ``restore_node`` reads before it writes anything, each refusal said now: a bad
    tag, an unknown run or node, a node run with nothing stored, a pipeline that cannot take
    a new node or already has one tagged ``tag``. The original node, its node run and record,
    and the pipeline the new node goes into."""
    validate_name(tag, "node tag")
    with context.store.read() as session:
        source, node_run, environment = past_run(session, node, run, pipeline)
        target = resolver.pipeline(session, pipeline or source.owner_pipeline_id)
        check_pipeline_editable(target)
        check_tag_free(session, target.id, tag, can_allow=False)
    return source, node_run, environment, target


def _parents_read(node_run: NodeRun) -> dict[str, str]:
    """Slot -> parent node id, from the fingerprint the node run ran with."""
    try:
        recorded = json.loads(node_run.fingerprint or "{}")["parents"]
        return {str(slot): str(p["node"]) for slot, p in recorded.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise NotFoundError(f"node run {node_run.id} recorded no fingerprint to restore") from None
