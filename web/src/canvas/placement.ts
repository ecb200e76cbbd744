// Where things go on the visible canvas: a spot for a new node inside the view, and panning so
// nodes the user is working on stay in sight (the side panel narrows the canvas; a new node
// may be made outside the view).
import type { Edge, ReactFlowInstance } from "@xyflow/react";
import type { FlowNode } from "./flow";
import { NODE_HEIGHT, NODE_WIDTH } from "./layout";

/** Screen pixels kept clear around a revealed node; the top keeps clear of the toolbar. */
const MARGIN = { side: 32, top: 72, bottom: 32 };
const GAP = 24;

interface View {
  width: number;
  height: number;
  transform: [number, number, number];
}

type Flow = ReactFlowInstance<FlowNode, Edge>;

/** The flow-space box of ``ids`` that are on the canvas, or null. */
function boxOf(flow: Flow, ids: string[]): { left: number; top: number; right: number; bottom: number } | null {
  const placed = ids.flatMap((id) => flow.getInternalNode(id) ?? []);
  if (placed.length === 0) return null;
  const lefts = placed.map((n) => n.internals.positionAbsolute.x);
  const tops = placed.map((n) => n.internals.positionAbsolute.y);
  const rights = placed.map((n) => n.internals.positionAbsolute.x + (n.measured.width ?? NODE_WIDTH));
  const bottoms = placed.map((n) => n.internals.positionAbsolute.y + (n.measured.height ?? NODE_HEIGHT));
  return { left: Math.min(...lefts), top: Math.min(...tops), right: Math.max(...rights), bottom: Math.max(...bottoms) };
}

/** How far to move an interval [low, high] to lie within [min, max]; 0 when it cannot fit. */
function shift(low: number, high: number, min: number, max: number): number {
  if (high - low > max - min) return 0;
  if (low < min) return min - low;
  if (high > max) return max - high;
  return 0;
}

/** Pan (at the same zoom) so the nodes ``ids`` are wholly on screen, clear of the toolbar;
 * nothing moves when they already are, or when they cannot all fit at this zoom. */
export function reveal(flow: Flow, view: View, ids: string[]): void {
  const box = boxOf(flow, ids);
  if (!box || view.width === 0) return;
  const [x, y, zoom] = view.transform;
  const dx = shift(box.left * zoom + x, box.right * zoom + x, MARGIN.side, view.width - MARGIN.side);
  const dy = shift(box.top * zoom + y, box.bottom * zoom + y, MARGIN.top, view.height - MARGIN.bottom);
  if (dx === 0 && dy === 0) return;
  void flow.setViewport({ x: x + dx, y: y + dy, zoom }, { duration: 200 });
}

/** A spot for a new node inside the view where no card is: the middle of the view, else the
 * nearest free spot around it (rings of card-sized steps); the middle when the view is full. */
export function freeSpotInView(flow: Flow, view: View): { x: number; y: number } {
  const [x, y, zoom] = view.transform;
  const toFlow = (px: number, py: number) => ({ x: (px - x) / zoom, y: (py - y) / zoom });
  const topLeft = toFlow(MARGIN.side, MARGIN.top);
  const bottomRight = toFlow(view.width - MARGIN.side, view.height - MARGIN.bottom);
  const middle = toFlow(view.width / 2, view.height / 2);
  const start = { x: Math.round(middle.x - NODE_WIDTH / 2), y: Math.round(middle.y - NODE_HEIGHT / 2) };
  const taken = flow.getNodes().map((n) => n.position);
  const free = (spot: { x: number; y: number }) =>
    spot.x >= topLeft.x &&
    spot.y >= topLeft.y &&
    spot.x + NODE_WIDTH <= bottomRight.x &&
    spot.y + NODE_HEIGHT <= bottomRight.y &&
    !taken.some((t) => Math.abs(t.x - spot.x) < NODE_WIDTH + GAP && Math.abs(t.y - spot.y) < NODE_HEIGHT + GAP);
  const stepX = NODE_WIDTH + GAP;
  const stepY = NODE_HEIGHT + GAP;
  for (let ring = 0; ring <= 12; ring += 1) {
    for (let i = -ring; i <= ring; i += 1) {
      for (let j = -ring; j <= ring; j += 1) {
        if (Math.max(Math.abs(i), Math.abs(j)) !== ring) continue;
        const spot = { x: start.x + i * stepX, y: start.y + j * stepY };
        if (free(spot)) return spot;
      }
    }
  }
  return start;
}
