// Which overlay of the canvas is open: the find box or the keyboard shortcut sheet (one at a time).
import { create } from "zustand";

export type Overlay = "find" | "shortcuts" | null;

export const useOverlay = create<{ open: Overlay }>(() => ({ open: null }));

export function openOverlay(open: Overlay): void {
  useOverlay.setState({ open });
}
