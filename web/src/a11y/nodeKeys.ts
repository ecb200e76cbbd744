// Nodes by keyboard: Tab reaches a card (React Flow makes each one focusable), Enter opens its
// panel, the context-menu key or Shift+F10 opens its menu (as a right-click on it would).
import { useEffect } from "react";
import { shortcutOf } from "../canvas/shortcuts";

/** The step node card the keyboard is on, if any. */
function focusedNode(target: EventTarget | null): HTMLElement | null {
  if (!(target instanceof HTMLElement) || !target.classList.contains("react-flow__node")) return null;
  return target.classList.contains("react-flow__node-step") ? target : null;
}

export function useNodeKeys(open: (nodeId: string) => void): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const node = focusedNode(event.target);
      const id = node?.dataset["id"];
      if (!node || !id) return;
      const shortcut = shortcutOf(event, "node");
      if (shortcut === "openNode") {
        open(id);
      } else if (shortcut === "nodeMenu") {
        event.preventDefault();
        const box = node.getBoundingClientRect();
        const at = { clientX: box.left + box.width / 2, clientY: box.bottom };
        node.dispatchEvent(new MouseEvent("contextmenu", { bubbles: true, cancelable: true, button: 2, ...at }));
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);
}
