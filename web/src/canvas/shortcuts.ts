// Keyboard shortcuts of the canvas: Delete/Backspace, Ctrl/Cmd+A, Escape.
import { useEffect, useRef } from "react";

interface Shortcuts {
  deleteSelection: () => void;
  selectAll: () => void;
  escape: () => void;
}

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

export function useShortcuts(shortcuts: Shortcuts): void {
  const current = useRef(shortcuts);
  current.current = shortcuts;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (typing(event.target) || document.querySelector("[data-testid=dialog]")) return;
      if (document.querySelector("[data-testid=history]")) return; // the canvas is covered
      if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        current.current.deleteSelection();
      } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "a") {
        event.preventDefault();
        current.current.selectAll();
      } else if (event.key === "Escape") {
        current.current.escape();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
