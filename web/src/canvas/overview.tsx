// The overview layer: a huge pipeline zoomed out is drawn in one <canvas>, not as DOM cards.
//
// Past OVERVIEW_NODES nodes and below DETAIL_ZOOM, thousands of cards and SVG edge paths cost
// seconds to draw and make every pan frame slow (10,000 nodes: ~3 fps). Then React Flow keeps
// every node (hidden: selection, find and "keep it in sight" still work) but draws none, and
// this layer paints the nodes in view as blocks in their state colours, edges as straight lines,
// and (from LABEL_ZOOM) tags. A pan frame repaints the canvas from flat arrays: no React render,
// no store write, no DOM node per node. A click on a block selects its node (Canvas.tsx does the
// hit test with `nodeAt`); the pointer's block is named in a label; screen readers get a summary
// of the states and how to reach a node (zoom in, or find with Ctrl+K).
import { useStore, useStoreApi, type Edge } from "@xyflow/react";
import { useEffect, useMemo, useRef } from "react";
import type { NodeState } from "../api/types";
import { displayState, graphNode, useApp, type AppState, type Theme } from "../store/app";
import { LABEL_ZOOM } from "./detail";
import type { FlowNode } from "./flow";
import { NODE_HEIGHT, NODE_WIDTH } from "./layout";

/** Past this many nodes a zoomed-out canvas is drawn by the overview layer. */
export const OVERVIEW_NODES = 2000;
/** Screen pixels around a tiny block that still count as a click on it. */
const REACH = 3;
const LOOKS: NodeState[] = ["ready", "queued", "running", "completed", "failed", "stale", "cancelled"];
const GROUP_LOOK = LOOKS.length;

/** The nodes of the overview as flat arrays (built once per node list, read on every frame). */
export interface Scene {
  ids: string[];
  tags: string[];
  x: Float64Array;
  y: Float64Array;
  width: Float64Array;
  height: Float64Array;
  /** Pairs of node indexes: source, target. */
  edges: Int32Array;
  index: Map<string, number>;
}

export function sceneOf(nodes: FlowNode[], edges: Edge[]): Scene {
  const drawn = nodes.filter((n) => n.type !== "groupFrame");
  const scene: Scene = {
    ids: drawn.map((n) => n.id),
    tags: drawn.map((n) => (n.type === "step" ? n.data.node.tag : n.data.group.name)),
    x: Float64Array.from(drawn, (n) => n.position.x),
    y: Float64Array.from(drawn, (n) => n.position.y),
    width: Float64Array.from(drawn, (n) => n.width ?? NODE_WIDTH),
    height: Float64Array.from(drawn, (n) => n.height ?? NODE_HEIGHT),
    edges: new Int32Array(edges.length * 2),
    index: new Map(drawn.map((n, i) => [n.id, i])),
  };
  let pairs = 0;
  for (const edge of edges) {
    const source = scene.index.get(edge.source);
    const target = scene.index.get(edge.target);
    if (source === undefined || target === undefined) continue;
    scene.edges[pairs++] = source;
    scene.edges[pairs++] = target;
  }
  scene.edges = scene.edges.subarray(0, pairs);
  return scene;
}

/** The node whose block is at flow point (x, y) at ``zoom``, topmost first; null if none. */
export function nodeAt(scene: Scene, x: number, y: number, zoom: number): string | null {
  const reach = REACH / zoom;
  for (let i = scene.ids.length - 1; i >= 0; i -= 1) {
    const left = scene.x[i] ?? 0;
    const top = scene.y[i] ?? 0;
    if (x >= left - reach && x <= left + (scene.width[i] ?? 0) + reach && y >= top - reach && y <= top + (scene.height[i] ?? 0) + reach) {
      return scene.ids[i] ?? null;
    }
  }
  return null;
}

/** Each node's look (an index into LOOKS; groups last), from the store's live and computed states. */
function looksOf(scene: Scene, s: AppState): Uint8Array {
  const looks = new Uint8Array(scene.ids.length);
  scene.ids.forEach((id, i) => {
    const node = graphNode(s.graph, id);
    looks[i] = node ? Math.max(0, LOOKS.indexOf(displayState(s, id, node.state))) : GROUP_LOOK;
  });
  return looks;
}

interface Paint {
  scene: Scene;
  looks: Uint8Array;
  selected: Set<string>;
  colours: string[];
  edge: string;
  accent: string;
  text: string;
}

