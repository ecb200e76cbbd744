// What the app reads from the server, as TanStack Query queries: one key per thing and the
// request that loads it (on the generated client). The page never polls: nothing goes stale by
// time; a change event from the server or a change this page made invalidates the keys it
// touched (see invalidate* below and api/events.ts), and what is on screen refetches.
import { infiniteQueryOptions, QueryClient, queryOptions } from "@tanstack/react-query";
import { api, call } from "./client";
import type { NodeStatus, RunHistory } from "./types";

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: Infinity,
      retry: false,
      refetchOnWindowFocus: false,
      refetchOnReconnect: false,
    },
  },
});

declare global {
  interface Window {
    __TANSTACK_QUERY_CLIENT__?: QueryClient;
  }
}
// Where TanStack Query's browser devtools extension (and the browser tests) find the cache.
window.__TANSTACK_QUERY_CLIENT__ = queryClient;

/** Every query key of the app. A pipeline's keys share its prefix, so invalidating
 * `keys.pipeline(id)` refetches its graph, states, includes and node details together. */
export const keys = {
  workspace: () => ["workspace"] as const,
  projects: () => ["projects"] as const,
  project: (project: string) => ["projects", project] as const,
  pipelines: () => ["pipelines"] as const,
  pipeline: (pipeline: string) => ["pipelines", pipeline] as const,
  status: (pipeline: string) => ["pipelines", pipeline, "status"] as const,
  includes: (pipeline: string) => ["pipelines", pipeline, "includes"] as const,
  node: (pipeline: string, node: string) => ["pipelines", pipeline, "nodes", node] as const,
  nodeRuns: (pipeline: string, node: string) => ["pipelines", pipeline, "nodes", node, "runs"] as const,
  environment: (pipeline: string, node: string) => ["pipelines", pipeline, "nodes", node, "environment"] as const,
  conda: (pipeline: string, node: string) => ["pipelines", pipeline, "nodes", node, "conda"] as const,
  outputs: (pipeline: string, node: string) => ["pipelines", pipeline, "nodes", node, "outputs"] as const,
  codeFiles: (pipeline: string, node: string) => ["pipelines", pipeline, "nodes", node, "code"] as const,
  codeFile: (pipeline: string, node: string, path: string) =>
    ["pipelines", pipeline, "nodes", node, "code", path] as const,
  sharedEnvs: () => ["shared-envs"] as const,
  history: (pipeline: string) => ["pipelines", pipeline, "history"] as const,
  lastRuns: (pipeline: string) => ["pipelines", pipeline, "last-runs"] as const,
  runNodeRuns: (run: string) => ["runs", run, "node-runs"] as const,
  pastEnvironment: (run: string, node: string) => ["runs", run, "nodes", node, "environment"] as const,
};

export const workspaceQuery = () =>
  queryOptions({ queryKey: keys.workspace(), queryFn: () => call(api.GET("/api/workspace")) });

export const projectsQuery = () =>
  queryOptions({ queryKey: keys.projects(), queryFn: () => call(api.GET("/api/projects")) });

export const projectQuery = (project: string) =>
  queryOptions({
    queryKey: keys.project(project),
    queryFn: () => call(api.GET("/api/projects/{project}", { params: { path: { project } } })),
  });

export const pipelinesQuery = () =>
  queryOptions({ queryKey: keys.pipelines(), queryFn: () => call(api.GET("/api/pipelines")) });

/** A pipeline's graph. Structural sharing keeps the object of every node that did not change
 * across a reload, so a card whose node is the same object does not re-render. */
export const pipelineQuery = (pipeline: string) =>
  queryOptions({
    queryKey: keys.pipeline(pipeline),
    queryFn: () => call(api.GET("/api/pipelines/{pipeline}", { params: { path: { pipeline } } })),
  });

/** The computed states of a pipeline's nodes, by node id. */
export const statusQuery = (pipeline: string) =>
  queryOptions({
    queryKey: keys.status(pipeline),
    queryFn: async () => {
      const status = await call(api.GET("/api/pipelines/{pipeline}/status", { params: { path: { pipeline } } }));
      const statuses: Record<string, NodeStatus> = {};
      for (const item of status.nodes) statuses[item.node_id] = item;
      return statuses;
    },
  });

/** The namespaces the pipeline includes directly (their groups can be updated). */
export const includesQuery = (pipeline: string) =>
  queryOptions({
    queryKey: keys.includes(pipeline),
    queryFn: async () => {
      const includes = await call(api.GET("/api/pipelines/{pipeline}/includes", { params: { path: { pipeline } } }));
      return includes.map((i) => i.namespace).filter((ns) => !ns.includes("."));
    },
  });

export const nodeQuery = (pipeline: string, node: string) =>
  queryOptions({
    queryKey: keys.node(pipeline, node),
    queryFn: () => call(api.GET("/api/pipelines/{pipeline}/nodes/{node}", { params: { path: { pipeline, node } } })),
  });

export const nodeRunsQuery = (pipeline: string, node: string) =>
  queryOptions({
    queryKey: keys.nodeRuns(pipeline, node),
    queryFn: () => call(api.GET("/api/pipelines/{pipeline}/nodes/{node}/runs", { params: { path: { pipeline, node } } })),
  });

