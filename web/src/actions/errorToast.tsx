// An error as a toast: what is wrong in the app's words, and what uv said in full only behind
// a "Details" disclosure (uv's own text and hints speak of its command-line options).
import { toast } from "sonner";
import { withHint } from "../api/hints";
import type { ErrorBody } from "../api/types";

type Shown = Pick<ErrorBody, "message" | "hint" | "uv_output">;

/** The message's first line: nodepipe's words, before the explanation it quotes from uv. */
export function summary(message: string): string {
  return (message.split("\n", 1)[0] ?? message).replace(/:\s*$/, "");
}

/** A refusal or failure as an error toast; `uv_output` (when uv failed) goes under Details. */
export function errorToast(error: Shown, options: { id?: string | number; duration?: number } = {}): void {
  const output = error.uv_output ?? "";
  const message = withHint(output ? summary(error.message) : error.message, error.hint);
  const description = output ? (
    <details className="error-details" data-testid="error-details">
      <summary>Details</summary>
      <pre>{output}</pre>
    </details>
  ) : undefined;
  toast.error(message, { ...options, description });
}
