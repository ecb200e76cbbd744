// The inverse of each graph edit, made of the API calls the edit itself uses: connect and
// disconnect, create, move, group and ungroup (deletion and paste: see removals.ts). Each checks
// first that what it is about to change is as the edit left it (else UndoConflict: nothing done).
// A node or group made again gets a new id (ids are never reused); `aliases` maps the old id to
// the new one, so older edits on the stacks still find it.
import { api, call } from "../api/client";
import type { GraphEdge } from "../api/types";
import { currentPipeline } from "../actions/common";
import { getApp, graphNode } from "../store/app";
import { UndoConflict, type Edit } from "./history";

const aliases = new Map<string, string>();

/** The id a node or group has now, after being made again by undo or redo. */
export function current(id: string): string {
  let seen = id;
  for (let hops = 0; aliases.has(seen) && hops < 1000; hops++) seen = aliases.get(seen) ?? seen;
  return seen;
}

export function alias(oldId: string, newId: string): void {
  if (oldId !== newId) aliases.set(oldId, newId);
}

export function tagOf(id: string): string {
  return graphNode(getApp().graph, current(id))?.tag ?? id;
}

/** The node as the graph shows it now, or UndoConflict naming it. */
export function present(id: string, tag: string): string {
  const now = current(id);
  if (!graphNode(getApp().graph, now)) throw new UndoConflict(`${tag} is no longer in this pipeline`);
  return now;
}

function edgeNow(parent: string, child: string): GraphEdge | undefined {
  const p = current(parent);
  const c = current(child);
  return getApp().graph?.edges.find((e) => e.parent_id === p && e.child_id === c);
}

async function addEdge(parent: string, child: string, slot: string): Promise<void> {
  const pipeline = currentPipeline();
  await call(api.POST("/api/pipelines/{pipeline}/edges", { params: { path: { pipeline } }, body: { parent, child, slot } }));
}

async function removeEdge(parent: string, child: string): Promise<void> {
  const pipeline = currentPipeline();
  await call(api.DELETE("/api/pipelines/{pipeline}/edges/{parent}/{child}", { params: { path: { pipeline, parent, child } } }));
}

function edgeEdits(parent: string, child: string, slot: string) {
  const [parentTag, childTag] = [tagOf(parent), tagOf(child)];
  const names = `${parentTag} → ${childTag}`;
  const connectAgain = async () => {
    if (edgeNow(parent, child)) throw new UndoConflict(`${names} is connected already`);
    await addEdge(present(parent, parentTag), present(child, childTag), slot);
  };
  const cutAgain = async () => {
    const edge = edgeNow(parent, child);
    if (!edge) throw new UndoConflict(`${names} is no longer connected`);
    if (edge.slot !== slot) throw new UndoConflict(`${names} is now on input ${edge.slot}`);
    await removeEdge(edge.parent_id, edge.child_id);
  };
  return { names, connectAgain, cutAgain };
}

export function connected(edge: GraphEdge): Edit {
  const { names, connectAgain, cutAgain } = edgeEdits(edge.parent_id, edge.child_id, edge.slot);
  return { label: `connect ${names}`, undo: cutAgain, redo: connectAgain };
}

export function disconnected(edge: GraphEdge): Edit {
  const { names, connectAgain, cutAgain } = edgeEdits(edge.parent_id, edge.child_id, edge.slot);
  return { label: `disconnect ${names}`, undo: connectAgain, redo: cutAgain };
}

type Positions = Record<string, { x: number; y: number }>;

async function place(positions: Positions, label: string): Promise<void> {
  const graph = getApp().graph;
  const entries = Object.entries(positions)
    .map(([id, p]) => ({ node_id: current(id), x: p.x, y: p.y }))
    .filter((p) => graphNode(graph, p.node_id));
  if (entries.length === 0) throw new UndoConflict(`the nodes of this ${label} are no longer in this pipeline`);
  const pipeline = currentPipeline();
  await call(api.PUT("/api/pipelines/{pipeline}/positions", { params: { path: { pipeline } }, body: { positions: entries } }));
}

