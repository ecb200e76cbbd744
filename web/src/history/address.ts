// Which view the address asks for: the canvas, or the pipeline's run history with one run's
// timeline (#pipeline=P&view=runs&run=R). The address is the truth: links, Back and forward
// open the view they name.
import { create } from "zustand";

export type ViewName = "canvas" | "runs";

export interface View {
  view: ViewName;
  runId: string | null;
}

function parse(): View {
  const params = new URLSearchParams(window.location.hash.slice(1));
  return { view: params.get("view") === "runs" ? "runs" : "canvas", runId: params.get("run") };
}

export const useView = create<View>(() => parse());

/** Back, forward, or an address edited by hand: show the view it names. */
export function followView(): void {
  const next = parse();
  const now = useView.getState();
  if (next.view !== now.view || next.runId !== now.runId) useView.setState(next);
}

/** The address of a pipeline in the view now open (the run only if the pipeline stays). */
export function pipelineAddress(pipelineId: string, switched: boolean): string {
  const { view, runId } = useView.getState();
  if (view === "canvas") return `#pipeline=${pipelineId}`;
  const run = runId && !switched ? `&run=${encodeURIComponent(runId)}` : "";
  return `#pipeline=${pipelineId}&view=runs${run}`;
}

/** Open a view (a step Back can undo): the history, a run's timeline in it, or the canvas. */
export function openView(view: ViewName, runId: string | null = null): void {
  const params = new URLSearchParams(window.location.hash.slice(1));
  params.delete("view");
  params.delete("run");
  if (view === "runs") params.set("view", "runs");
  if (view === "runs" && runId) params.set("run", runId);
  const address = `#${params.toString()}`;
  if (address !== window.location.hash) window.history.pushState(null, "", address);
  useView.setState({ view, runId: view === "runs" ? runId : null });
}
