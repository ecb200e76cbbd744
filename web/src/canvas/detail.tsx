// Level of detail: how much a card shows at the current zoom, and the zoom read by CSS.
//
// At DETAIL_ZOOM and above a card is drawn in full. Below it, a card is a block in its state's
// colour (cheap to paint) carrying its tag in a font that stays readable on screen: the React
// Flow element has `--lod` = 1 / zoom, so `calc(10px * var(--lod))` is 10 px on screen at any zoom.
// Below LABEL_ZOOM the rows are closer than a readable line is tall: the tag shows only on the
// block under the pointer (and in its tooltip), so labels never pile up into noise.
import { useStore } from "@xyflow/react";
import { useLayoutEffect } from "react";
import { create } from "zustand";

/** Below this zoom a card is too small to read: draw a block with its tag only. */
export const DETAIL_ZOOM = 0.45;
/** Below this zoom a block's tag shows on hover only. */
export const LABEL_ZOOM = 0.14;

/** Whether cards are drawn in full: ONE value the cards read, set by ZoomScale when the zoom
 * crosses DETAIL_ZOOM. A card that selected it from React Flow's store itself ran its selector
 * on every pan frame (1,000 cards: 1,000 selectors a frame for a value that did not change). */
const useDetail = create<{ detailed: boolean }>(() => ({ detailed: true }));

export function useDetailed(): boolean {
  return useDetail((s) => s.detailed);
}

/** Keeps `--lod` and `data-lod` ("full", "block" or "tiny") of the React Flow element in step
 * with the zoom: CSS sizes and hides the labels, so a zoom re-renders no card. Render it inside
 * `<ReactFlow>`. */
export function ZoomScale(): null {
  const zoom = useStore((s) => s.transform[2]);
  const element = useStore((s) => s.domNode);
  useLayoutEffect(() => {
    useDetail.setState({ detailed: zoom >= DETAIL_ZOOM });
    if (!element) return;
    element.style.setProperty("--lod", String(1 / zoom));
    element.dataset.lod = zoom >= DETAIL_ZOOM ? "full" : zoom >= LABEL_ZOOM ? "block" : "tiny";
  }, [zoom, element]);
  return null;
}
