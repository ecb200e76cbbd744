"""Use cases on visual groups of nodes within one pipeline's canvas."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nodepipe.domain.errors import ConflictError, NameTakenError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Group, Pipeline
from nodepipe.domain.names import validate_name
from nodepipe.domain.resolve import Candidate, resolve
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.guards import check_pipeline_editable
from nodepipe.services.renamed import warn_renamed

if TYPE_CHECKING:
    from collections.abc import Sequence

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
class AddedNode:
    """A node asked to be in a group: the group it was moved from (None: it was in no group,
    or, among ``already_in``, it was in this group already)."""

    node_id: str
    tag: str
    moved_from: str | None


@dataclass(frozen=True, slots=True)
class GroupChange:
    """What a change to a group did: the group as it is now; the nodes added to it (each with
    the group it was moved from, if any); those asked for that were in it already (not
    counted as added); the nodes taken out of it."""

    group: Group
    added: tuple[AddedNode, ...] = ()
    already_in: tuple[AddedNode, ...] = ()
    removed: tuple[UngroupedNode, ...] = ()

    # The group's own fields, as ``groups.add`` answered before it said what it did: code
    # written against that answer (``ws.groups.add(...).name``) keeps working.
    @property
    def id(self) -> str:
        return self.group.id

    @property
    def pipeline_id(self) -> str:
        return self.group.pipeline_id

    @property
    def name(self) -> str:
        return self.group.name

    @property
    def collapsed(self) -> bool:
        return self.group.collapsed


class _Members:
    """The group memberships of one pipeline while a change to ``group`` is made."""

    def __init__(self, session: StoreSession, pipeline: Pipeline, group: Group) -> None:
        self.session, self.pipeline, self.group = session, pipeline, group
        self.places = {m.node_id: m.group_id for m in session.memberships_of_pipeline(pipeline.id)}
        self.names = {g.id: g.name for g in session.groups_of_pipeline(pipeline.id)}

    def take_out(self, names: Sequence[str]) -> tuple[UngroupedNode, ...]:
        """Take the nodes ``names`` out of the group; refused (nothing taken out) if one of
        them is not in it."""
        nodes = resolver.nodes(self.session, names, self.pipeline)
        elsewhere = [n for n in nodes if self.places.get(n.id) != self.group.id]
        if elsewhere:
            tags = ", ".join(repr(n.tag) for n in elsewhere)
            places = "; ".join(f"{n.tag!r} is in {self._place(n.id)}" for n in elsewhere)
            raise ConflictError(f"cannot take {tags} out of group {self.group.name!r}: {places}")
        for node in nodes:
            self.session.update_membership(self.pipeline.id, node.id, group_id=None)
            self.places[node.id] = None
        return tuple(UngroupedNode(n.id, n.tag, self.group.name) for n in nodes)

    def _place(self, node_id: str) -> str:
        group_id = self.places.get(node_id)
        return f"group {self.names[group_id]!r}" if group_id else "no group"

    def put_in(self, names: Sequence[str]) -> tuple[tuple[AddedNode, ...], tuple[AddedNode, ...]]:
        """Put the nodes ``names`` in the group (moving them from another group); the nodes
        added, and those that were in it already."""
        added: list[AddedNode] = []
        already_in: list[AddedNode] = []
        for node in resolver.nodes(self.session, names, self.pipeline):
            place = self.places.get(node.id)
            if place == self.group.id:
                already_in.append(AddedNode(node.id, node.tag, None))
                continue
            self.session.update_membership(self.pipeline.id, node.id, group_id=self.group.id)
            self.places[node.id] = self.group.id
            added.append(AddedNode(node.id, node.tag, self.names[place] if place else None))
        return tuple(added), tuple(already_in)


@dataclass(frozen=True, slots=True)
class GroupService:
    context: WorkspaceContext

    def new(self, pipeline: str, name: str, members: builtins.list[str]) -> GroupChange:
        """Group nodes of a pipeline under a new group ``name``; a node in another group is
        moved (a node is in at most one group per pipeline). The answer says which nodes were
        added and which of them were moved from which group."""
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            _check_free(session, target, name)
            group = Group(new_id(), target.id, name, collapsed=False)
            session.insert_group(group)
            added, already_in = _Members(session, target, group).put_in(members)
            return GroupChange(group, added, already_in)

    def list(self, pipeline: str) -> builtins.list[Group]:
        with self.context.store.read() as session:
            return session.groups_of_pipeline(resolver.pipeline(session, pipeline).id)

    def add(self, pipeline: str, name: str, members: builtins.list[str]) -> GroupChange:
        """Put ``members`` (ids or tags) of ``pipeline`` in group ``name``; a node in another
        group is moved (a node is in at most one group). The answer says which nodes were
        added, which of them were moved from which group, and which were in it already."""
        return self.update(pipeline, name, add=members)

    def update(
        self,
        pipeline: str,
        name: str,
        *,
        remove: Sequence[str] = (),
        add: Sequence[str] = (),
        collapsed: bool | None = None,
        new_name: str | None = None,
    ) -> GroupChange:
        """Change group ``name`` in one step, in this order: take ``remove`` out of it (each
        must be in it: a node in another group or in none is refused, naming where it is), put
        ``add`` in it, collapse or expand it, rename it. Refused in any part, nothing changes."""
        with self.context.store.write() as session:
            target = resolver.pipeline(session, pipeline)
            if remove or add or new_name is not None:
                check_pipeline_editable(target)
            group = _group(session, target, name)
            members = _Members(session, target, group)
            removed = members.take_out(remove) if remove else ()
            added, already_in = members.put_in(add) if add else ((), ())
            if collapsed is not None:
                session.update_group(group.id, collapsed=collapsed)
                group = Group(group.id, group.pipeline_id, group.name, collapsed)
            if new_name is not None and new_name != group.name:
                _check_free(session, target, new_name)
                session.update_group(group.id, name=new_name)
                group = Group(group.id, group.pipeline_id, new_name, group.collapsed)
            return GroupChange(group, added, already_in, removed)

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
