// What was typed in the open dialog, kept when the tab loses its access (the server restarted
// with a new token, its password changed): the app then reloads to the login screen, which
// would lose it. The draft lives in this tab's sessionStorage (as the credential does: it ends
// with the tab); the login screen and the app after it say which dialog holds it, and that
// dialog, opened again, starts with what was typed (then the draft is dropped). Passwords and
// chosen files are never kept.
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