/** Paint the nodes and edges in view; returns how many nodes were drawn. */
function paint(canvas: HTMLCanvasElement, p: Paint, view: { width: number; height: number; transform: [number, number, number] }): number {
  const ratio = window.devicePixelRatio || 1;
  const { width, height } = view;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext("2d");
  if (!context) return 0;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const [tx, ty, k] = view.transform;
  const { scene } = p;
  const left = -tx / k;
  const top = -ty / k;
  const right = (width - tx) / k;
  const bottom = (height - ty) / k;
  const count = scene.ids.length;
  const inView = new Uint8Array(count);
  for (let i = 0; i < count; i += 1) {
    const x = scene.x[i] ?? 0;
    const y = scene.y[i] ?? 0;
    inView[i] = x <= right && y <= bottom && x + (scene.width[i] ?? 0) >= left && y + (scene.height[i] ?? 0) >= top ? 1 : 0;
  }
  context.beginPath();
  for (let e = 0; e < scene.edges.length; e += 2) {
    const s = scene.edges[e] ?? 0;
    const t = scene.edges[e + 1] ?? 0;
    const x1 = (scene.x[s] ?? 0) + (scene.width[s] ?? 0);
    const y1 = (scene.y[s] ?? 0) + (scene.height[s] ?? 0) / 2;
    const x2 = scene.x[t] ?? 0;
    const y2 = (scene.y[t] ?? 0) + (scene.height[t] ?? 0) / 2;
    if (Math.max(x1, x2) < left || Math.min(x1, x2) > right || Math.max(y1, y2) < top || Math.min(y1, y2) > bottom) continue;
    context.moveTo(x1 * k + tx, y1 * k + ty);
    context.lineTo(x2 * k + tx, y2 * k + ty);
  }
  context.strokeStyle = p.edge;
  context.lineWidth = 1;
  context.stroke();
  let drawn = 0;
  p.colours.forEach((colour, look) => {
    context.beginPath();
    for (let i = 0; i < count; i += 1) {
      if (!inView[i] || p.looks[i] !== look) continue;
      const w = Math.max(1, (scene.width[i] ?? 0) * k);
      const h = Math.max(1, (scene.height[i] ?? 0) * k);
      context.rect((scene.x[i] ?? 0) * k + tx, (scene.y[i] ?? 0) * k + ty, w, h);
      drawn += 1;
    }
    context.fillStyle = colour;
    context.fill();
  });
  context.strokeStyle = p.accent;
  context.lineWidth = 2;
  for (const id of p.selected) {
    const i = scene.index.get(id);
    if (i === undefined || !inView[i]) continue;
    context.strokeRect((scene.x[i] ?? 0) * k + tx - 2, (scene.y[i] ?? 0) * k + ty - 2, (scene.width[i] ?? 0) * k + 4, (scene.height[i] ?? 0) * k + 4);
  }
  if (k >= LABEL_ZOOM) {
    context.fillStyle = p.text;
    context.font = "10px system-ui, sans-serif";
    context.textBaseline = "middle";
    for (let i = 0; i < count; i += 1) {
      if (!inView[i]) continue;
      const w = (scene.width[i] ?? 0) * k;
      context.fillText(scene.tags[i] ?? "", (scene.x[i] ?? 0) * k + tx + 4, ((scene.y[i] ?? 0) + (scene.height[i] ?? 0) / 2) * k + ty, Math.max(1, w - 8));
    }
  }
  return drawn;
}

/** Words for screen readers: how many nodes in each state, and how to reach one. */
function summary(looks: Uint8Array): string {
  const counts = new Map<string, number>();
  for (const look of looks) {
    const name = LOOKS[look] ?? "groups";
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const parts = [...counts].map(([name, n]) => `${n.toLocaleString("en")} ${name}`);
  return `Overview of ${looks.length.toLocaleString("en")} nodes: ${parts.join(", ")}. Zoom in to see cards, or find a node with Ctrl+K.`;
}

/** The colours the overview paints with in ``theme``: the CSS variables of ``element``. The page
 * takes a new theme before anything renders for it (store/app.ts ``setTheme``), so they are the
 * new theme's. */
function coloursOf(element: Element, theme: Theme): Omit<Paint, "scene" | "looks" | "selected"> & { theme: Theme } {
  const style = getComputedStyle(element);
  const read = (name: string) => style.getPropertyValue(name).trim();
  return {
    theme,
    colours: [...LOOKS.map((look) => read(`--look-${look}`)), read("--text-muted")],
    edge: read("--text-muted"),
    accent: read("--accent"),
    text: read("--block-text"),
  };
}

/** The overview canvas for ``nodes`` and ``edges``; render it inside `<ReactFlow>`. */
export function OverviewLayer({ scene }: { scene: Scene }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const rf = useStoreApi();
  const domNode = useStore((s) => s.domNode);
  const theme = useApp((s) => s.theme);
  const styles = useMemo(() => (domNode ? coloursOf(domNode, theme) : null), [domNode, theme]);

  useEffect(() => {
    const element = canvas.current;
    if (!element || !styles) return;
    let looks = looksOf(scene, useApp.getState());
    element.setAttribute("aria-label", summary(looks));
    const selectedOf = (nodes: { id: string; selected?: boolean }[]) =>
      new Set(nodes.filter((n) => n.selected).map((n) => n.id));
    let selected = selectedOf(rf.getState().nodes);
    let frame = 0;
    const draw = () => {
      frame = 0;
      const s = rf.getState();
      const drawn = paint(element, { scene, looks, selected, ...styles }, s);
      element.dataset.drawn = String(drawn);
    };
    const redraw = () => {
      if (!frame) frame = requestAnimationFrame(draw);
    };
    redraw();
    const stopView = rf.subscribe((s, before) => {
      const nodes = s.nodes !== before.nodes;
      if (nodes) selected = selectedOf(s.nodes);
      if (nodes || s.transform !== before.transform || s.width !== before.width || s.height !== before.height) redraw();
    });
    const stopApp = useApp.subscribe((s, before) => {
      if (s.live === before.live && s.statuses === before.statuses && s.graph === before.graph) return;
      looks = looksOf(scene, s);
      element.setAttribute("aria-label", summary(looks));
      redraw();
    });
    return () => {
      stopView();
      stopApp();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [scene, styles, rf]);

  return <canvas ref={canvas} className="overview-layer" data-testid="overview" role="img" />;
}
