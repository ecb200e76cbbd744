// The pipeline graph as React Flow nodes and edges: steps, group frames, collapsed groups.
import { Position, type Edge, type Node, type NodeHandle } from "@xyflow/react";
import type { CanvasNode, Group, PipelineGraph } from "../api/types";
import { NODE_HEIGHT, NODE_WIDTH } from "./layout";

/** What a card draws besides its live state and reasons (which the card reads from the store). */
export interface StepData extends Record<string, unknown> {
  node: CanvasNode;
  highlighted: boolean;
  groupName: string | null;
  /** Another card on the canvas has the same tag: this card says which one it is. */
  twin: boolean;
}

export interface GroupData extends Record<string, unknown> {
  group: Group;
  members: CanvasNode[];
}

export type StepNode = Node<StepData, "step">;
export type GroupFrameNode = Node<GroupData, "groupFrame">;
export type CollapsedGroupNode = Node<GroupData, "groupCollapsed">;
export type FlowNode = StepNode | GroupFrameNode | CollapsedGroupNode;

export const GROUP_PREFIX = "group:";
const FRAME_PADDING = 24;
const HANDLE = 10;
/** A collapsed group's handles, given rather than measured: its card is made anew whenever the
 * steps change, and React Flow forgets measured handles of a node that comes back unmeasured
 * (the edges into and out of the group were not drawn). */
const GROUP_HANDLES: NodeHandle[] = [
  { type: "target", position: Position.Left, x: -HANDLE / 2, y: (NODE_HEIGHT - HANDLE) / 2, width: HANDLE, height: HANDLE },
  { type: "source", position: Position.Right, x: NODE_WIDTH - HANDLE / 2, y: (NODE_HEIGHT - HANDLE) / 2, width: HANDLE, height: HANDLE },
];


/** Step nodes of every node not hidden in a collapsed group, reusing unchanged objects.
 * Selection belongs to React Flow: a node keeps the ``selected`` it had. */
export function stepNodes(graph: PipelineGraph, highlighted: Set<string>, previous: Map<string, StepNode>): StepNode[] {
  const groups = new Map(graph.groups.map((g) => [g.id, g]));
  const result: StepNode[] = [];
  const tags = new Map<string, number>();
  for (const node of graph.nodes) tags.set(node.tag, (tags.get(node.tag) ?? 0) + 1);
  for (const node of graph.nodes) {
    const group = node.group_id ? groups.get(node.group_id) : undefined;
    if (group?.collapsed) continue;
    const data: StepData = {
      node,
      highlighted: highlighted.has(node.id),
      groupName: group?.name ?? null,
      twin: (tags.get(node.tag) ?? 0) > 1,
    };
    const before = previous.get(node.id);
    if (before && sameData(before.data, data)) {
      result.push(before);
      continue;
    }
    result.push({
      id: node.id,
      type: "step",
      position: before?.data.node === node ? before.position : { x: node.x, y: node.y },
      data,
      selected: before?.selected ?? false,
      ariaLabel: `node ${node.tag}`, // what a screen reader says when Tab reaches the card
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
    });
  }
  return result;
}

/** Whether a card looks the same apart from its state, which the card reads from the store:
 * a reload after a run (every state changed) leaves React Flow's nodes untouched. */
function sameData(a: StepData, b: StepData): boolean {
  return (
    sameExceptState(a.node, b.node) &&
    a.highlighted === b.highlighted &&
    a.groupName === b.groupName &&
    a.twin === b.twin
  );
}

function sameExceptState(a: CanvasNode, b: CanvasNode): boolean {
  if (a === b) return true;
  const keys = Object.keys(b) as (keyof CanvasNode)[];
  return keys.every((key) => key === "state" || key === "state_reason" || a[key] === b[key]);
}

