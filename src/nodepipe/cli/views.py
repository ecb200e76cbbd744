"""Human renderings of pipelines, nodes, projects and groups (their JSON is their schema's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nodepipe.cli.listing import Cell, Listing
from nodepipe.cli.output import console, counted, done, escape, say
from nodepipe.domain.graph import heads
from nodepipe.domain.model import Group, Node, Pipeline, PipelineView, Project
from nodepipe.domain.states import NodeState

if TYPE_CHECKING:  # the service (and the store) only when a command runs
    from rich.tree import Tree

    from nodepipe.domain.views import NodeDetails, RemovalReport
    from nodepipe.services.graph.replacing import Replacement

STATE_STYLES = {
    NodeState.READY: "white",
    NodeState.QUEUED: "cyan",
    NodeState.RUNNING: "blue",
    NodeState.COMPLETED: "green",
    NodeState.FAILED: "red",
    NodeState.STALE: "yellow",
    NodeState.CANCELLED: "magenta",
}


def styled_state(state: NodeState) -> Cell:
    return Cell(state.value, STATE_STYLES[state])


def table(*columns: str) -> Listing:
    """A borderless table with bold headers, the style of every listing (``cli.listing``:
    drawn without rich)."""
    return Listing(*columns)


def add_row(grid: Listing, *cells: str | Cell) -> None:
    """Add a row whose text cells are shown verbatim (names may hold ``[``)."""
    grid.add_row(*cells)


def print_pipeline(view: PipelineView) -> None:
    pipeline = view.pipeline
    lock = " [red]locked[/]" if pipeline.locked else ""
    say(
        f"[bold]{escape(pipeline.tag)}[/] ({pipeline.id}) in project {escape(view.project.name)}"
        f"{lock} — {counted(len(view.nodes), 'node')}, {counted(len(view.edges), 'edge')}"
    )
    if pipeline.notes:
        done(f"  {pipeline.notes}")
    tags = {item.node.id: item.node.tag for item in view.nodes}
    groups = {g.id: g.name for g in view.groups}
    rows = table("id", "tag", "state", "inputs", "role", "group", "why")
    for item in view.nodes:
        node = item.node
        inputs = ", ".join(
            f"{e.slot}←{tags.get(e.parent_id, e.parent_id)}" for e in view.inputs(node.id)
        )
        role = "reference" if item.is_reference else "own"
        if node.locked:
            role += ", locked"
        add_row(
            rows,
            node.id,
            node.tag,
            styled_state(node.state),
            inputs or "-",
            role,
            groups.get(item.membership.group_id or "", ""),
            node.state_reason,
        )
    rows.write()
    for name, node_ids in view.declared_inputs.items():  # what it needs when included
        done(f"bundle input {name}: taken by {', '.join(sorted(tags[i] for i in node_ids))}")
    if view.edges:
        console.print(_graph_tree(view, tags))


def _graph_tree(view: PipelineView, tags: dict[str, str]) -> Tree:
    """Heads at the root, children below; a node met again is shown once and marked."""
    from rich.tree import Tree

    tree = Tree("[dim]graph[/]")
    seen: set[str] = set()

    def grow(branch: Tree, node_id: str) -> None:
        if node_id in seen:
            branch.add(f"{escape(tags[node_id])} [dim]({node_id}, shown above)[/]")
            return
        seen.add(node_id)
        child = branch.add(f"{escape(tags[node_id])} [dim]{node_id}[/]")
        for edge in sorted(view.edges, key=lambda e: (e.slot, e.child_id)):
            if edge.parent_id == node_id:
                grow(child, edge.child_id)

    for head in sorted(heads(view.node_ids, view.edges), key=lambda i: tags[i]):
        grow(tree, head)
    return tree


def print_pipelines(pipelines: Sequence[Pipeline], projects: dict[str, str]) -> None:
    rows = table("id", "tag", "project", "locked", "notes")
    for p in pipelines:
        add_row(
            rows,
            p.id,
            p.tag,
            projects.get(p.project_id, p.project_id),
            "yes" if p.locked else "",
            p.notes,
        )
    rows.write()


def print_projects(projects: Sequence[Project]) -> None:
    rows = table("id", "name", "notes")
    for p in projects:
        add_row(rows, p.id, p.name, p.notes)
    rows.write()


def print_nodes(nodes: Sequence[Node]) -> None:
    rows = table("id", "tag", "state", "locked", "notes")
    for n in nodes:
        add_row(rows, n.id, n.tag, styled_state(n.state), "yes" if n.locked else "", n.notes)
    rows.write()


def print_node(details: NodeDetails) -> None:
    node = details.node
    state = node.state
    say(
        f"[bold]{escape(node.tag)}[/] ({node.id}) [{STATE_STYLES[state]}]{state.value}[/]"
        + (" [red]locked[/]" if node.locked else "")
    )
    lines = [f"  why: {node.state_reason}"] if node.state_reason else []
    lines += [f"  notes: {node.notes}"] if node.notes else []
    lines.append(f"  folder: {details.folder}")
    lines.append(
        f"  belongs to: {details.owner_pipeline}; shown in: " + ", ".join(details.pipelines)
    )
    lines += [f"  input {link.slot} ← {link.tag} ({link.node_id})" for link in details.inputs]
    lines += [
        f"  output → {link.tag} ({link.node_id}) as its input {link.slot}"
        for link in details.outputs
    ]
    lines.append(f"  parameters: {details.params or '{}'}")
    lines += [_isolation_line(details.isolation)] if details.isolation != "own" else []
    for line in lines:
        done(line)


def _isolation_line(isolation: str) -> str:
    """How a node without an environment of its own runs, as ``env show`` says it (plain
    text: ``print_node`` prints its lines without markup)."""
    kind, _, where = isolation.partition(":")
    if kind == "unknown":  # its pyproject.toml cannot be read: the "why" line says so
        return "  environment: not known while its pyproject.toml cannot be read"
    if kind == "interpreter":
        return f"  not isolated: runs with {where} (no environment of its own)"
    return f"  uses the shared environment {where} (not its own)"


def print_groups(groups: Sequence[Group]) -> None:
    rows = table("id", "name", "collapsed")
    for g in groups:
        add_row(rows, g.id, g.name, "yes" if g.collapsed else "")
    rows.write()


def print_removal(report: RemovalReport, pipeline: str, whole: bool = False) -> None:
    """What ``node rm`` (or, ``whole``, ``pipeline rm``) did."""
    removed = counted(len(report.removed), "node")
    done(
        f"deleted pipeline {pipeline} ({removed})"
        if whole
        else f"removed {removed} from {pipeline}"
    )
    if report.deleted:
        done(
            "  deleted with their folders (no other pipeline shows them): "
            + ", ".join(report.deleted)
        )
    for node_id, heir in report.transferred.items():
        done(f"  {node_id} is still used by {heir}, which now owns it")
    for link in report.disconnected:
        done(f"  disconnected {link}")


def print_replacement(replaced: Replacement) -> None:
    old, new = replaced.old, replaced.new
    done(f"{new.tag} ({new.id}) replaces {old.tag} ({old.id})")
    for link in replaced.rewired:
        done(f"  input {link} now reads {new.tag}")
    for user in replaced.relinked:
        done(f"  {user} now installs its library package from {new.tag}")
    if replaced.removal is None:
        done(f"  kept {old.tag}, without children")
    elif replaced.removal.deleted:
        done(f"  removed {old.tag} and deleted its folder (no other pipeline shows it)")
    else:
        done(f"  removed {old.tag} from this pipeline (other pipelines still show it)")
