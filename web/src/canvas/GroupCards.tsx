// Groups on the canvas: a frame behind an expanded group, one card for a collapsed group.
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { ChevronDown, ChevronRight } from "lucide-react";
import { memo } from "react";
import { setCollapsed } from "../actions/groups";
import type { NodeState } from "../api/types";
import { LookIcon } from "../states";
import { displayState, useApp } from "../store/app";
import type { CollapsedGroupNode, GroupFrameNode } from "./flow";

const SEVERITY: NodeState[] = [
  "failed",
  "running",
  "queued",
  "stale",
  "cancelled",
  "ready",
  "completed",
];

function worst(states: NodeState[]): NodeState {
  return SEVERITY.find((state) => states.includes(state)) ?? "ready";
}

export const GroupFrame = memo(function GroupFrame({ data }: NodeProps<GroupFrameNode>) {
  return (
    <div className="group-frame" data-testid="group-frame">
      <button
        className="group-label"
        title="Collapse the group"
        onClick={() => void setCollapsed(data.group, true)}
      >
        <ChevronDown size={13} /> {data.group.name}
      </button>
    </div>
  );
});

export const CollapsedGroup = memo(function CollapsedGroup({ data }: NodeProps<CollapsedGroupNode>) {
  const state = useApp((s) => worst(data.members.map((m) => displayState(s, m.id, m.state))));
  return (
    <div className="step group-collapsed" data-testid="group-collapsed" data-state={state}>
      <Handle type="target" position={Position.Left} className="handle handle-in" isConnectable={false} />
      <div className="step-icon">
        <LookIcon look={state} size={20} />
      </div>
      <div className="step-text">
        <div className="step-tag">{data.group.name}</div>
        <div className="step-detail">
          {data.members.length} nodes · {state}
        </div>
      </div>
      <button
        className="icon-button"
        title="Expand the group"
        onClick={() => void setCollapsed(data.group, false)}
      >
        <ChevronRight size={14} />
      </button>
      <Handle type="source" position={Position.Right} className="handle handle-out" isConnectable={false} />
    </div>
  );
});
