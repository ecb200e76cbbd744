// The line drawn while a connection is dragged: refused where it points (connecting.ts), it
// says why beside the pointer, before anything is dropped.
import { getBezierPath, type ConnectionLineComponentProps } from "@xyflow/react";
import { withHint } from "../api/hints";
import { useApp } from "../store/app";
import { refusal, type Refused } from "./connecting";
import type { FlowNode } from "./flow";

/** What a drag from ``fromHandle`` to ``toHandle`` would be refused for, if anything. */
export function draggedRefusal(
  fromHandle: { nodeId: string; type: "source" | "target" } | null | undefined,
  toHandle: { nodeId: string; type: "source" | "target" } | null | undefined,
): Refused | null {
  const graph = useApp.getState().graph;
  if (!graph || !fromHandle || !toHandle || fromHandle.type === toHandle.type) return null;
  const [source, target] = fromHandle.type === "source" ? [fromHandle.nodeId, toHandle.nodeId] : [toHandle.nodeId, fromHandle.nodeId];
  return refusal(graph, source, target, fromHandle.type);
}

export function ConnectionLine(props: ConnectionLineComponentProps<FlowNode>) {
  const { fromX, fromY, toX, toY, fromPosition, toPosition, connectionStatus, fromHandle, toHandle, connectionLineStyle } = props;
  // the graph the check reads: a live change mid-drag draws the line again
  useApp((s) => s.graph);
  const [path] = getBezierPath({ sourceX: fromX, sourceY: fromY, sourcePosition: fromPosition, targetX: toX, targetY: toY, targetPosition: toPosition });
  const refused = connectionStatus === "invalid" ? draggedRefusal(fromHandle, toHandle) : null;
  return (
    <g>
      <path d={path} fill="none" className="react-flow__connection-path" style={connectionLineStyle} />
      {refused && (
        <text x={toX + 14} y={toY - 12} className="connection-refusal" data-testid="connection-refusal">
          {withHint(refused.message, refused.hint)}
        </text>
      )}
    </g>
  );
}
