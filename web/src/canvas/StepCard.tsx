// A node on the canvas: state colour and icon, tag, flags; input handle left, output right.
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { LookIcon, LOOKS } from "../states";
import type { CanvasNode, NodeState } from "../api/types";
import { useDisplayReasons, useDisplayState } from "../store/app";
import { usePipelineTag } from "../store/pipelineTags";
import { useDetailed } from "./detail";
import { formatSeconds } from "../history/format";
import { useLastRun } from "../history/lastRuns";
import type { StepNode } from "./flow";

/** How the node is isolated, in words: null for an environment of its own. */
export function isolationText(isolation: string): string | null {
  const [kind, ...rest] = isolation.split(":");
  const where = rest.join(":");
  if (kind === "interpreter") return `not isolated: runs with ${where}`;
  if (kind === "shared") return `shared environment ${where}`;
  return null;
}

function title(node: CanvasNode, state: NodeState, reasons: string[]): string {
  const lines = [`${node.tag} (${node.id}) — ${state}`];
  if (node.reference) lines.push("referenced: read-only in this pipeline");
  if (node.locked) lines.push("locked");
  const isolation = isolationText(node.isolation);
  if (isolation) lines.push(isolation);
  return [...lines, ...reasons].join("\n");
}


/** Which of two cards with one tag this is: the pipeline a reference comes from, else its id. */
function TwinLabel({ node }: { node: CanvasNode }) {
  const owner = usePipelineTag(node.owner_pipeline_id);
  const text = node.reference ? `from ${owner}` : `id ${node.id}`;
  return (
    <span className="step-twin" data-testid="twin">
      {" · "}
      {text}
    </span>
  );
}

export const StepCard = memo(function StepCard({ data, selected }: NodeProps<StepNode>) {
  const { node, highlighted, groupName, twin } = data;
  const state = useDisplayState(node);
  const reasons = useDisplayReasons(node);
  const detailed = useDetailed();
  const lastRun = useLastRun(node.id);
  const classes = ["step", `step-${state}`];
  if (selected) classes.push("selected");
  if (highlighted) classes.push("highlighted");
  if (node.reference) classes.push("referenced");
  if (node.locked) classes.push("locked");
  const detail = reasons[0] ?? (groupName ? `group ${groupName}` : node.notes);
  if (!detailed) {
    classes.push("step-block");
    return (
      <div
        className={classes.join(" ")}
        data-testid="node"
        data-node-id={node.id}
        data-tag={node.tag}
        data-state={state}
        title={title(node, state, reasons)}
      >
        <Handle type="target" position={Position.Left} className="handle handle-in" />
        <span className="step-block-tag">{node.tag}</span>
        <Handle type="source" position={Position.Right} className="handle handle-out" />
      </div>
    );
  }
  return (
    <div
      className={classes.join(" ")}
      title={title(node, state, reasons)}
      data-testid="node"
      data-node-id={node.id}
      data-tag={node.tag}
      data-state={state}
    >
      <Handle type="target" position={Position.Left} className="handle handle-in" />
      <div className="step-icon">
        <LookIcon look={state} size={20} />
      </div>
      <div className="step-text">
        <div className="step-tag">{node.tag}</div>
        <div className="step-detail">
          <span className="step-state">{LOOKS[state].label}</span>
          {twin && <TwinLabel node={node} />}
          {detail ? <span className="step-reason"> · {detail}</span> : null}
        </div>
      </div>
      <div className="step-flags">
        {lastRun && (
          <span className="step-took" data-testid="node-duration" title={`last run (${lastRun.state}) took ${formatSeconds(lastRun.seconds)}`}>
            {formatSeconds(lastRun.seconds)}
          </span>
        )}
        {node.locked && <LookIcon look="locked" size={14} />}
        {node.reference && <LookIcon look="referenced" size={14} />}
        {node.isolation.startsWith("interpreter:") && (
          <span className="step-isolation" data-testid="not-isolated" title={isolationText(node.isolation) ?? ""}>
            not isolated
          </span>
        )}
        {node.isolation.startsWith("shared:") && (
          <span className="step-isolation" data-testid="shared-env" title={isolationText(node.isolation) ?? ""}>
            shared env
          </span>
        )}
      </div>
      <Handle type="source" position={Position.Right} className="handle handle-out" />
    </div>
  );
});
