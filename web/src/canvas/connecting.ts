// Whether a connection dragged on the canvas would be refused, and why, before it is dropped:
// the server's own checks (a child read-only here, an edge already there, a cycle, a node into
// itself) made against the edges the page already has, so that the handle under the pointer
// shows the refusal during the drag and a drop there sends nothing.
//
// What a drag starts from is fixed: the nodes connecting it to would close a cycle (a source's
// ancestors, a target's descendants) are found once per drag, in one pass over the edges, and
// each handle hovered is then checked in constant time, however large the pipeline. The server
// stays the authority: a connection let through here may still be refused there.
import type { Hint } from "../api/hints";
import type { CanvasNode, PipelineGraph } from "../api/types";
import { GROUP_PREFIX } from "./flow";

/** The side of the connection the drag started from: an output (source) or an input (target). */
export type End = "source" | "target";

/** Why a connection would be refused: the server's sentence, its hint, and the cycle it would
 * close (the node ids around it, the first repeated last), if that is why. */
export interface Refused {
  message: string;
  hint: Hint | null;
  cycle: string[] | null;
}

/** A drag's fixed end, worked out once for the graph it started on. */
interface Fixed {
  graph: PipelineGraph;
  node: string;
  end: End;
  nodes: Map<string, CanvasNode>;
  /** The nodes a connection with the fixed end would close a cycle through (the fixed node
   * too), each with the node it was reached from on the way from the fixed one. */
  closing: Map<string, string | null>;
  /** The nodes already connected to the fixed end on the other side, with the slot. */
  linked: Map<string, string>;
}

let fixed: Fixed | null = null;

/** What a drag from ``end`` of ``node`` cannot connect to: O(nodes + edges), once per drag. */
function fix(graph: PipelineGraph, node: string, end: End): Fixed {
  if (fixed && fixed.graph === graph && fixed.node === node && fixed.end === end) return fixed;
  // From a source, a cycle closes through its ancestors: walk the edges upwards; from a
  // target, through its descendants: walk them downwards.
  const next = new Map<string, string[]>();
  const linked = new Map<string, string>();
  for (const edge of graph.edges) {
    const [at, to] = end === "source" ? [edge.child_id, edge.parent_id] : [edge.parent_id, edge.child_id];
    const known = next.get(at);
    if (known) known.push(to);
    else next.set(at, [to]);
    if (end === "source" && edge.parent_id === node) linked.set(edge.child_id, edge.slot);
    if (end === "target" && edge.child_id === node) linked.set(edge.parent_id, edge.slot);
  }
  const closing = new Map<string, string | null>([[node, null]]);
  const queue = [node];
  for (let index = 0; index < queue.length; index += 1) {
    const at = queue[index] as string;
    for (const to of next.get(at) ?? []) {
      if (closing.has(to)) continue;
      closing.set(to, at);
      queue.push(to);
    }
  }
  fixed = { graph, node, end, nodes: new Map(graph.nodes.map((n) => [n.id, n])), closing, linked };
  return fixed;
}

/** Work out what a drag from ``end`` of ``node`` cannot connect to, as it starts. */
export function startDrag(graph: PipelineGraph, node: string, end: End): void {
  if (!node.startsWith(GROUP_PREFIX)) fix(graph, node, end);
}

/** The cycle ``parent → child`` would close, from the way ``other`` was reached. */
function cycleOf(found: Fixed, other: string): string[] {
  const chain = [other];
  for (let at = found.closing.get(other); at != null; at = found.closing.get(at)) chain.push(at);
  // from a source P: chain is other → … → P (downwards), the cycle P → other → … → P;
  // from a target C: chain is other ← … ← C, the cycle other → C → … → other
  return found.end === "source" ? [found.node, ...chain] : [other, ...chain.reverse()];
}

/** Past this many nodes a cycle is named by its ends (it is outlined on the canvas whole). */
const NAMED = 12;

function named(cycle: string[], tag: (id: string) => string): string {
  if (cycle.length <= NAMED) return cycle.map(tag).join(" → ");
  const head = cycle.slice(0, NAMED / 2).map(tag);
  const tail = cycle.slice(1 - NAMED / 2).map(tag);
  return [...head, `… ${cycle.length - head.length - tail.length} more …`, ...tail].join(" → ");
}

/** Why connecting ``source`` to ``target`` would be refused, dragged from ``end``; null when
 * the page sees nothing against it. */
export function refusal(graph: PipelineGraph, source: string, target: string, end: End): Refused | null {
  const group = [source, target].find((id) => id.startsWith(GROUP_PREFIX));
  if (group) {
    const name = graph.groups.find((g) => GROUP_PREFIX + g.id === group)?.name ?? "";
    return { message: `group ${name} is collapsed: expand it to connect its nodes`, hint: null, cycle: null };
  }
  const found = fix(graph, end === "source" ? source : target, end);
  const other = end === "source" ? target : source;
  const tag = (id: string) => found.nodes.get(id)?.tag ?? id;
  const cannot = `cannot connect ${tag(source)} → ${tag(target)}`;
  const child = found.nodes.get(target);
  if (graph.pipeline.locked) {
    const hint: Hint = { action: "pipeline.unlock", params: { pipeline: graph.pipeline.tag } };
    return { message: `${cannot}: pipeline '${graph.pipeline.tag}' is locked (read-only)`, hint, cycle: null };
  }
  if (child?.locked) {
    return { message: `${cannot}: node '${child.tag}' is locked (read-only)`, hint: { action: "node.unlock", params: {} }, cycle: null };
  }
  if (child?.reference) {
    const message = `${cannot}: node '${child.tag}' is a reference here (read-only)`;
    return { message, hint: { action: "node.detach", params: {} }, cycle: null };
  }
  const slot = found.linked.get(other);
  if (slot !== undefined) return { message: `${tag(source)} is already input ${slot} of ${tag(target)}`, hint: null, cycle: null };
  if (!found.closing.has(other)) return null;
  const cycle = cycleOf(found, other);
  const names = named(cycle, tag);
  return { message: `${cannot}: it would close the cycle ${names}; nothing was changed`, hint: null, cycle };
}
