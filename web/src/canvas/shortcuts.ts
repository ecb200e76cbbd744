// Keyboard shortcuts and pointer gestures of the app: ONE table (SHORTCUTS) that the key handling
// of every component and the `?` sheet read. A shortcut is added here, with where it works, its
// keys and a description, and handled through `shortcutOf`/`isShortcut` (keys), `withGesture`
// and `gestureKeys` (clicks and drags) or `editorKey` (CodeMirror): no component compares
// KeyboardEvent keys itself (tests/browser/test_shortcut_table.py checks that).
import { useEffect, useRef, type KeyboardEvent as ReactKeyboardEvent, type MouseEvent as ReactMouseEvent } from "react";

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
  | "addToSelection"
  | "boxSelect"
  | "openNode"
  | "nodeMenu"
  | "runNow"
  | "menuNext"
  | "menuPrevious"
  | "menuFirst"
  | "menuLast"
  | "findNext"
  | "findPrevious"
  | "findJump"
  | "cancel"
  | "previousControl"
  | "nextControl"
  | "closeHistory"
  | "openRun"
  | "save";

/** Where a shortcut works: the sheet shows one section for each, in this order. */
export const PLACES = {
  canvas: "Canvas",
  node: "On the node Tab reached",
  toolbar: "Toolbar",
  menu: "Menus",
  find: "Find box",
  overlay: "Dialogs, menus and this sheet",
  history: "History view",
  code: "Code tab",
} as const;
export type Place = keyof typeof PLACES;

export interface Shortcut {
  id: ShortcutId;
  where: Place;
  /** Alternatives, each a key combination: modifiers ("Ctrl" also means Cmd, "Shift", "Alt")
   * then a key as KeyboardEvent.key names it (a letter in lower case), or "click" / "drag" for
   * a pointer gesture with those modifiers held. */
  keys: string[][];
  description: string;
}

export const SHORTCUTS: Shortcut[] = [
  { id: "find", where: "canvas", keys: [["Ctrl", "k"], ["/"]], description: "Find a node by tag, id or notes" },
  { id: "undo", where: "canvas", keys: [["Ctrl", "z"]], description: "Undo the last graph edit" },
  { id: "redo", where: "canvas", keys: [["Ctrl", "Shift", "z"], ["Ctrl", "y"]], description: "Redo what was undone" },
  { id: "copy", where: "canvas", keys: [["Ctrl", "c"]], description: "Copy the selected nodes" },
  { id: "paste", where: "canvas", keys: [["Ctrl", "v"]], description: "Paste copied nodes into this pipeline (as copies)" },
  { id: "selectAll", where: "canvas", keys: [["Ctrl", "a"]], description: "Select every node" },
  { id: "deleteSelection", where: "canvas", keys: [["Delete"], ["Backspace"]], description: "Delete the selected nodes or edges" },
  { id: "escape", where: "canvas", keys: [["Escape"]], description: "Close the menu and the side panel, clear the selection" },
  { id: "help", where: "canvas", keys: [["?"]], description: "Show these keyboard shortcuts" },
  { id: "addToSelection", where: "canvas", keys: [["Shift", "click"], ["Ctrl", "click"]], description: "Add a node to the selection (or take it out)" },
  { id: "boxSelect", where: "canvas", keys: [["Shift", "drag"]], description: "Select the nodes inside a box drawn on the canvas" },
  // On the node the keyboard is on (Tab reaches nodes); a11y/nodeKeys.ts handles these two.
  { id: "openNode", where: "node", keys: [["Enter"]], description: "Open the panel of the node Tab reached" },
  { id: "nodeMenu", where: "node", keys: [["Shift", "F10"], ["ContextMenu"]], description: "Open the menu of the node Tab reached" },
  { id: "runNow", where: "toolbar", keys: [["Shift", "click"]], description: "On Run, Run selected or Force re-run (or a run of a right-click menu): run at once, without the preview of what would run" },
  { id: "menuNext", where: "menu", keys: [["ArrowDown"]], description: "Next item" },
  { id: "menuPrevious", where: "menu", keys: [["ArrowUp"]], description: "Previous item" },
  { id: "menuFirst", where: "menu", keys: [["Home"]], description: "First item" },
  { id: "menuLast", where: "menu", keys: [["End"]], description: "Last item" },
  { id: "findNext", where: "find", keys: [["ArrowDown"]], description: "Next node found" },
  { id: "findPrevious", where: "find", keys: [["ArrowUp"]], description: "Previous node found" },
  { id: "findJump", where: "find", keys: [["Enter"]], description: "Go to the node chosen and select it" },
  { id: "cancel", where: "overlay", keys: [["Escape"]], description: "Close without doing anything (the find box, a menu, a dialog, the run preview, this sheet)" },
  { id: "previousControl", where: "overlay", keys: [["Shift", "Tab"]], description: "Previous control (the focus stays inside an open dialog)" },
  { id: "nextControl", where: "overlay", keys: [["Tab"]], description: "Next control (the focus stays inside an open dialog)" },
  { id: "closeHistory", where: "history", keys: [["Escape"]], description: "Back to the canvas" },
  { id: "openRun", where: "history", keys: [["Enter"], [" "]], description: "Show the timeline of the run the focus is on" },
  { id: "save", where: "code", keys: [["Ctrl", "s"]], description: "Save the file open in a node's Code tab (while editing it)" },
];

