// Promise-based dialogs: `await ask({...})` opens one and resolves with the values, or null.
import type { ReactNode } from "react";
import { create } from "zustand";

export interface Option {
  value: string;
  label: string;
}

export interface Field {
  name: string;
  label: string;
  kind: "text" | "password" | "textarea" | "checkbox" | "select" | "file";
  value?: string | boolean;
  options?: Option[];
  placeholder?: string;
  /** A file field's `accept` (".whl,.tar.gz"); its value is the chosen File, or "" for none. */
  accept?: string;
}

export type Values = Record<string, string | boolean | File>;

/** What ``field`` holds when its dialog opens: its value, else unticked or its first option. */
export function initialValue(field: Field): string | boolean {
  return field.value ?? (field.kind === "checkbox" ? false : (field.options?.[0]?.value ?? ""));
}

/** Why `submit` refused what was typed: a sentence per field (by its name) and one for the
 * whole form; a field the dialog does not have is said with the form's. */
export interface Refusal {
  fields: Record<string, string>;
  message: string;
  /** What uv said in full, when it refused: behind a "Details" disclosure. */
  details?: string;
  /** Fields the refusal adds to the dialog (an input the bundle declares now, a confirmation
   * of what the server would remove), below the others until it closes; each starts with its
   * own `value`. A field of that name the dialog already has is left as it is. */
  more?: Field[];
}

export interface DialogSpec {
  title: string;
  body?: ReactNode;
  fields?: Field[];
  confirm: string;
  danger?: boolean;
  /** Done on confirm while the dialog stays open: a refusal keeps it open with what was typed
   * and says each problem beside its field; it closes (resolving with the values) once done. */
  submit?: (values: Values) => Promise<Refusal | null>;
  /** Said while `submit` works (it waits for a background job: "Relocking every node…"). */
  working?: string;
}

export interface OpenDialog {
  id: number;
  spec: DialogSpec;
  resolve: (values: Values | null) => void;
}

export const useDialog = create<{ open: OpenDialog | null }>(() => ({ open: null }));

let opened = 0;

export function ask(spec: DialogSpec): Promise<Values | null> {
  useDialog.getState().open?.resolve(null);
  const id = ++opened;
  return new Promise((resolve) => {
    useDialog.setState({
      open: {
        id,
        spec,
        resolve: (values) => {
          // a submit that ends after its dialog was cancelled closes no other dialog
          if (useDialog.getState().open?.id === id) useDialog.setState({ open: null });
          resolve(values);
        },
      },
    });
  });
}

export async function askText(
  title: string,
  label: string,
  value = "",
  confirm = "Save",
): Promise<string | null> {
  const values = await ask({ title, confirm, fields: [{ name: "text", label, kind: "text", value }] });
  const text = values?.["text"];
  return typeof text === "string" ? text.trim() : null;
}

export async function confirmDanger(title: string, body: ReactNode, confirm: string): Promise<boolean> {
  return (await ask({ title, body, confirm, danger: true })) !== null;
}
