// Keyboard focus for overlays (dialogs, menus): keep Tab inside them while they are open, and
// give the focus back to what had it when they close.
import { useLayoutEffect, type KeyboardEvent, type RefObject } from "react";
import { shortcutOf } from "../canvas/shortcuts";

const FOCUSABLE =
  'a[href], button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea:not(:disabled), [tabindex]:not([tabindex="-1"])';

/** The elements Tab can reach inside `container`, in order. */
export function focusables(container: HTMLElement): HTMLElement[] {
  return [...container.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((e) => e.getClientRects().length > 0);
}

/** A keydown handler for the overlay's element: Tab past the last element goes to the first,
 * Shift+Tab before the first to the last (the page behind cannot be reached). */
export function trapTab(event: KeyboardEvent<HTMLElement>): void {
  const direction = shortcutOf(event, "overlay");
  if (direction !== "nextControl" && direction !== "previousControl") return;
  const items = focusables(event.currentTarget);
  const first = items[0];
  const last = items[items.length - 1];
  if (!first || !last) {
    event.preventDefault();
    return;
  }
  const active = document.activeElement;
  if (direction === "previousControl" && (active === first || !event.currentTarget.contains(active))) {
    event.preventDefault();
    last.focus();
  } else if (direction === "nextControl" && (active === last || !event.currentTarget.contains(active))) {
    event.preventDefault();
    first.focus();
  }
}

/** While the calling overlay is open, remember what had the focus; give it back on close (if
 * it is still on the page; else to `fallback`, when given), unless another overlay has taken
 * the focus meanwhile. */
export function useReturnFocus(fallback?: RefObject<HTMLElement | null>): void {
  useLayoutEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const back = fallback?.current ?? null;
    return () => {
      const target = before?.isConnected && before !== document.body ? before : back;
      // After the overlay's own unmount (the element that had the focus is gone); not when
      // the focus is already somewhere (a menu item opened a dialog, which took it).
      window.setTimeout(() => {
        const now = document.activeElement;
        if (now && now !== document.body && now.isConnected) return;
        target?.focus({ preventScroll: true });
      }, 0);
    };
  }, [fallback]);
}
