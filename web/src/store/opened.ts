// The pipeline open on the canvas: which one (and the address that names it), and its graph and
// computed states as the store's view of their queries. The queries (api/queries.ts) load and
// cache; the store holds the open pipeline's data so that each card subscribes to the one store
// with its own selector (a live event or a reload re-renders only the cards it changes, with no
// query observer per card).
import { QueryObserver } from "@tanstack/react-query";
import {
  includesQuery,
  pipelineQuery,
  pipelinesQuery,
  projectsQuery,
  queryClient,
  statusQuery,
  workspaceQuery,
} from "../api/queries";
import type { Pipeline, PipelineGraph } from "../api/types";
import { getApp, setApp } from "./app";
import { pipelineAddress } from "../history/address";

let unwatch: (() => void) | null = null;
let wanted: string | null = null;

/** Copy the open pipeline's cached graph and states into the store (at once, not on the next
 * notification of the query cache). */
export function showOpened(): void {
  const { pipelineId } = getApp();
  if (!pipelineId) return;
  const graph = queryClient.getQueryData(pipelineQuery(pipelineId).queryKey);
  const statuses = queryClient.getQueryData(statusQuery(pipelineId).queryKey);
  setApp((s) => ({
    graph: graph ?? s.graph,
    statuses: statuses ?? s.statuses,
    projectId: graph ? graph.project.id : s.projectId,
  }));
}

/** Follow the open pipeline's queries: a refetch (after an invalidation) updates the store. */
function watch(pipelineId: string | null): void {
  unwatch?.();
  unwatch = null;
  if (!pipelineId) return;
  const observers = [
    new QueryObserver(queryClient, pipelineQuery(pipelineId)),
    new QueryObserver(queryClient, statusQuery(pipelineId)),
    new QueryObserver(queryClient, includesQuery(pipelineId)),
  ];
  const stops = observers.map((o) =>
    o.subscribe(() => {
      if (getApp().pipelineId === pipelineId) showOpened();
    }),
  );
  unwatch = () => stops.forEach((stop) => stop());
}

/** Open a pipeline (from its cached graph if nothing invalidated it since), then its computed
 * states in the background. A pipeline asked for later wins over one still loading. */
export async function openPipeline(pipelineId: string): Promise<void> {
  wanted = pipelineId;
  const graph = await queryClient.fetchQuery(pipelineQuery(pipelineId));
  if (wanted !== pipelineId) return;
  const before = getApp().pipelineId;
  if (before !== pipelineId) {
    setApp({
      graph,
      pipelineId,
      projectId: graph.project.id,
      live: {},
      statuses: queryClient.getQueryData(statusQuery(pipelineId).queryKey) ?? {},
      selection: [],
      panelNodeId: null,
    });
    watch(pipelineId);
  }
  // Switching pipelines is a step Back can undo; reloading the same one is not.
  const address = pipelineAddress(pipelineId, before !== pipelineId);
  if (window.location.hash !== address) {
    if (before && before !== pipelineId) window.history.pushState(null, "", address);
    else window.history.replaceState(null, "", address);
  }
}

/** Close the open pipeline (it was deleted). */
function closePipeline(): void {
  wanted = null;
  watch(null);
  setApp({ pipelineId: null, graph: null, statuses: {}, live: {}, panelNodeId: null, selection: [] });
}

/** The graph with changes this page made and already shows (positions it saved). */
export function replaceOpenedGraph(graph: PipelineGraph): void {
  queryClient.setQueryData(pipelineQuery(graph.pipeline.id).queryKey, graph);
  showOpened();
}

/** The namespaces the open pipeline includes directly: as loaded, else loaded now (a menu
 * opened right after the pipeline would otherwise miss its include items). */
export async function openedIncludes(): Promise<string[]> {
  const { pipelineId } = getApp();
  if (!pipelineId) return [];
  return queryClient.ensureQueryData(includesQuery(pipelineId)).catch(() => []);
}

/** The pipelines as last loaded. */
export function cachedPipelines(): Pipeline[] {
  return queryClient.getQueryData(pipelinesQuery().queryKey) ?? [];
}

/** The pipeline the address names (``#pipeline=`` an id or a tag), if it exists. */
export function addressedPipeline(): string | null {
  const match = /pipeline=([^&]+)/.exec(window.location.hash);
  if (!match?.[1]) return null;
  const wanted = decodeURIComponent(match[1]);
  const pipelines = cachedPipelines();
  return (pipelines.find((p) => p.id === wanted) ?? pipelines.find((p) => p.tag === wanted))?.id ?? null;
}

/** Back, forward, or an address edited by hand: open the pipeline it names. */
export function followAddress(): void {
  const wanted = addressedPipeline();
  if (wanted && wanted !== getApp().pipelineId) void openPipeline(wanted).catch(() => undefined);
}

/** Load the lists, open the pipeline the address names (else one of the first project), and
 * close the open pipeline whenever the list no longer has it. */
let listening = false;

export async function startApp(): Promise<void> {
  if (!listening) {
    listening = true;
    new QueryObserver(queryClient, pipelinesQuery()).subscribe(({ data }) => {
      const { pipelineId } = getApp();
      if (data && pipelineId && !data.some((p) => p.id === pipelineId)) closePipeline();
    });
  }
  const [, projects, pipelines] = await Promise.all([
    queryClient.fetchQuery(workspaceQuery()),
    queryClient.fetchQuery(projectsQuery()),
    queryClient.fetchQuery(pipelinesQuery()),
  ]);
  const projectId = getApp().projectId ?? projects[0]?.id ?? null;
  const wanted = addressedPipeline();
  const first =
    pipelines.find((p) => p.id === wanted) ?? pipelines.find((p) => p.project_id === projectId) ?? pipelines[0];
  if (first) await openPipeline(first.id);
}
