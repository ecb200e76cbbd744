// What was typed in the open dialog (and in a node's panel, below), kept when the tab loses
// its access (the server restarted with a new token, its password changed): the app then reloads to the login screen, which
// would lose it. The draft lives in this tab's sessionStorage (as the credential does: it ends
// with the tab); the login screen and the app after it say which dialog holds it, and that
// dialog, opened again, starts with what was typed (then the draft is dropped). Passwords and
// chosen files are never kept.
import { beforeSessionEnds } from "../api/credential";
import { initialValue, type DialogSpec, type Field, type Values } from "./dialogs";

const KEY = "nodepipe.dialog-draft";

export interface Draft {
  /** The dialog's title: which dialog it was (its fields must match too). */
  title: string;
  fields: string[];
  values: Record<string, string | boolean>;
}

let open: { spec: DialogSpec; values: () => Values } | null = null;

/** The dialog on screen and how to read what it holds now (null: none). */
export function followDialog(dialog: { spec: DialogSpec; values: () => Values } | null): void {
  open = dialog;
}

const kept = (field: Field) => field.kind !== "password" && field.kind !== "file";

/** Keep what the open dialog holds, if the user typed or chose anything in it. */
export function keepDraft(): void {
  if (!open) return;
  const fields = (open.spec.fields ?? []).filter(kept);
  const now = open.values();
  const values: Record<string, string | boolean> = {};
  for (const field of fields) {
    const value = now[field.name];
    if (typeof value === "string" || typeof value === "boolean") values[field.name] = value;
  }
  if (!fields.some((field) => values[field.name] !== initialValue(field))) return;
  const draft: Draft = { title: open.spec.title, fields: fields.map((field) => field.name), values };
  sessionStorage.setItem(KEY, JSON.stringify(draft));
}

/** The draft kept, if any. */
export function keptDraft(): Draft | null {
  try {
    const draft = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Draft | null;
    return draft && typeof draft.title === "string" && draft.values ? draft : null;
  } catch {
    return null;
  }
}

/** Forget the draft (its dialog has it back). */
export function dropDraft(): void {
  sessionStorage.removeItem(KEY);
}

/** What the dialog of ``spec`` gets back of the draft (its fields' values); null when the
 * draft is of another dialog. */
export function draftOf(spec: DialogSpec): Record<string, string | boolean> | null {
  const draft = keptDraft();
  const fields = (spec.fields ?? []).filter(kept);
  if (!draft || draft.title !== spec.title || draft.fields.join("\n") !== fields.map((f) => f.name).join("\n")) return null;
  const values: Record<string, string | boolean> = {};
  for (const field of fields) {
    const value = draft.values[field.name];
    if (value === undefined || typeof value !== (field.kind === "checkbox" ? "boolean" : "string")) continue;
    if (field.kind === "select" && !(field.options ?? []).some((option) => option.value === value)) continue;
    values[field.name] = value;
  }
  return values;
}

// Unsaved typing in a node's panel (its parameters, its notes, a code file open in it) is kept
// the same way, one draft per node and field, so that a reload or a lost session (the server
// restarted with a new token) does not lose it: the field, opened again for that node, starts
// with it. It is written while typing pauses (and at once when the session ends or the page
// goes), and dropped once the field is saved, reverted or reloaded. It names the node's id
// (ids are never reused), so it is never applied to another node; a node removed meanwhile has
// its drafts dropped when its panel learns of it.

const PANEL_KEY = "nodepipe.panel-draft:";
const PANEL_PAUSE_MS = 400;

export interface PanelDraft {
  /** The node's id, and which of its fields: "params", "notes" or "code:<path>". */
  node: string;
  field: string;
  /** What was typed. */
  text: string;
  /** The text the typing began from, and its version when the field has one (a later save is
   * based on it: a change made elsewhere since is shown, never overwritten unseen). */
  began: string;
  version: string;
}

const pending = new Map<string, PanelDraft | null>();
let timer: ReturnType<typeof setTimeout> | null = null;
const panelKey = (node: string, field: string) => `${PANEL_KEY}${node}:${field}`;

function writePending(): void {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  for (const [key, draft] of pending) {
    try {
      if (draft) sessionStorage.setItem(key, JSON.stringify(draft));
      else sessionStorage.removeItem(key);
    } catch {
      // storage full: this draft is not kept (typing goes on; the field still holds it)
    }
  }
  pending.clear();
}

beforeSessionEnds(writePending);
window.addEventListener("pagehide", writePending);

function later(key: string, draft: PanelDraft | null): void {
  pending.set(key, draft);
  if (timer === null) timer = setTimeout(writePending, PANEL_PAUSE_MS);
}

/** Keep what was typed in a field of a node's panel (written once typing pauses). */
export function keepPanelDraft(draft: PanelDraft): void {
  later(panelKey(draft.node, draft.field), draft);
}

/** Forget the draft of a field (it was saved, reverted or reloaded). */
export function dropPanelDraft(node: string, field: string): void {
  const key = panelKey(node, field);
  if (pending.has(key) || sessionStorage.getItem(key) !== null) later(key, null);
}

/** The draft kept for ``field`` of node ``node``, if any. */
export function panelDraft(node: string, field: string): PanelDraft | null {
  const key = panelKey(node, field);
  const draft = pending.has(key) ? pending.get(key) : readDraft(sessionStorage.getItem(key));
  return draft && draft.node === node && draft.field === field ? draft : null;
}

function readDraft(stored: string | null): PanelDraft | null {
  try {
    const draft = JSON.parse(stored ?? "null") as PanelDraft | null;
    return draft && ["node", "field", "text", "began", "version"].every((k) => typeof draft[k as keyof PanelDraft] === "string") ? draft : null;
  } catch {
    return null;
  }
}

/** Forget every draft of node ``node`` (it was removed). */
export function dropNodeDrafts(node: string): void {
  writePending();
  const prefix = panelKey(node, "");
  for (const name of storedNames()) if (name.startsWith(prefix)) sessionStorage.removeItem(name);
}

/** The names of what the tab's session storage holds (a copy: removing while walking it is
 * safe). */
function storedNames(): string[] {
  return Object.keys(sessionStorage);
}

/** Whether any node's panel has a draft kept (the app says so after a new login). */
export function hasPanelDrafts(): boolean {
  return storedNames().some((name) => name.startsWith(PANEL_KEY));
}