/** A frame behind each expanded group, and one node standing for each collapsed group. */
export function groupNodes(graph: PipelineGraph, steps: StepNode[]): FlowNode[] {
  const positions = new Map(steps.map((s) => [s.id, s.position]));
  const result: FlowNode[] = [];
  const placed: { x: number; y: number }[] = [];
  for (const group of graph.groups) {
    const members = graph.nodes.filter((n) => n.group_id === group.id);
    if (members.length === 0) continue;
    const points = members.map((m) => positions.get(m.id) ?? { x: m.x, y: m.y });
    const left = Math.min(...points.map((p) => p.x));
    const top = Math.min(...points.map((p) => p.y));
    const data: GroupData = { group, members };
    if (group.collapsed) {
      result.push({
        id: GROUP_PREFIX + group.id,
        type: "groupCollapsed",
        position: freeSpot({ x: left, y: top }, [...steps.map((n) => n.position), ...placed]),
        data,
        draggable: false,
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
        handles: GROUP_HANDLES,
      });
      placed.push(result[result.length - 1]?.position ?? { x: left, y: top });
      continue;
    }
    const right = Math.max(...points.map((p) => p.x)) + NODE_WIDTH;
    const bottom = Math.max(...points.map((p) => p.y)) + NODE_HEIGHT;
    result.push({
      id: GROUP_PREFIX + group.id,
      type: "groupFrame",
      position: { x: left - FRAME_PADDING, y: top - FRAME_PADDING - 18 },
      data,
      draggable: false,
      selectable: false,
      zIndex: -1,
      width: right - left + 2 * FRAME_PADDING,
      height: bottom - top + 2 * FRAME_PADDING + 18,
      style: { width: right - left + 2 * FRAME_PADDING, height: bottom - top + 2 * FRAME_PADDING + 18 },
    });
  }
  return result;
}

/** The first spot at or below ``wanted`` where a card overlaps none of ``taken``: a collapsed
 * group's card never hides under a card that is not one of its members (nor another group's). */
function freeSpot(wanted: { x: number; y: number }, taken: { x: number; y: number }[]): { x: number; y: number } {
  const gap = 16;
  const overlaps = (spot: { x: number; y: number }) =>
    taken.some((t) => Math.abs(t.x - spot.x) < NODE_WIDTH + gap && Math.abs(t.y - spot.y) < NODE_HEIGHT + gap);
  let spot = wanted;
  for (let step = 0; step < 200 && overlaps(spot); step += 1) {
    spot = { x: wanted.x, y: spot.y + NODE_HEIGHT + gap };
  }
  return spot;
}

/** Edges with their slot as label (when readable); edges of collapsed groups end at the
 * group's node. */
export function flowEdges(graph: PipelineGraph, selected: Set<string>, labels = true): Edge[] {
  const collapsed = new Set(graph.groups.filter((g) => g.collapsed).map((g) => g.id));
  const endpoint = new Map<string, string>();
  for (const node of graph.nodes) {
    if (node.group_id && collapsed.has(node.group_id)) {
      endpoint.set(node.id, GROUP_PREFIX + node.group_id);
    }
  }
  // what a screen reader says when Tab reaches an edge: tags and names, never ids
  const names = new Map<string, string>(graph.nodes.map((n) => [n.id, n.tag]));
  for (const group of graph.groups) names.set(GROUP_PREFIX + group.id, `group ${group.name}`);
  const edges = new Map<string, Edge>();
  for (const edge of graph.edges) {
    const source = endpoint.get(edge.parent_id) ?? edge.parent_id;
    const target = endpoint.get(edge.child_id) ?? edge.child_id;
    if (source === target) continue;
    const id = `${source}->${target}`;
    const direct = source === edge.parent_id && target === edge.child_id;
    edges.set(id, {
      id,
      source,
      target,
      label: direct && labels ? edge.slot : undefined,
      ariaLabel: direct
        ? `edge from ${names.get(source) ?? source} to ${names.get(target) ?? target}, input ${edge.slot}`
        : `edge from ${names.get(source) ?? source} to ${names.get(target) ?? target}`,
      selectable: direct,
      selected: selected.has(id),
      data: { parent: edge.parent_id, child: edge.child_id, slot: edge.slot },
      className: "slot-edge",
    });
  }
  return [...edges.values()];
}
