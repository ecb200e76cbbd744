// Loading what the app shows from the API; every reload is triggered by a user action or an
// event from the server, never by a timer.
import { api, call } from "../api/client";
import { getApp, setApp } from "./app";
import type { NodeStatus, PipelineGraph } from "../api/types";

export async function loadWorkspace(): Promise<void> {
  const workspace = await call(api.GET("/api/workspace"));
  setApp({ workspace });
}

export async function loadLists(): Promise<void> {
  const [projects, pipelines] = await Promise.all([
    call(api.GET("/api/projects")),
    call(api.GET("/api/pipelines")),
  ]);
  setApp({ projects, pipelines });
  const { projectId, pipelineId } = getApp();
  if (pipelineId && !pipelines.some((p) => p.id === pipelineId)) {
    setApp({ pipelineId: null, graph: null, statuses: {}, live: {}, panelNodeId: null });
  }
  const current = projects.find((p) => p.id === projectId) ?? projects[0];
  if (current) await loadProject(current.id);
}

export async function loadProject(projectId: string): Promise<void> {
  const detail = await call(
    api.GET("/api/projects/{project}", { params: { path: { project: projectId } } }),
  );
  setApp({ projectId, lineage: detail.lineage });
}

let graphRequest = 0;

/** The new graph, keeping the previous object of every node that did not change: a card whose
 * node is the same object does not re-render (a reload after a run touches only what ran). */
function sharing(graph: PipelineGraph, previous: PipelineGraph | null): PipelineGraph {
  if (!previous || previous.pipeline.id !== graph.pipeline.id) return graph;
  const before = new Map(previous.nodes.map((n) => [n.id, n]));
  const nodes = graph.nodes.map((n) => {
    const old = before.get(n.id);
    return old && JSON.stringify(old) === JSON.stringify(n) ? old : n;
  });
  return { ...graph, nodes };
}

/** Load (or reload) a pipeline's graph, then its computed states in the background. */
export async function loadPipeline(pipelineId: string): Promise<void> {
  const request = ++graphRequest;
  const loaded = await call(
    api.GET("/api/pipelines/{pipeline}", { params: { path: { pipeline: pipelineId } } }),
  );
  if (request !== graphRequest) return;
  const graph = sharing(loaded, getApp().graph);
  const before = getApp().pipelineId;
  const switched = before !== pipelineId;
  setApp((s) => ({
    graph,
    pipelineId,
    projectId: graph.project.id,
    includes: switched ? [] : s.includes,
    live: switched ? {} : s.live,
    statuses: switched ? {} : s.statuses,
    selection: switched ? [] : s.selection.filter((id) => graph.nodes.some((n) => n.id === id)),
    panelNodeId: switched ? null : s.panelNodeId,
  }));
  // Switching pipelines is a step Back can undo; reloading the same one is not.
  const address = `#pipeline=${pipelineId}`;
  if (window.location.hash !== address) {
    if (before && switched) window.history.pushState(null, "", address);
    else window.history.replaceState(null, "", address);
  }
  if (switched) await loadProject(graph.project.id);
  void loadStatus(pipelineId, request);
  void loadIncludes(pipelineId, request);
}

async function loadIncludes(pipelineId: string, request: number): Promise<void> {
  try {
    const includes = await call(
      api.GET("/api/pipelines/{pipeline}/includes", { params: { path: { pipeline: pipelineId } } }),
    );
    if (request !== graphRequest) return;
    setApp({ includes: includes.map((i) => i.namespace).filter((ns) => !ns.includes(".")) });
  } catch {
    // Without them, include groups only lack their "Update include" item.
  }
}

async function loadStatus(pipelineId: string, request: number): Promise<void> {
  try {
    const status = await call(
      api.GET("/api/pipelines/{pipeline}/status", { params: { path: { pipeline: pipelineId } } }),
    );
    if (request !== graphRequest) return;
    const statuses: Record<string, NodeStatus> = {};
    for (const item of status.nodes) statuses[item.node_id] = item;
    setApp({ statuses });
  } catch {
    // Computed states are a refinement: the stored ones stay on screen if this fails.
  }
}

/** Reload what is on screen: the lists and the open pipeline. */
export async function reloadAll(): Promise<void> {
  await loadLists();
  const { pipelineId } = getApp();
  if (pipelineId) await loadPipeline(pipelineId);
}

/** The pipeline the address names (``#pipeline=`` an id or a tag), if it exists. */
export function addressedPipeline(): string | null {
  const match = /pipeline=([^&]+)/.exec(window.location.hash);
  if (!match?.[1]) return null;
  const wanted = decodeURIComponent(match[1]);
  const { pipelines } = getApp();
  return (pipelines.find((p) => p.id === wanted) ?? pipelines.find((p) => p.tag === wanted))?.id ?? null;
}

/** Back, forward, or an address edited by hand: open the pipeline it names. */
export function followAddress(): void {
  const wanted = addressedPipeline();
  if (wanted && wanted !== getApp().pipelineId) void loadPipeline(wanted).catch(() => undefined);
}