/** Nodes moved (dragged, or laid out): undo puts them back where they were. */
export function moved(before: Positions, after: Positions, label: string): Edit {
  const ids = Object.keys(after);
  const what = label === "move" ? `move ${ids.length === 1 ? tagOf(ids[0] ?? "") : `${ids.length} nodes`}` : label;
  return { label: what, undo: () => place(before, what), redo: () => place(after, what) };
}

async function patchGroup(group: string, body: { add_nodes?: string[]; remove_nodes?: string[] }): Promise<void> {
  const pipeline = currentPipeline();
  await call(api.PATCH("/api/pipelines/{pipeline}/groups/{group}", { params: { path: { pipeline, group } }, body }));
}

function groupNow(groupId: string, name: string): string {
  const id = current(groupId);
  if (!getApp().graph?.groups.some((g) => g.id === id)) throw new UndoConflict(`group ${name} no longer exists`);
  return id;
}

type Places = Record<string, { group: string; name: string }>;

/** Where `from`'s nodes are to go back to, as ids now (group -> its nodes); UndoConflict, before
 * anything is done, if a group or a node is no longer there. */
function placesNow(from: Places, tags: Map<string, string>): Map<string, string[]> {
  const byGroup = new Map<string, string[]>();
  for (const [node, { group, name }] of Object.entries(from)) {
    const id = groupNow(group, name);
    byGroup.set(id, [...(byGroup.get(id) ?? []), present(node, tags.get(node) ?? node)]);
  }
  return byGroup;
}

async function putBack(byGroup: Map<string, string[]>): Promise<void> {
  for (const [group, nodes] of byGroup) await patchGroup(group, { add_nodes: nodes });
}

function tagsOf(ids: string[]): Map<string, string> {
  return new Map(ids.map((id) => [id, tagOf(id)]));
}

/** A group made of `ids`: undo deletes the group (its nodes stay) and puts the nodes it took
 * from other groups (`before`) back there; redo makes it again. */
export function grouped(groupId: string, name: string, ids: string[], before: Places = {}): Edit {
  const tags = tagsOf(ids);
  return {
    label: `group ${name}`,
    undo: async () => {
      const pipeline = currentPipeline();
      const group = groupNow(groupId, name);
      const back = placesNow(before, tags);
      await call(api.DELETE("/api/pipelines/{pipeline}/groups/{group}", { params: { path: { pipeline, group } } }));
      await putBack(back);
    },
    redo: async () => {
      const pipeline = currentPipeline();
      const nodes = ids.map((id) => present(id, tags.get(id) ?? id));
      const made = await call(api.POST("/api/pipelines/{pipeline}/groups", { params: { path: { pipeline } }, body: { name, nodes } }));
      alias(current(groupId), made.id);
    },
  };
}

/** Nodes added to an existing group (`ids`: those it did not hold): undo takes them out and puts
 * those it took from other groups (`before`) back there; redo adds them again. */
export function addedToGroup(groupId: string, name: string, ids: string[], before: Places): Edit {
  const tags = tagsOf(ids);
  const moved = Object.fromEntries(Object.entries(before).filter(([id]) => tags.has(id)));
  const nodesNow = () => ids.map((id) => present(id, tags.get(id) ?? id));
  return {
    label: `add ${ids.length === 1 ? (tags.get(ids[0] ?? "") ?? "") : `${ids.length} nodes`} to ${name}`,
    undo: async () => {
      const group = groupNow(groupId, name);
      const nodes = nodesNow();
      const back = placesNow(moved, tags);
      await patchGroup(group, { remove_nodes: nodes });
      await putBack(back);
    },
    redo: async () => {
      const group = groupNow(groupId, name);
      await patchGroup(group, { add_nodes: nodesNow() });
    },
  };
}

/** Nodes taken out of their groups (`from`: node id -> group id and name). */
export function ungrouped(from: Places): Edit {
  const ids = Object.keys(from);
  const tags = tagsOf(ids);
  const names = [...new Set(Object.values(from).map((g) => g.name))].join(", ");
  const label = `remove ${ids.length === 1 ? tagOf(ids[0] ?? "") : `${ids.length} nodes`} from ${names}`;
  const each = async (verb: "add_nodes" | "remove_nodes") => {
    for (const [group, nodes] of placesNow(from, tags)) await patchGroup(group, { [verb]: nodes });
  };
  return { label, undo: () => each("add_nodes"), redo: () => each("remove_nodes") };
}
