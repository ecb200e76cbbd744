// Visual groups and positions: group, ungroup, collapse, rename; auto-layout and dragging.
import { toast } from "sonner";
import { api, call } from "../api/client";
import type { Group } from "../api/types";
import { autoLayout, type Point } from "../canvas/layout";
import { ask } from "../dialogs/dialogs";
import { getApp, setApp } from "../store/app";
import { replaceOpenedGraph } from "../store/opened";
import { askAndDo, attempt, currentPipeline, editField, refresh, typedText } from "./common";
import { addedToGroup, grouped, moved, ungrouped } from "../undo/edits";
import { record } from "../undo/history";

type GroupChange = { name: string; added: { tag: string; moved_from: string | null }[] };

/** The groups `ids` are in now (node id -> its group), for the nodes in one. */
function groupsOf(ids: string[]): Record<string, { group: string; name: string }> {
  const graph = getApp().graph;
  const from: Record<string, { group: string; name: string }> = {};
  for (const id of ids) {
    const group = graph?.groups.find((g) => g.id === graph.nodes.find((n) => n.id === id)?.group_id);
    if (group) from[id] = { group: group.id, name: group.name };
  }
  return from;
}

/** A node is in one group at most: one taken from another group is said, not moved silently. */
function sayMoves(change: GroupChange): void {
  const moves = change.added.filter((n) => n.moved_from).map((n) => `${n.tag} from ${n.moved_from}`);
  if (moves.length) toast(`Moved ${moves.join(", ")} to ${change.name}`);
}

export async function groupNodes(ids: string[]): Promise<void> {
  const before = groupsOf(ids);
  // a name the server refuses (taken, invalid) is said beside it, the dialog open with it
  const made = await askAndDo(
    { title: "Group nodes", confirm: "Group", fields: [{ name: "name", label: "Group name", kind: "text" }] },
    (typed) =>
      call(
        api.POST("/api/pipelines/{pipeline}/groups", {
          params: { path: { pipeline: currentPipeline() } },
          body: { name: typedText(typed, "name"), nodes: ids },
        }),
      ),
  );
  if (!made) return;
  record(grouped(made.result.id, made.result.name, ids, before));
  await attempt(refresh);
  sayMoves(made.result);
}

export async function addToGroup(ids: string[]): Promise<void> {
  const groups = getApp().graph?.groups ?? [];
  const values = await ask({
    title: "Add to a group",
    confirm: "Add",
    fields: [{ name: "group", label: "Group", kind: "select", options: groups.map((g) => ({ value: g.id, label: g.name })) }],
  });
  if (!values) return;
  const group = String(values["group"]);
  const before = groupsOf(ids);
  await attempt(async () => {
    const params = { path: { pipeline: currentPipeline(), group } };
    const change = await call(api.PATCH("/api/pipelines/{pipeline}/groups/{group}", { params, body: { add_nodes: ids } }));
    const added = new Set(change.added.map((n) => n.node_id));
    if (added.size) record(addedToGroup(group, change.name, [...added], before));
    await refresh();
    sayMoves(change);
  });
}

async function patchGroup(group: string, body: Record<string, unknown>): Promise<void> {
  const pipeline = currentPipeline();
  await call(
    api.PATCH("/api/pipelines/{pipeline}/groups/{group}", {
      params: { path: { pipeline, group } },
      body,
    }),
  );
  await refresh();
}

export const setCollapsed = (group: Group, collapsed: boolean) =>
  attempt(() => patchGroup(group.id, { collapsed }));

export const renameGroup = (group: Group) =>
  editField(
    { title: "Rename group", confirm: "Save" },
    { name: "name", label: "Name", kind: "text", value: group.name },
    (body) =>
      call(api.PATCH("/api/pipelines/{pipeline}/groups/{group}", { params: { path: { pipeline: currentPipeline(), group: group.id } }, body })),
    refresh,
  );

export async function ungroupNodes(ids: string[]): Promise<void> {
  const from = groupsOf(ids);
  // each group is asked to let go of its own nodes only (the server refuses a node of another)
  const byGroup = new Map<string, string[]>();
  for (const [node, { group }] of Object.entries(from)) byGroup.set(group, [...(byGroup.get(group) ?? []), node]);
  await attempt(async () => {
    for (const [group, nodes] of byGroup) await patchGroup(group, { remove_nodes: nodes });
    if (byGroup.size) record(ungrouped(from));
  });
}

export async function deleteGroup(group: Group): Promise<void> {
  const yes = await ask({
    title: `Delete group ${group.name}`,
    body: "Only the group goes; its nodes stay in the pipeline.",
    confirm: "Delete group",
    danger: true,
  });
  if (!yes) return;
  await attempt(async () => {
    const pipeline = currentPipeline();
    await call(
      api.DELETE("/api/pipelines/{pipeline}/groups/{group}", {
        params: { path: { pipeline, group: group.id } },
      }),
    );
    await refresh();
  });
}

/** Keep positions (they are per pipeline); the canvas already shows them. `label` names the
 * edit for Undo ("move" a node, "auto layout"); without one it is not recorded. */
export async function savePositions(positions: Record<string, Point>, label: string | null = "move"): Promise<void> {
  const pipeline = currentPipeline();
  const { graph } = getApp();
  const before: Record<string, Point> = {};
  for (const node of graph?.nodes ?? []) if (positions[node.id]) before[node.id] = { x: node.x, y: node.y };
  if (graph) {
    const nodes = graph.nodes.map((n) => (positions[n.id] ? { ...n, ...positions[n.id] } : n));
    replaceOpenedGraph({ ...graph, nodes });
  }
  const saved = await attempt(() =>
    call(
      api.PUT("/api/pipelines/{pipeline}/positions", {
        params: { path: { pipeline } },
        body: {
          positions: Object.entries(positions).map(([node_id, p]) => ({ node_id, x: p.x, y: p.y })),
        },
      }),
    ),
  );
  if (saved !== undefined && label) record(moved(before, positions, label));
}

export async function layoutPipeline(quiet = false): Promise<void> {
  const { graph } = getApp();
  if (!graph || graph.nodes.length === 0) return;
  const positions = autoLayout(
    graph.nodes.map((n) => n.id),
    graph.edges.map((e) => ({ source: e.parent_id, target: e.child_id })),
    Object.fromEntries(graph.nodes.map((n) => [n.id, n.group_id])),
  );
  await savePositions(positions, quiet ? null : "auto layout");
  setApp((s) => ({ layoutRequest: s.layoutRequest + 1 }));
  if (!quiet) toast.success("Laid out the graph", { id: "layout" });
}
