// The live event stream (/api/events): a run's own events as the server's runner emits them,
// jobs and changes made elsewhere. The page never polls: the events invalidate the queries
// (api/queries.ts) of what changed, and what is on screen refetches.
import { toast } from "sonner";
import { jobFinished } from "../actions/common";
import { getApp, setApp, type LiveState } from "../store/app";
import { showOpened } from "../store/opened";
import { clientId } from "./client";
import { invalidateAll, invalidatePipeline, invalidateRuns, keys, queryClient } from "./queries";
import { openStream } from "./stream";
import type { NodeState, WorkspaceEvent } from "./types";

let reloadTimer: number | undefined;
const runNodes = new Map<string, string[]>();

/** Coalesce bursts of change events into one invalidation of everything. */
function scheduleReload(): void {
  window.clearTimeout(reloadTimer);
  reloadTimer = window.setTimeout(() => void invalidateAll(), 60);
}

let resyncTimer: number | undefined;

/** The page may have missed events: the hub dropped some for this slow page (``resync``), or
 * the stream reconnected (the server restarted, the connection dropped; nothing is replayed).
 * A missed ``run_finished`` would leave that run's cards queued/running forever: refetch
 * everything, then drop every live overlay no event replaced meanwhile, so the cards show what
 * the store says (a run still going has its nodes queued/running there too, and its next events
 * overlay them again). Bursts coalesce into one. */
function scheduleResync(): void {
  window.clearTimeout(reloadTimer);
  window.clearTimeout(resyncTimer);
  resyncTimer = window.setTimeout(() => void resync(), 60);
}

async function resync(): Promise<void> {
  flushLive(true);
  const before = getApp().live;
  await invalidateAll();
  showOpened();
  // An overlay an event set during the refetch is newer than what the refetch returned: kept.
  const { live } = getApp();
  const missed = Object.keys(before).filter((id) => live[id] === before[id] && !pending.has(id));
  const dropped = new Set(missed);
  const going = new Set(Object.entries(live).flatMap(([id, l]) => (dropped.has(id) ? [] : [l.runId])));
  for (const l of pending.values()) if (l) going.add(l.runId);
  for (const runId of runNodes.keys()) if (!going.has(runId)) runNodes.delete(runId); // its end was missed
  setLive(missed, null);
}

/** Live states received since the last frame (null: drop the node's overlay). A run of 1,000
 * nodes sends thousands of events: applying each at once would re-render the canvas thousands
 * of times; they are applied together, once per animation frame. */
const pending = new Map<string, LiveState | null>();
let frame: number | undefined;
let fallback: number | undefined;

/** At most this many cards change per frame: a run that queues 1,000 nodes at once shows them
 * over a few frames instead of blocking the page for one long task. */
const PER_FRAME = 100;

/** Apply what is pending in one store update (only changed cards re-render): the oldest
 * ``PER_FRAME`` now and the rest in the next frames, or everything with ``all``. */
export function flushLive(all = false): void {
  if (frame !== undefined) cancelAnimationFrame(frame);
  window.clearTimeout(fallback);
  frame = fallback = undefined;
  if (pending.size === 0) return;
  const batch = new Map<string, LiveState | null>();
  for (const [id, live] of pending) {
    if (!all && batch.size >= PER_FRAME) break;
    batch.set(id, live);
  }
  for (const id of batch.keys()) pending.delete(id);
  setApp((s) => {
    const next = Object.fromEntries(Object.entries(s.live).filter(([id]) => batch.get(id) !== null));
    for (const [id, live] of batch) if (live) next[id] = live;
    return { live: next };
  });
  // The open panel's run history has a new row or a new outcome.
  const { pipelineId, panelNodeId } = getApp();
  if (pipelineId && panelNodeId && batch.has(panelNodeId)) {
    void queryClient.invalidateQueries({ queryKey: keys.nodeRuns(pipelineId, panelNodeId) });
  }
  // The run history and the timelines of the runs these events belong to (if on screen).
  const runs = new Set([...batch.values()].flatMap((live) => (live ? [live.runId] : [])));
  if (pipelineId && runs.size > 0) invalidateRuns(pipelineId, runs);
  if (pending.size > 0) schedule();
}

function schedule(): void {
  if (frame !== undefined) return;
  frame = requestAnimationFrame(() => flushLive());
  // A hidden tab gets no animation frames: apply within a second anyway.
  fallback = window.setTimeout(() => flushLive(true), 1000);
}

function setLive(nodeIds: string[], live: LiveState | null): void {
  for (const id of nodeIds) {
    pending.delete(id); // re-inserted last: a later event wins
    pending.set(id, live);
  }
  schedule();
}

interface NodeRunEvent {
  run_id: string;
  node_id: string;
  node_run_id: string;
}

