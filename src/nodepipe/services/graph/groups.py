"""Use cases on visual groups of nodes within one pipeline's canvas."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nodepipe.domain.errors import NameTakenError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Group, Pipeline
from nodepipe.domain.names import validate_name
from nodepipe.domain.resolve import Candidate, resolve
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.guards import check_pipeline_editable
from nodepipe.services.renamed import warn_renamed

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession


def _group(session: StoreSession, pipeline: Pipeline, name: str) -> Group:
    groups = session.groups_of_pipeline(pipeline.id)
    found = resolve(name, [Candidate(g.id, g.name) for g in groups], "group", repr(pipeline.tag))
    return next(g for g in groups if g.id == found)


def _check_free(session: StoreSession, pipeline: Pipeline, name: str) -> None:
    validate_name(name, "group name")
    if any(g.name == name for g in session.groups_of_pipeline(pipeline.id)):
        raise NameTakenError(f"pipeline {pipeline.tag!r} already has a group {name!r}", "name")


@dataclass(frozen=True, slots=True)
class UngroupedNode:
    """A node ``ungroup`` was asked to take out of its group, and the group it was in (None:
    it was in no group, and stays so)."""

    node_id: str
    tag: str
    group: str | None


@dataclass(frozen=True, slots=True)
class Ungrouped:
    """What ``ungroup`` did: the nodes taken out of their groups, and those that were in none
    (not counted as ungrouped)."""

    ungrouped: tuple[UngroupedNode, ...]
    in_no_group: tuple[UngroupedNode, ...]


@dataclass(frozen=True, slots=True)
class GroupService:
    context: WorkspaceContext

    def new(self, pipeline: str, name: str, members: builtins.list[str]) -> Group:
        """Group nodes of a pipeline (a node belongs to at most one group per pipeline)."""
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            _check_free(session, target, name)
            group = Group(new_id(), target.id, name, collapsed=False)
            session.insert_group(group)
            for node in resolver.nodes(session, members, target):
                session.update_membership(target.id, node.id, group_id=group.id)
            return group

    def list(self, pipeline: str) -> builtins.list[Group]:
        with self.context.store.read() as session:
            return session.groups_of_pipeline(resolver.pipeline(session, pipeline).id)

    def add(self, pipeline: str, name: str, members: builtins.list[str]) -> Group:
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            group = _group(session, target, name)
            for node in resolver.nodes(session, members, target):
                session.update_membership(target.id, node.id, group_id=group.id)
            return group

    def ungroup(self, pipeline: str, members: builtins.list[str]) -> Ungrouped:
        """Take ``members`` (ids or tags) of ``pipeline`` out of their groups; the answer says
        which were taken out of which group, and which were in no group."""
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            places = {m.node_id: m.group_id for m in session.memberships_of_pipeline(target.id)}
            names = {g.id: g.name for g in session.groups_of_pipeline(target.id)}
            ungrouped: dict[str, UngroupedNode] = {}
            in_no_group: dict[str, UngroupedNode] = {}
            for node in resolver.nodes(session, members, target):
                group_id = places.get(node.id)
                if group_id is None:
                    in_no_group[node.id] = UngroupedNode(node.id, node.tag, None)
                    continue
                session.update_membership(target.id, node.id, group_id=None)
                ungrouped[node.id] = UngroupedNode(node.id, node.tag, names.get(group_id))
            return Ungrouped(tuple(ungrouped.values()), tuple(in_no_group.values()))

    def rename(self, pipeline: str, name: str, new_name: str) -> Group:
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            group = _group(session, target, name)
            if new_name != group.name:
                _check_free(session, target, new_name)
            session.update_group(group.id, name=new_name)
            return Group(group.id, group.pipeline_id, new_name, group.collapsed)

    def collapse(self, pipeline: str, name: str) -> Group:
        """Show the group as one box on the canvas (view state: allowed on locked pipelines;
        ``group collapse``)."""
        return self._set_collapsed(pipeline, name, True)

    def expand(self, pipeline: str, name: str) -> Group:
        """Show the group's nodes again (``group expand``)."""
        return self._set_collapsed(pipeline, name, False)

    def set_collapsed(self, pipeline: str, name: str, collapsed: bool) -> Group:
        """The former name of ``collapse`` and ``expand``."""
        warn_renamed("groups.set_collapsed", "groups.collapse / groups.expand")
        return self._set_collapsed(pipeline, name, collapsed)

    def _set_collapsed(self, pipeline: str, name: str, collapsed: bool) -> Group:
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            group = _group(session, target, name)
            session.update_group(group.id, collapsed=collapsed)
            return Group(group.id, group.pipeline_id, group.name, collapsed)

    def delete(self, pipeline: str, name: str) -> Group:
        """Delete the group only; its nodes stay in the pipeline."""
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            group = _group(session, target, name)
            session.delete_group(group.id)
            return group
