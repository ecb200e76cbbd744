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

/** Keeps the store in step with the open pipeline's query; renders nothing. */
export function LastRunsLoader(): null {
  const pipelineId = useApp((s) => s.pipelineId);
  const { data } = useQuery({ ...lastRunsQuery(pipelineId ?? ""), enabled: pipelineId !== null });
  useEffect(() => {
    // Durations are a refinement: without an answer, the cards stay as they are.
    if (!data) return;
    const before = useLastRuns.getState().byNode;
    const byNode: Record<string, LastRun> = {};
    for (const nr of data) {
      if (nr.duration_seconds === null || !nr.finished_at) continue;
      const last = { seconds: nr.duration_seconds, state: nr.state, finishedAt: nr.finished_at };
      const old = before[nr.node_id];
      byNode[nr.node_id] = old && sameRun(old, last) ? old : last; // unchanged: same object
    }
    useLastRuns.setState({ byNode });
  }, [data]);
  return null;
}