/** A node of a run is now in `state` (queued, running, or what its outcome left it in). */
function setNodeLive(event: NodeRunEvent, state: NodeState, reason = ""): void {
  setLive([event.node_id], { state, reason, runId: event.run_id, nodeRunId: event.node_run_id });
}

interface PreparingEvent extends NodeRunEvent {
  step: string;
  done: number;
  total: number;
  unit?: string;
}

/** A long step of a node run besides its process, in the CLI's words: "compiling external
 * code (120 / 800 files)", "recording outputs (0.3 / 0.6 GB)", "waiting for Ray to start it
 * (CPU=2)"; empty once outputs are recorded (the node finishes next). */
function preparingText(event: PreparingEvent): string {
  if (event.unit === "bytes") {
    if (event.done >= event.total) return "";
    const gigabytes = (n: number) => (n / 1e9).toFixed(1);
    return `${event.step} (${gigabytes(event.done)} / ${gigabytes(event.total)} GB)`;
  }
  if (!event.unit) return event.step;
  const count = (n: number) => n.toLocaleString("en-US");
  return `${event.step} (${count(event.done)} / ${count(event.total)} ${event.unit})`;
}

/** The state a node's card shows during a step: the live one it has (queued before its
 * process starts, running after it ended while its outputs are recorded), else the one the
 * step implies (a page opened mid-run has no live state yet). */
function stepState(event: PreparingEvent): NodeState {
  const live = pending.get(event.node_id) ?? getApp().live[event.node_id];
  return live?.state ?? (event.unit === "bytes" ? "running" : "queued");
}

export function handleEvent(event: WorkspaceEvent): void {
  switch (event.type) {
    case "run_started":
      runNodes.set(event.run_id, event.node_ids);
      setLive(event.node_ids, { state: "queued", reason: "", runId: event.run_id, nodeRunId: "" });
      break;
    case "node_submitted":
      setNodeLive(event, "queued");
      break;
    case "node_preparing": // shown as the card's reason, as the CLI's live line shows it
      setNodeLive(event, stepState(event), preparingText(event));
      break;
    case "node_started":
      setNodeLive(event, "running");
      break;
    case "node_finished":
      setNodeLive(event, event.state, event.reason);
      break;
    case "node_skipped": // it keeps the state it had before the run
      setLive([event.node_id], null);
      break;
    case "run_finished": {
      const failed = event.failed ? `, ${event.failed} failed` : "";
      const message = `Run ${event.status}: ${event.completed} completed${failed}`;
      if (event.status === "completed") toast.success(message, { id: `run-${event.run_id}` });
      else toast.warning(message, { id: `run-${event.run_id}` });
      void afterRun(event.run_id);
      break;
    }
    case "run_crashed":
      toast.error(`nodepipe could not finish the run: ${event.message}`, { duration: 10000 });
      if (event.run_id) void afterRun(event.run_id);
      break;
    case "graph_changed":
      if (event.origin !== clientId) scheduleReload();
      break;
    case "job_finished":
      void jobFinished(event.job_id).catch(() => undefined);
      break;
    case "resync":
      scheduleResync();
      break;
  }
}

/** After a run, the store holds the final states: refetch the pipeline, show it, then drop the
 * run's live overlay (so no card shows its state from before the run in between). */
async function afterRun(runId: string): Promise<void> {
  flushLive(true);
  // The run's nodes as its start named them, and every node showing a state from it: a page
  // opened mid-run (or reconnected) never saw the start, and an overlay it keeps would hide
  // every later state (an edit that makes the node stale) until the page is reloaded.
  const shown = Object.entries(getApp().live).flatMap(([id, live]) => (live.runId === runId ? [id] : []));
  const nodes = [...new Set([...(runNodes.get(runId) ?? []), ...shown])];
  runNodes.delete(runId);
  const { pipelineId } = getApp();
  if (pipelineId) {
    await invalidatePipeline(pipelineId);
    showOpened();
  }
  void queryClient.invalidateQueries({ queryKey: keys.runNodeRuns(runId) }); // its timeline's end
  // The graph now holds what the overlay shows: the overlay goes a frame's worth at a time,
  // so the end of a 1,000-node run is not one long task. Only what this run still shows: a
  // run started during the refetch has already queued the same nodes, and they stay queued.
  const { live } = getApp();
  setLive(
    nodes.filter((id) => (pending.has(id) ? pending.get(id) : live[id])?.runId === runId),
    null,
  );
}

export function connectEvents(): () => void {
  return openStream(
    "/api/events",
    {
      onOpen: () => {
        setApp({ connected: true });
        scheduleResync();
      },
      onError: () => setApp({ connected: false }),
      onMessage: (data) => {
        try {
          handleEvent(JSON.parse(data) as WorkspaceEvent);
        } catch (error) {
          console.error("bad event", error);
        }
      },
    },
    true,
  );
}
