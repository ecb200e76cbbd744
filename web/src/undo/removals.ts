// Undoing edits that make or delete nodes: create, delete (without outputs) and paste.
// A deleted node's folder is gone, and ids are never reused: undo makes it again as a new node
// with the same tag, notes, parameters, code files (read before the deletion), place, group and
// edges; its environment starts anew (pyproject.toml and uv.lock are not written back over a
// fresh environment), and the toast says so. Undo never deletes outputs: a node that ran since
// is refused.
import { api, call } from "../api/client";
import type { GraphEdge } from "../api/types";
import { currentPipeline } from "../actions/common";
import { getApp, graphNode } from "../store/app";
import { alias, current, present } from "./edits";
import { UndoConflict, type Edit } from "./history";

export interface NodeCopy {
  id: string;
  tag: string;
  notes: string;
  x: number;
  y: number;
  groupId: string | null;
  sharedEnv: string | null;
  paramsText: string;
  template?: string | null;
  /** Code files (relative to code/) and their text, as they were before the deletion. */
  code?: { path: string; text: string }[];
}

/** Code files undo does not write back: the parameters (restored through their own call) and
 * the environment's files (a fresh environment was made for the new node). */
const NOT_CODE = new Set(["params.yaml", "pyproject.toml", "uv.lock"]);
const MAX_FILES = 100;
const MAX_BYTES = 1024 * 1024;

/** The node's code files as text, before it is deleted (binary or huge files are left out). */
async function codeOf(pipeline: string, node: string): Promise<{ path: string; text: string }[]> {
  const listed = await call(api.GET("/api/pipelines/{pipeline}/nodes/{node}/code", { params: { path: { pipeline, node } } }));
  const wanted = listed.files.filter((f) => !NOT_CODE.has(f.path) && f.size <= MAX_BYTES).slice(0, MAX_FILES);
  const read = await Promise.all(
    wanted.map((f) =>
      call(api.GET("/api/pipelines/{pipeline}/nodes/{node}/code/file", { params: { path: { pipeline, node }, query: { file: f.path } } }))
        .then((file) => ({ path: file.path, text: file.text }))
        .catch(() => null),
    ),
  );
  return read.flatMap((file) => file ?? []);
}

/** What undoing a deletion needs: the nodes as they were and every edge they had. */
export interface Deletion {
  nodes: NodeCopy[];
  edges: GraphEdge[];
}

/** The nodes `ids` as they are now (with their parameters), before they are deleted. */
export async function snapshot(ids: string[]): Promise<Deletion> {
  const { graph } = getApp();
  const pipeline = currentPipeline();
  const chosen = new Set(ids);
  const nodes = await Promise.all(
    ids.flatMap((id) => graphNode(graph, id) ?? []).map(async (node) => {
      const detail = await call(api.GET("/api/pipelines/{pipeline}/nodes/{node}", { params: { path: { pipeline, node: node.id } } }));
      const code = await codeOf(pipeline, node.id);
      const shared = node.isolation.startsWith("shared:") ? node.isolation.slice("shared:".length) : null;
      return { id: node.id, tag: node.tag, notes: node.notes, x: node.x, y: node.y, groupId: node.group_id, sharedEnv: shared, paramsText: detail.params_text, code };
    }),
  );
  const edges = (graph?.edges ?? []).filter((e) => chosen.has(e.parent_id) || chosen.has(e.child_id));
  return { nodes, edges };
}

/** Delete nodes this page made, unless they have outputs or other pipelines show them now; and
 * take out of this pipeline the references ``shown`` with them (a paste's outside parents),
 * unless a node that stays reads one of them now. */
async function removeUntouched(nodes: { id: string; tag: string }[], shown: { id: string; tag: string }[] = []): Promise<void> {
  const pipeline = currentPipeline();
  const ids = nodes.map((n) => present(n.id, n.tag));
  const references = shown.flatMap((n) => (graphNode(getApp().graph, current(n.id)) ? [current(n.id)] : []));
  const leaving = new Set([...ids, ...references]);
  for (const edge of getApp().graph?.edges ?? []) {
    if (references.includes(edge.parent_id) && !leaving.has(edge.child_id)) {
      const [parent, child] = [graphNode(getApp().graph, edge.parent_id), graphNode(getApp().graph, edge.child_id)];
      throw new UndoConflict(`${child?.tag ?? edge.child_id} reads ${parent?.tag ?? edge.parent_id} now`);
    }
  }
  const all = [...ids, ...references];
  const preview = await call(api.GET("/api/pipelines/{pipeline}/removal-preview", { params: { path: { pipeline }, query: { nodes: all } } }));
  for (const effect of preview.effects) {
    if (effect.has_outputs && effect.fate === "deleted") throw new UndoConflict(`${effect.tag} has outputs now (it ran since), and undo never deletes outputs`);
    const expected = references.includes(effect.node_id) ? "removed" : "deleted";
    if (effect.fate !== expected) throw new UndoConflict(`${effect.tag} is shown in another pipeline now`);
  }
  await call(api.DELETE("/api/pipelines/{pipeline}/nodes", { params: { path: { pipeline }, query: { nodes: all } } }));
}

