// A node in the minimap, coloured by its live state (read from the store, like the cards).
import type { MiniMapNodeProps } from "@xyflow/react";
import { memo } from "react";
import { displayState, graphNode, useApp } from "../store/app";
import { GROUP_PREFIX } from "./flow";

export const MiniMapNode = memo(function MiniMapNode({ id, x, y, width, height, borderRadius }: MiniMapNodeProps) {
  const look = useApp((s) => {
    if (id.startsWith(GROUP_PREFIX)) return "group";
    const node = graphNode(s.graph, id);
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