export const environmentQuery = (pipeline: string, node: string) =>
  queryOptions({
    queryKey: keys.environment(pipeline, node),
    queryFn: () =>
      call(api.GET("/api/pipelines/{pipeline}/nodes/{node}/environment", { params: { path: { pipeline, node } } })),
  });

export const condaQuery = (pipeline: string, node: string) =>
  queryOptions({
    queryKey: keys.conda(pipeline, node),
    queryFn: () =>
      call(api.GET("/api/pipelines/{pipeline}/nodes/{node}/environment/conda", { params: { path: { pipeline, node } } })),
  });

/** A node's data/ and reports/ files (web/src/outputs). */
export const outputsQuery = (pipeline: string, node: string) =>
  queryOptions({
    queryKey: keys.outputs(pipeline, node),
    queryFn: () =>
      call(api.GET("/api/pipelines/{pipeline}/nodes/{node}/outputs", { params: { path: { pipeline, node } } })),
  });

/** A node's code files (web/src/code). */
export const codeFilesQuery = (pipeline: string, node: string) =>
  queryOptions({
    queryKey: keys.codeFiles(pipeline, node),
    queryFn: () => call(api.GET("/api/pipelines/{pipeline}/nodes/{node}/code", { params: { path: { pipeline, node } } })),
  });

/** One code file's text and version (what a save sends back). */
export const codeFileQuery = (pipeline: string, node: string, path: string) =>
  queryOptions({
    queryKey: keys.codeFile(pipeline, node, path),
    queryFn: () =>
      call(
        api.GET("/api/pipelines/{pipeline}/nodes/{node}/code/file", {
          params: { path: { pipeline, node }, query: { file: path } },
        }),
      ),
  });

export const sharedEnvsQuery = () =>
  queryOptions({ queryKey: keys.sharedEnvs(), queryFn: () => call(api.GET("/api/shared-envs")) });

/** Runs in the history view, a page at a time, newest first (refetched page by page). */
export const historyQuery = (pipeline: string) =>
  infiniteQueryOptions({
    queryKey: keys.history(pipeline),
    initialPageParam: null as string | null,
    getNextPageParam: (page: RunHistory) => page.next_before ?? undefined,
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/pipelines/{pipeline}/history", {
          params: { path: { pipeline }, query: { limit: HISTORY_PAGE, ...(pageParam ? { before: pageParam } : {}) } },
        }),
      ),
  });

/** Runs a page of the history view shows. */
export const HISTORY_PAGE = 25;

/** The last finished run of each node of a pipeline (the durations on the cards). */
export const lastRunsQuery = (pipeline: string) =>
  queryOptions({
    queryKey: keys.lastRuns(pipeline),
    queryFn: () => call(api.GET("/api/pipelines/{pipeline}/last-runs", { params: { path: { pipeline } } })),
  });

/** One run's node runs (its timeline). */
export const runNodeRunsQuery = (run: string) =>
  queryOptions({
    queryKey: keys.runNodeRuns(run),
    queryFn: () => call(api.GET("/api/runs/{run}/node-runs", { params: { path: { run } } })),
  });

/** What a node ran with in a run (never changes once recorded). */
export const pastEnvironmentQuery = (run: string, node: string) =>
  queryOptions({
    queryKey: keys.pastEnvironment(run, node),
    queryFn: () =>
      call(api.GET("/api/runs/{run}/nodes/{node}/environment", { params: { path: { run, node } } })),
  });

/** Refetch what shows runs in progress (history, a run's timeline) without cancelling a
 * request already out: during a big run this is asked every frame. */
export function invalidateRuns(pipeline: string, runs: Iterable<string>): void {
  const keep = { cancelRefetch: false };
  void queryClient.invalidateQueries({ queryKey: keys.history(pipeline) }, keep);
  for (const run of runs) void queryClient.invalidateQueries({ queryKey: keys.runNodeRuns(run) }, keep);
}

/** Refetch everything on screen (a change made elsewhere, or the event stream reconnected). */
export function invalidateAll(): Promise<void> {
  return queryClient.invalidateQueries();
}

/** Refetch the lists (workspace, projects, pipelines, shared environments). */
export async function invalidateLists(): Promise<void> {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: keys.workspace() }),
    queryClient.invalidateQueries({ queryKey: keys.projects() }),
    queryClient.invalidateQueries({ queryKey: keys.pipelines(), exact: true }),
    queryClient.invalidateQueries({ queryKey: keys.sharedEnvs() }),
  ]);
}

/** Refetch one pipeline: its graph, states, includes and every node detail of it. */
export function invalidatePipeline(pipeline: string): Promise<void> {
  return queryClient.invalidateQueries({ queryKey: keys.pipeline(pipeline) });
}

/** Refetch one node's details (its environment, runs, parameters). */
export function invalidateNode(pipeline: string, node: string): Promise<void> {
  return queryClient.invalidateQueries({ queryKey: keys.node(pipeline, node) });
}
