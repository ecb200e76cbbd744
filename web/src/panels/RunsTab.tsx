// The node's run history, newest first; a row opens that run's log.
import { useEffect, useState } from "react";
import { api, call } from "../api/client";
import type { NodeRun } from "../api/types";
import { report } from "../actions/common";
import { useApp } from "../store/app";

function duration(seconds: number | null): string {
  if (seconds === null) return "—";
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

interface Props {
  nodeId: string;
  pipelineId: string;
  onOpenLog: (runId: string) => void;
}

export function RunsTab({ nodeId, pipelineId, onOpenLog }: Props) {
  const liveState = useApp((s) => s.live[nodeId]?.state);
  const graph = useApp((s) => s.graph);
  const [runs, setRuns] = useState<NodeRun[] | null>(null);
  useEffect(() => {
    let cancelled = false;
    call(api.GET("/api/pipelines/{pipeline}/nodes/{node}/runs", { params: { path: { pipeline: pipelineId, node: nodeId } } }))
      .then((found) => !cancelled && setRuns(found))
      .catch((error: unknown) => !cancelled && report(error));
    return () => {
      cancelled = true;
    };
  }, [nodeId, pipelineId, liveState, graph]);
  if (!runs) return <p className="muted">Loading…</p>;
  if (runs.length === 0) return <p className="muted">This node never ran.</p>;
  return (
    <table className="table runs" data-testid="run-history">
      <thead>
        <tr>
          <th>run</th>
          <th>state</th>
          <th>started</th>
          <th>took</th>
          <th>exit</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} className="clickable" onClick={() => onOpenLog(run.run_id)} title={[...run.reasons, run.message].filter(Boolean).join("\n")}>
            <td className="mono">{run.run_id}</td>
            <td className={`run-state run-${run.state}`}>{run.state}</td>
            <td>{run.started_at ? new Date(run.started_at).toLocaleString() : "—"}</td>
            <td>{duration(run.duration_seconds)}</td>
            <td>{run.exit_code ?? "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
