// A node in the minimap, coloured by its live state (read from the store, like the cards).
import type { MiniMapNodeProps } from "@xyflow/react";
import { memo } from "react";
import type { CanvasNode, PipelineGraph } from "../api/types";
import { displayState, useApp } from "../store/app";
import { GROUP_PREFIX } from "./flow";

const indexes = new WeakMap<PipelineGraph, Map<string, CanvasNode>>();

/** The graph's nodes by id, built once per loaded graph. */
function nodeById(graph: PipelineGraph | null, id: string): CanvasNode | undefined {
  if (!graph) return undefined;
  let index = indexes.get(graph);
  if (!index) {
    index = new Map(graph.nodes.map((n) => [n.id, n]));
    indexes.set(graph, index);
  }
  return index.get(id);
}

export const MiniMapNode = memo(function MiniMapNode({ id, x, y, width, height, borderRadius }: MiniMapNodeProps) {
  const look = useApp((s) => {
    if (id.startsWith(GROUP_PREFIX)) return "group";
    const node = nodeById(s.graph, id);
    return node ? displayState(s, id, node.state) : "ready";
  });
  return (
    <rect
      className={`react-flow__minimap-node mm-${look}`}
      x={x}
      y={y}
      rx={borderRadius}
      ry={borderRadius}
      width={width}
      height={height}
    />
  );
});
