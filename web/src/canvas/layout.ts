// Automatic layout with dagre: left to right, parents before children.
import dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 64;

export interface Point {
  x: number;
  y: number;
}

/** Positions for every node; nodes of one group (``groupOf``) are kept together. */
export function autoLayout(
  nodeIds: string[],
  edges: { source: string; target: string }[],
  groupOf: Record<string, string | null | undefined> = {},
): Record<string, Point> {
  const graph = new dagre.graphlib.Graph({ compound: true });
  graph.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 90, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const id of nodeIds) graph.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const id of nodeIds) {
    const group = groupOf[id];
    if (group) {
      if (!graph.hasNode(`group:${group}`)) graph.setNode(`group:${group}`, {});
      graph.setParent(id, `group:${group}`);
    }
  }
  for (const edge of edges) {
    if (graph.hasNode(edge.source) && graph.hasNode(edge.target)) {
      graph.setEdge(edge.source, edge.target);
    }
  }
  dagre.layout(graph);
  const positions: Record<string, Point> = {};
  for (const id of nodeIds) {
    const placed = graph.node(id);
    positions[id] = {
      x: Math.round(placed.x - NODE_WIDTH / 2),
      y: Math.round(placed.y - NODE_HEIGHT / 2),
    };
  }
  return positions;
}