const MODIFIERS = new Set(["Ctrl", "Shift", "Alt"]);
const KEY_NAMES: Record<string, string> = {
  Escape: "Esc",
  Delete: "Del",
  Backspace: "Backspace",
  ContextMenu: "Menu key",
  ArrowDown: "↓",
  ArrowUp: "↑",
  " ": "Space",
  click: "click",
  drag: "drag",
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

function matches(event: KeyboardEvent | ReactKeyboardEvent, combo: string[]): boolean {
  const key = combo[combo.length - 1] ?? "";
  const wants = new Set(combo.filter((k) => MODIFIERS.has(k)));
  if (wants.has("Ctrl") !== (event.ctrlKey || event.metaKey)) return false;
  if (wants.has("Alt") !== event.altKey) return false;
  // Shift matters for a letter (Ctrl+Z vs Ctrl+Shift+Z) and where a combination names it
  // (Shift+Tab); a sign's does not ("?" needs Shift).
  if (wants.has("Shift") && !event.shiftKey) return false;
  if (/^[a-z]$/.test(key) && !wants.has("Shift") && event.shiftKey) return false;
  return event.key.length === 1 ? event.key.toLowerCase() === key : event.key === key;
}

/** The shortcut of ``where`` that the key pressed is (the first in the table that matches: a
 * combination with Shift comes before the same key without it). */
export function shortcutOf(event: KeyboardEvent | ReactKeyboardEvent, where: Place = "canvas"): ShortcutId | undefined {
  return SHORTCUTS.find((s) => s.where === where && !pointer(s) && s.keys.some((combo) => matches(event, combo)))?.id;
}

/** Whether the key pressed is the shortcut ``id``. */
export function isShortcut(event: KeyboardEvent | ReactKeyboardEvent, id: ShortcutId): boolean {
  const where = SHORTCUTS.find((s) => s.id === id)?.where;
  return where !== undefined && shortcutOf(event, where) === id;
}

function pointer(shortcut: Shortcut): boolean {
  return shortcut.keys.some((combo) => ["click", "drag"].includes(combo[combo.length - 1] ?? ""));
}

/** Whether a click was made with the modifiers of the gesture ``id`` held (Shift-click). */
export function withGesture(event: MouseEvent | ReactMouseEvent, id: ShortcutId): boolean {
  const combos = SHORTCUTS.find((s) => s.id === id)?.keys ?? [];
  return combos.some((combo) => {
    const wants = new Set(combo.slice(0, -1));
    return (
      wants.has("Shift") === event.shiftKey &&
      wants.has("Alt") === event.altKey &&
      wants.has("Ctrl") === (event.ctrlKey || event.metaKey)
    );
  });
}

/** The modifier keys of the gesture ``id`` as React Flow names them (for its key-code props). */
export function gestureKeys(id: ShortcutId): string[] {
  const combos = SHORTCUTS.find((s) => s.id === id)?.keys ?? [];
  const names: Record<string, string[]> = { Shift: ["Shift"], Ctrl: ["Control", "Meta"], Alt: ["Alt"] };
  return combos.flatMap((combo) => combo.slice(0, -1).flatMap((key) => names[key] ?? []));
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
