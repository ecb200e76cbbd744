// The node's run history, newest first; a row opens that run's log.
import { nodeRunsQuery } from "../api/queries";
import { useReportedQuery } from "../actions/common";
import { formatSeconds } from "../history/format";

interface Props {
  nodeId: string;
  pipelineId: string;
  onOpenLog: (runId: string) => void;
}

export function RunsTab({ nodeId, pipelineId, onOpenLog }: Props) {
  // Refetched when a run changes the node's state (api/events.ts) or the pipeline reloads.
  const runs = useReportedQuery(nodeRunsQuery(pipelineId, nodeId)).data;
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
            <td>{formatSeconds(run.duration_seconds)}</td>
            <td>{run.exit_code ?? "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
