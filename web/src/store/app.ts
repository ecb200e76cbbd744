// The app's state: what is open, what the server last said, and live run states.
import { create } from "zustand";
import type { CanvasNode, NodeState, NodeStatus, Pipeline, PipelineGraph } from "../api/types";

export type PanelTab = "overview" | "params" | "environment" | "runs" | "log" | "outputs" | "code";
export type Theme = "dark" | "light";

/** A node's state as the event stream last reported it (newer than the last graph load). */
export interface LiveState {
  state: NodeState;
  reason: string;
  runId: string;
  nodeRunId: string;
}

/** What is open and chosen on the page. What the server said lives in the query cache
 * (api/queries.ts); the open pipeline's graph and computed states are copied here from it
 * (store/opened.ts) for the cards' selectors. */
export interface AppState {
  /** The project the sidebar shows (null: the first one). */
  projectId: string | null;
  pipelineId: string | null;
  graph: PipelineGraph | null;
  statuses: Record<string, NodeStatus>;
  live: Record<string, LiveState>;
  selection: string[];
  /** Nodes an action wants selected (the canvas applies it through React Flow). */
  selectRequest: string[] | null;
  panelNodeId: string | null;
  panelTab: PanelTab;
  theme: Theme;
  connected: boolean;
  highlight: string[];
  layoutRequest: number;
}

function initialTheme(): Theme {
  const saved = localStorage.getItem("nodepipe-theme");
  if (saved === "dark" || saved === "light") return saved;
  return window.matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
}

/** Put ``theme`` on the page: done before the state changes, so what renders for the new theme
 * (the overview's colours) reads its CSS variables, not the old theme's. */
function applyTheme(theme: Theme): Theme {
  document.documentElement.dataset["theme"] = theme;
  return theme;
}

export const useApp = create<AppState>(() => ({
  projectId: null,
  pipelineId: null,
  graph: null,
  statuses: {},
  live: {},
  selection: [],
  selectRequest: null,
  panelNodeId: null,
  panelTab: "overview",
  theme: applyTheme(initialTheme()),
  connected: false,
  highlight: [],
  layoutRequest: 0,
}));

export const setApp = useApp.setState;
export const getApp = useApp.getState;

export function setTheme(theme: Theme): void {
  localStorage.setItem("nodepipe-theme", theme);
  setApp({ theme: applyTheme(theme) });
}

export function openPanel(nodeId: string | null, tab?: PanelTab): void {
  setApp((s) => ({ panelNodeId: nodeId, panelTab: tab ?? (nodeId ? s.panelTab : "overview") }));
}

/** Outline nodes for a moment (the nodes of a refused cycle). */
export function flash(nodeIds: string[], ms = 4000): void {
  setApp({ highlight: nodeIds });
  window.setTimeout(() => {
    if (getApp().highlight === nodeIds) setApp({ highlight: [] });
  }, ms);
}

/** The state to show: live from a run, else computed (a completed node may be stale), else
 * stored. A computed state older than the stored one is ignored until it is recomputed. */
export function displayState(s: AppState, nodeId: string, stored: NodeState): NodeState {
  const live = s.live[nodeId];
  if (live) return live.state;
  const computed = s.statuses[nodeId]?.state;
  if (computed === "stale" && stored === "completed") return "stale";
  return stored;
}

/** Why the node is in its state: the live reason during a run, else the computed reasons. */
export function displayReasons(s: AppState, nodeId: string, storedReason: string): string[] {
  const live = s.live[nodeId];
  if (live) return live.reason ? [live.reason] : [];
  return s.statuses[nodeId]?.reasons ?? (storedReason ? [storedReason] : []);
}

const indexes = new WeakMap<PipelineGraph, Map<string, CanvasNode>>();

/** A node of the loaded graph by id (the index is built once per loaded graph). */
export function graphNode(graph: PipelineGraph | null, id: string): CanvasNode | undefined {
  if (!graph) return undefined;
  let index = indexes.get(graph);
  if (!index) {
    index = new Map(graph.nodes.map((n) => [n.id, n]));
    indexes.set(graph, index);
  }
  return index.get(id);
}

/** A card's own state, read from the store (live, computed, or stored in the graph last
 * loaded): a live update or a reload re-renders only the cards whose state it changes; the
 * canvas and React Flow's node list stay as they are. */
export function useDisplayState(node: CanvasNode): NodeState {
  return useApp((s) => displayState(s, node.id, graphNode(s.graph, node.id)?.state ?? node.state));
}

/** A card's reasons, one string per line (a string compares by value: no needless render). */
export function useDisplayReasons(node: CanvasNode): string[] {
  const joined = useApp((s) => {
    const stored = graphNode(s.graph, node.id)?.state_reason ?? node.state_reason;
    return displayReasons(s, node.id, stored).join("\n");
  });
  return joined ? joined.split("\n") : [];
}

export function pipelineTag(pipelines: Pipeline[], pipelineId: string | null | undefined): string {
  return pipelines.find((p) => p.id === pipelineId)?.tag ?? pipelineId ?? "";
}
