// One run as a timeline (Gantt): a bar per node from its start to its end, coloured by how it
// ended, on lanes so that nodes that ran at once sit on separate rows; hover tells the times,
// a click selects the node on the canvas. Live while the run goes on (its events refetch it,
// and it is asked again while the store is behind what the events said).
// Once it ended, what each node ran with (RunEnvironments).
import { useReactFlow, useStoreApi } from "@xyflow/react";
import { useCallback, useEffect, useMemo } from "react";
import { useReportedQuery } from "../actions/common";
import { runNodeRunsQuery } from "../api/queries";
import type { NodeRun, RunSummary } from "../api/types";
import { lookColor, type Look } from "../states";
import { useApp, type LiveState } from "../store/app";
import { openView } from "./address";
import { formatClock, formatSeconds } from "./format";
import { intoLanes } from "./lanes";
import { useNow } from "./clock";
import { RunEnvironments } from "./RunEnvironments";

interface Bar {
  nodeRun: NodeRun;
  tag: string;
  start: number;
  end: number;
}

const LOOK_OF: Record<NodeRun["state"], Look> = {
  queued: "queued",
  running: "running",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
  skipped: "ready",
};

function barTitle(bar: Bar): string {
  const { nodeRun } = bar;
  const ended = nodeRun.finished_at ? formatClock(bar.end) : "still running";
  const lines = [
    `${bar.tag} — ${nodeRun.state}`,
    `started ${formatClock(bar.start)}`,
    `ended ${ended}`,
    `took ${formatSeconds((bar.end - bar.start) / 1000)}`,
  ];
  if (nodeRun.message) lines.push(nodeRun.message);
  return lines.join("\n");
}

/** Milliseconds between asks while the store is behind the run's events. */
const BEHIND_RETRY_MS = 250;

/** Whether the store's answer is behind what this run's events already said: the server sends
 * an event at once but records events in batches (execution/recorder.py, up to 0.2 s later,
 * longer on a busy machine), so an answer fetched in between can still say queued for a node
 * that runs, and no further event may come until the node ends. */
function behindEvents(nodeRuns: NodeRun[] | null, live: Record<string, LiveState>): boolean {
  return (nodeRuns ?? []).some((nr) => {
    const said = live[nr.node_id];
    if (said?.nodeRunId !== nr.id || said.state === nr.state) return false;
    return nr.state === "queued" ? said.state !== "queued" : nr.state === "running";
  });
}

/** Round steps for the time axis: about six ticks across ``span`` milliseconds. */
function ticks(span: number): number[] {
  const steps = [100, 250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000];
  const step = steps.find((s) => span / s <= 6) ?? 3600000;
  const found: number[] = [];
  for (let at = 0; at <= span; at += step) found.push(at);
  return found;
}

/** Select the node on the canvas and bring it into view. */
function useShowOnCanvas(): (nodeId: string) => void {
  const store = useStoreApi();
  const flow = useReactFlow();
  return useCallback(
    (nodeId: string) => {
      openView("canvas");
      requestAnimationFrame(() => {
        store.getState().addSelectedNodes([nodeId]);
        void flow.fitView({ nodes: [{ id: nodeId }], maxZoom: 1.2, duration: 300 });
      });
    },
    [store, flow],
  );
}

export function Timeline({ run }: { run: RunSummary }) {
  const runId = run.run.id;
  // Refetched as the run's events arrive (api/events.ts) and when it ends.
  const query = useReportedQuery(runNodeRunsQuery(runId));
  const nodeRuns = query.data ?? null;
  const behind = useApp((s) => behindEvents(nodeRuns, s.live));
  const { refetch, dataUpdatedAt } = query;
  useEffect(() => {
    if (!behind) return;
    const timer = window.setTimeout(() => void refetch(), BEHIND_RETRY_MS);
    return () => window.clearTimeout(timer);
  }, [behind, dataUpdatedAt, refetch]);
  const graph = useApp((s) => s.graph);
  const running = run.run.status === "running" || (nodeRuns ?? []).some((nr) => nr.state === "running");
  const now = useNow(running);
  const showOnCanvas = useShowOnCanvas();

  const tags = useMemo(() => new Map(graph?.nodes.map((n) => [n.id, n.tag]) ?? []), [graph]);
  const shown = nodeRuns;
  const bars: Bar[] = (shown ?? [])
    .filter((nr) => nr.started_at)
    .map((nr) => {
      const start = Date.parse(nr.started_at ?? "");
      const end = nr.finished_at ? Date.parse(nr.finished_at) : Math.max(now, start);
      return { nodeRun: nr, tag: tags.get(nr.node_id) ?? nr.node_id, start, end };
    });
  const origin = Date.parse(run.run.created_at);
  const last = Math.max(origin + 1000, ...bars.map((b) => b.end));
  const span = last - origin;
  const lanes = intoLanes(bars);
  const notRun = (shown ?? []).filter((nr) => !nr.started_at);

  if (shown === null) return <p className="muted">Loading the timeline…</p>;
  return (
    <section className="timeline" aria-label={`timeline of run ${runId}`} data-testid="timeline" data-lanes={lanes.length}>
      <div className="timeline-axis" aria-hidden="true">
        {ticks(span).map((at) => (
          <span key={at} className="timeline-tick" style={{ left: `${(at / span) * 100}%` }}>
            +{formatSeconds(at / 1000)}
          </span>
        ))}
      </div>
      {lanes.length === 0 && <p className="muted">No node of this run has started yet.</p>}
      {lanes.map((lane, index) => (
        <div key={index} className="timeline-lane" data-testid="timeline-lane">
          {lane.map((bar) => (
            <button
              key={bar.nodeRun.id}
              type="button"
              className={`timeline-bar bar-${bar.nodeRun.state}`}
              style={{
                left: `${((bar.start - origin) / span) * 100}%`,
                width: `max(4px, ${((bar.end - bar.start) / span) * 100}%)`,
                background: lookColor(LOOK_OF[bar.nodeRun.state]),
              }}
              title={barTitle(bar)}
              aria-label={`${bar.tag}: ${bar.nodeRun.state}, ${formatSeconds((bar.end - bar.start) / 1000)}; show on the canvas`}
              data-testid="timeline-bar"
              data-node-id={bar.nodeRun.node_id}
              data-state={bar.nodeRun.state}
              onClick={() => showOnCanvas(bar.nodeRun.node_id)}
            >
              <span className="timeline-bar-label">{bar.tag}</span>
            </button>
          ))}
        </div>
      ))}
      {notRun.length > 0 && (
        <p className="muted timeline-not-run" data-testid="timeline-not-run">
          Not started:{" "}
          {notRun.map((nr) => `${tags.get(nr.node_id) ?? nr.node_id} (${nr.state}${nr.message ? `: ${nr.message}` : ""})`).join(", ")}
        </p>
      )}
      {!running && <RunEnvironments nodeRuns={shown} tags={tags} />}
    </section>
  );
}