async function makeNode(pipeline: string, node: NodeCopy): Promise<void> {
  const made = await call(
    api.POST("/api/pipelines/{pipeline}/nodes", {
      params: { path: { pipeline } },
      body: { tag: node.tag, notes: node.notes, allow_duplicate_tag: false, template: node.template ?? null, shared_env: node.sharedEnv, x: node.x, y: node.y },
    }),
  );
  alias(current(node.id), made.id);
  if (node.paramsText.trim()) {
    await call(api.PUT("/api/pipelines/{pipeline}/nodes/{node}/params", { params: { path: { pipeline, node: made.id } }, body: { yaml: node.paramsText } }));
  }
  for (const file of node.code ?? []) {
    await call(
      api.PUT("/api/pipelines/{pipeline}/nodes/{node}/code/file", {
        params: { path: { pipeline, node: made.id } },
        body: { file: file.path, text: file.text, version: null, overwrite: true },
      }),
    );
  }
}

/** Make the nodes of `deletion` again, with their edges and groups; what could not be, named. */
async function makeAgain(deletion: Deletion): Promise<string[]> {
  const pipeline = currentPipeline();
  const graph = getApp().graph;
  const taken = deletion.nodes.filter((n) => graph?.nodes.some((m) => m.tag === n.tag));
  if (taken.length) throw new UndoConflict(`a node tagged ${taken.map((n) => n.tag).join(", ")} is in this pipeline now`);
  for (const node of deletion.nodes) await makeNode(pipeline, node);
  const made = new Set(deletion.nodes.map((n) => current(n.id)));
  const exists = (id: string) => made.has(id) || graphNode(graph, id) !== undefined;
  const missed: string[] = [];
  for (const edge of deletion.edges) {
    const [parent, child] = [current(edge.parent_id), current(edge.child_id)];
    if (!exists(parent) || !exists(child)) continue;
    try {
      await call(api.POST("/api/pipelines/{pipeline}/edges", { params: { path: { pipeline } }, body: { parent, child, slot: edge.slot } }));
    } catch {
      missed.push(`the edge on input ${edge.slot}`);
    }
  }
  const groups = new Set(graph?.groups.map((g) => g.id));
  for (const node of deletion.nodes) {
    const group = node.groupId ? current(node.groupId) : null;
    if (!group) continue;
    if (!groups.has(group)) missed.push(`${node.tag}'s group`);
    else await call(api.PATCH("/api/pipelines/{pipeline}/groups/{group}", { params: { path: { pipeline, group } }, body: { add_nodes: [current(node.id)] } }));
  }
  return missed;
}

function named(nodes: { tag: string }[]): string {
  return nodes.length <= 3 ? nodes.map((n) => n.tag).join(", ") : `${nodes.length} nodes`;
}

/** A node just created: undo deletes it (while it has no outputs), redo makes it again. */
export function created(node: NodeCopy): Edit {
  return {
    label: `create ${node.tag}`,
    undo: () => removeUntouched([node]),
    redo: () => makeAgain({ nodes: [node], edges: [] }),
  };
}

/** Nodes deleted without outputs: undo makes them again (new ids) and says what is not back. */
export function deleted(deletion: Deletion): Edit {
  return {
    label: `delete ${named(deletion.nodes)}`,
    undo: async () => {
      const missed = await makeAgain(deletion);
      const again = `Made again as new node(s) with the same tag, notes, parameters, code files, place and edges; their environment starts anew (the folder was deleted): add its packages again in the Environment tab.`;
      return missed.length ? `${again} Not brought back: ${missed.join(", ")}.` : again;
    },
    redo: () => removeUntouched(deletion.nodes),
  };
}

/** Copies just pasted, and the outside parents the paste showed here as references: undo
 * deletes the copies (while they have no outputs) and takes those references out again; paste
 * again to redo. */
export function pasted(nodes: { id: string; tag: string }[], shown: { id: string; tag: string }[] = []): Edit {
  return { label: `paste ${named(nodes)}`, undo: () => removeUntouched(nodes, shown) };
}
