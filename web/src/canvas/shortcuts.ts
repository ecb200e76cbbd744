// Keyboard shortcuts of the app: ONE table (SHORTCUTS) that both the key handling and the `?`
// sheet read. A shortcut is added here, with its keys and a description, and handled by the
// component that passes a handler for its id to useShortcuts.
import { useEffect, useRef } from "react";

export type ShortcutId =
  | "find"
  | "help"
  | "undo"
  | "redo"
  | "copy"
  | "paste"
  | "deleteSelection"
  | "selectAll"
  | "escape"
  | "save"
  | "openNode"
  | "nodeMenu";

export interface Shortcut {
  id: ShortcutId;
  /** Alternatives, each a key combination: modifiers ("Ctrl" also means Cmd, "Shift", "Alt")
   * then a key as KeyboardEvent.key names it (a letter in lower case). */
  keys: string[][];
  description: string;
}

export const SHORTCUTS: Shortcut[] = [
  { id: "find", keys: [["Ctrl", "k"], ["/"]], description: "Find a node by tag, id or notes" },
  { id: "undo", keys: [["Ctrl", "z"]], description: "Undo the last graph edit" },
  { id: "redo", keys: [["Ctrl", "Shift", "z"], ["Ctrl", "y"]], description: "Redo what was undone" },
  { id: "copy", keys: [["Ctrl", "c"]], description: "Copy the selected nodes" },
  { id: "paste", keys: [["Ctrl", "v"]], description: "Paste copied nodes into this pipeline (as copies)" },
  { id: "selectAll", keys: [["Ctrl", "a"]], description: "Select every node" },
  { id: "deleteSelection", keys: [["Delete"], ["Backspace"]], description: "Delete the selected nodes or edges" },
  { id: "escape", keys: [["Escape"]], description: "Close the menu and the side panel, clear the selection" },
  { id: "help", keys: [["?"]], description: "Show these keyboard shortcuts" },
  { id: "save", keys: [["Ctrl", "s"]], description: "Save the file open in a node's Code tab (while editing it)" },
  // On the node the keyboard is on (Tab reaches nodes); a11y/nodeKeys.ts handles these two.
  { id: "openNode", keys: [["Enter"]], description: "Open the panel of the node Tab reached" },
  { id: "nodeMenu", keys: [["Shift", "F10"], ["ContextMenu"]], description: "Open the menu of the node Tab reached" },
];

const MODIFIERS = new Set(["Ctrl", "Shift", "Alt"]);
const KEY_NAMES: Record<string, string> = {
  Escape: "Esc",
  Delete: "Del",
  Backspace: "Backspace",
  ContextMenu: "Menu key",
};

/** How a key combination is written for people: "Ctrl+Shift+Z". */
export function keyLabel(combo: string[]): string {
  return combo.map((key) => KEY_NAMES[key] ?? (key.length === 1 ? key.toUpperCase() : key)).join("+");
}

/** The first label of a shortcut, for tooltips and menu hints. */
export function shortcutLabel(id: ShortcutId): string {
  const combo = SHORTCUTS.find((s) => s.id === id)?.keys[0];
  return combo ? keyLabel(combo) : "";
}

/** A shortcut's first combination as CodeMirror's keymap writes it ("Mod-s"), for editors that
 * handle it themselves (the Code tab's Save). */
export function editorKey(id: ShortcutId): string {
  const combo = SHORTCUTS.find((s) => s.id === id)?.keys[0] ?? [];
  return combo.map((key) => (key === "Ctrl" ? "Mod" : key)).join("-");
}

function matches(event: KeyboardEvent, combo: string[]): boolean {
  const key = combo[combo.length - 1] ?? "";
  const wants = new Set(combo.filter((k) => MODIFIERS.has(k)));
  if (wants.has("Ctrl") !== (event.ctrlKey || event.metaKey)) return false;
  if (wants.has("Alt") !== event.altKey) return false;
  // A letter's Shift matters (Ctrl+Z vs Ctrl+Shift+Z); a sign's does not ("?" needs Shift).
  const letter = /^[a-z]$/.test(key);
  if (letter && wants.has("Shift") !== event.shiftKey) return false;
  return event.key.length === 1 ? event.key.toLowerCase() === key : event.key === key;
}

export function shortcutOf(event: KeyboardEvent): ShortcutId | undefined {
  return SHORTCUTS.find((s) => s.keys.some((combo) => matches(event, combo)))?.id;
}

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

/** Text the user selected on the page (Ctrl+C then copies it, not nodes). */
function textSelected(): boolean {
  return (window.getSelection()?.toString() ?? "") !== "";
}

export type ShortcutHandlers = Partial<Record<ShortcutId, () => void>>;

/** Call the handler of each shortcut pressed, unless the user is typing or a dialog is open. */
export function useShortcuts(handlers: ShortcutHandlers): void {
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (typing(event.target) || document.querySelector("[data-testid=dialog]")) return;
      if (document.querySelector("[data-testid=history]")) return; // the canvas is covered
      const id = shortcutOf(event);
      const handler = id ? current.current[id] : undefined;
      if (!id || !handler || (id === "copy" && textSelected())) return;
      if (id !== "escape") event.preventDefault();
      handler();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
