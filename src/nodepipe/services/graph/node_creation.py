"""Making nodes: new folders (from the skeleton, or copied from a template node) built in a
staging folder, flushed together, then moved into the workspace and recorded in one transaction
(all of them or none; see ``staged_folders``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from nodepipe.domain.errors import Action, Hint, InvalidInputError, NotFoundError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Membership, Node
from nodepipe.domain.names import listed, validate_name
from nodepipe.domain.states import NodeState
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext, now
from nodepipe.services.graph.membership import check_tag_free, place_below, place_new
from nodepipe.services.graph.staged_folders import staged_folders
from nodepipe.services.guards import check_pipeline_editable
from nodepipe.workspace.node_project import set_shared_env


def create_from_template(
    context: WorkspaceContext,
    pipeline: str,
    tag: str,
    notes: str,
    template: str,
    shared_env: str | None,
    allow_duplicate_tag: bool,
) -> Node:
    """A new node ``tag`` whose code and lock are copied from node ``template`` (one of
    ``pipeline`` first, else of the workspace), without its data."""
    validate_name(tag, "node tag")
    with context.store.read() as session:
        target = resolver.pipeline(session, pipeline)
        check_pipeline_editable(target)
        check_tag_free(session, target.id, tag, allowed=allow_duplicate_tag)
        seed = resolver.node_here_first(session, template, target)
    check_shared_env(context, shared_env)
    node_id = new_id()
    with staged_folders(context) as batch:
        batch.add_copy(seed.id, node_id, with_data=False)
        if shared_env is not None:
            set_shared_env(batch.staged[node_id].pyproject, shared_env, durable=False)
        batch.install()
        with context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            check_tag_free(session, target.id, tag, allowed=allow_duplicate_tag)
            node = Node(node_id, tag, notes, NodeState.READY, "", False, target.id, now())
            session.insert_node(node)
            x, y = place_new(session, target.id)
            session.insert_membership(Membership(target.id, node_id, x, y))
    return node


def create_many(
    context: WorkspaceContext,
    pipeline: str,
    tags: Sequence[str],
    notes: str,
    shared_env: str | None,
    allow_duplicate_tag: bool,
) -> list[Node]:
    """New nodes ``tags`` from the skeleton (with ``pipeline``'s base packages), all or none."""
    tags = listed(tags, "the node tags")
    for tag in tags:
        validate_name(tag, "node tag")
    repeated = sorted(tag for tag, times in Counter(tags).items() if times > 1)
    if repeated and not allow_duplicate_tag:
        raise InvalidInputError(f"node tags given more than once: {', '.join(repeated)}")
    with context.store.read() as session:
        target = resolver.pipeline(session, pipeline)
        check_pipeline_editable(target)
        check_tag_free(session, target.id, tags, allowed=allow_duplicate_tag)
    check_shared_env(context, shared_env)
    ids = [new_id() for _ in tags]
    with staged_folders(context) as batch:
        for node_id in ids:
            batch.add_new(node_id, target.base_packages, shared_env)
        batch.install()
        with context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            check_tag_free(session, target.id, tags, allowed=allow_duplicate_tag)
            created = [
                Node(node_id, tag, notes, NodeState.READY, "", False, target.id, now())
                for node_id, tag in zip(ids, tags, strict=True)
            ]
            spots = place_below(session, target.id, len(created))
            session.insert_nodes_shown(
                [
                    (node, Membership(target.id, node.id, x, y))
                    for node, (x, y) in zip(created, spots, strict=True)
                ]
            )
    return created


def check_shared_env(context: WorkspaceContext, shared_env: str | None) -> None:
    if (
        shared_env is not None
        and not (context.layout.shared_env_dir(shared_env) / "pyproject.toml").is_file()
    ):
        raise NotFoundError(
            f"no shared environment {shared_env!r}",
            hint=Hint(Action.SHARED_ENV_NEW, {"name": shared_env}),
        )
