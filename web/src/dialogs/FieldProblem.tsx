// What the server refused about a field's value, said beside the field: the one way every form
// (the dialog, the node panel's Tag and Notes) shows it. The field names the sentence as its
// description and is marked invalid; the sentence is an alert, so it is read out when it shows.
import type { Refusal } from "./dialogs";

/** What to give the field that ``problem`` (the id of a FieldProblem) is about. */
export function refusedField(problem: string | undefined) {
  return problem ? { "aria-invalid": true, "aria-describedby": problem } : {};
}

export function FieldProblem({ id, problem }: { id: string; problem: string }) {
  if (!problem) return null;
  return (
    <span className="form-error field-problem" id={id} role="alert" data-testid={id}>
      {problem}
    </span>
  );
}

/** What a form of one field says beside it: that field's problem, else all that was said. */
export function problemOf(refusal: Refusal | null, field: string): string {
  if (!refusal) return "";
  return refusal.fields[field] || [refusal.message, ...Object.values(refusal.fields)].filter(Boolean).join("; ");
}

/** Focus the field a refusal is about, its text selected to be typed over. */
export function focusRefused(input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement | null | undefined): void {
  input?.focus();
  if (input && "select" in input && typeof input.select === "function") input.select();
}
