// Which field of a request a refusal is about, so that a dialog can say it beside that field:
// the server's validation errors (their `details`, by the body's field) and refusals whose hint
// is about one field (a tag another node already has).
import { withHint } from "./hints";
import type { ErrorBody } from "./types";

type Action = NonNullable<ErrorBody["hint"]>["action"];

/** Refusals about one field of the request, by their hint's action (and its parameters). */
const FIELD_OF_HINT: Partial<Record<Action, (params: Record<string, string>) => string>> = {
  "tag.duplicate": () => "tag",
  "library.name": () => "alias",
  "bundle.input": (params) => `inputs.${params["input"] ?? ""}`,
};

/** Where the server's validation puts a request's own values: its body, query and path. */
const REQUEST_PARTS = new Set(["body", "query", "path"]);

function detailField(detail: Record<string, unknown>): [string, string] | null {
  const loc = Array.isArray(detail["loc"]) ? detail["loc"].map(String) : [];
  const field = REQUEST_PARTS.has(loc[0] ?? "") ? loc[1] : loc[0];
  const message = detail["msg"];
  return field && typeof message === "string" ? [field, message] : null;
}

/** What was wrong with each field of the request, in the server's sentence without the field's
 * technical name (the dialog shows it beside the field's own label). */
export function fieldProblems(body: Partial<ErrorBody> | undefined): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const detail of body?.details ?? []) {
    const found = detailField(detail);
    if (!found) continue;
    const [field, message] = found;
    problems[field] = problems[field] ? `${problems[field]}; ${message}` : message;
  }
  const hinted = body?.hint ? FIELD_OF_HINT[body.hint.action]?.(body.hint.params ?? {}) : undefined;
  if (hinted && body?.message && !problems[hinted]) problems[hinted] = withHint(body.message, body.hint);
  return problems;
}
