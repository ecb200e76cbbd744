// The last finished run of each node of the open pipeline: the duration its card shows. Its
// query is the pipeline's (api/queries.ts), refetched with it at the end of every run; the
// cards read it from a store of their own, one entry per node, so that a card re-renders only
// when its own duration changes (no query observer per card).
import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { create } from "zustand";
import { lastRunsQuery } from "../api/queries";
import type { NodeRun } from "../api/types";
import { useApp } from "../store/app";

export interface LastRun {
  seconds: number;
  state: NodeRun["state"];
  finishedAt: string;
}

const useLastRuns = create<{ byNode: Record<string, LastRun> }>(() => ({ byNode: {} }));

/** The node's last finished run, if it ever finished one (a card re-renders only when its own
 * entry changes). */
export function useLastRun(nodeId: string): LastRun | undefined {
  return useLastRuns((s) => s.byNode[nodeId]);
}

function sameRun(a: LastRun | undefined, b: LastRun): boolean {
  return a !== undefined && a.finishedAt === b.finishedAt && a.seconds === b.seconds;
}

/** At most this many cards take a new duration per frame: the end of a 1,000-node run changes
 * every card's duration, and re-rendering them all at once would be one long task. */
const PER_FRAME = 200;

/** What ``data`` changes in the store: node id -> its new last run (undefined: none now). */
function changes(data: NodeRun[]): [string, LastRun | undefined][] {
  const before = useLastRuns.getState().byNode;
  const after = new Map<string, LastRun>();
  for (const nr of data) {
    if (nr.duration_seconds === null || !nr.finished_at) continue;
    after.set(nr.node_id, { seconds: nr.duration_seconds, state: nr.state, finishedAt: nr.finished_at });
  }
  const changed: [string, LastRun | undefined][] = [];
  for (const [id, last] of after) if (!sameRun(before[id], last)) changed.push([id, last]);
  for (const id of Object.keys(before)) if (!after.has(id)) changed.push([id, undefined]);
  return changed;
}

/** Keeps the store in step with the open pipeline's query; renders nothing. */
export function LastRunsLoader(): null {
  const pipelineId = useApp((s) => s.pipelineId);
  const { data } = useQuery({ ...lastRunsQuery(pipelineId ?? ""), enabled: pipelineId !== null });
  useEffect(() => {
    // Durations are a refinement: without an answer, the cards stay as they are.
    if (!data) return;
    const pending = changes(data);
    let frame: number | undefined;
    const apply = () => {
      const batch = pending.splice(0, PER_FRAME);
      useLastRuns.setState((s) => {
        const gone = new Set(batch.flatMap(([id, last]) => (last ? [] : [id])));
        const byNode = gone.size ? Object.fromEntries(Object.entries(s.byNode).filter(([id]) => !gone.has(id))) : { ...s.byNode };
        for (const [id, last] of batch) if (last) byNode[id] = last;
        return { byNode };
      });
      frame = pending.length > 0 ? requestAnimationFrame(apply) : undefined;
    };
    if (pending.length > 0) apply();
    return () => {
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [data]);
  return null;
}
