// Parameters as YAML: validated as you type, and again by the server before it saves. The text
// is saved as typed (comments kept); a changed value makes the node stale on the canvas at once.
import { useEffect, useMemo, useRef, useState } from "react";
import { parse } from "yaml";
import { invalidatePipeline } from "../api/queries";
import { toast } from "sonner";
import { api, ApiError, call } from "../api/client";
import type { CanvasNode, NodeDetail } from "../api/types";
import { useApp } from "../store/app";
import { readOnlyReason } from "./readOnly";

function validate(text: string): string | null {
  try {
    const value: unknown = parse(text);
    if (value === null || value === undefined) return null;
    if (typeof value !== "object" || Array.isArray(value)) {
      return "parameters must be a mapping of names to values (name: value)";
    }
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

interface Props {
  node: CanvasNode;
  detail: NodeDetail | null;
  pipelineId: string;
}

export function ParamsTab({ node, detail, pipelineId }: Props) {
  const loaded = detail?.params_text ?? "";
  // What the file holds now: the loaded text, then what this tab saved last.
  const [saved, setSaved] = useState(loaded);
  const [text, setText] = useState(loaded);
  const [serverError, setServerError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const savedRef = useRef(loaded);
  savedRef.current = saved;
  useEffect(() => {
    // A newer file text (a reload after a save, or an edit elsewhere) replaces the editor's text
    // only when nothing is typed there: unsaved typing is never thrown away by a late reload.
    setText((current) => (current === savedRef.current ? loaded : current));
    setSaved(loaded);
  }, [loaded]);
  const error = useMemo(() => validate(text), [text]);
  const pipeline = useApp((s) => s.graph?.pipeline);
  const readOnlyWhy = readOnlyReason(node, pipeline);
  const readOnly = readOnlyWhy !== "";

  const save = async () => {
    setSaving(true);
    setServerError(null);
    try {
      await call(
        api.PUT("/api/pipelines/{pipeline}/nodes/{node}/params", {
          params: { path: { pipeline: pipelineId, node: node.id } },
          body: { yaml: text },
        }),
      );
      setSaved(text);
      toast.success(`Saved the parameters of ${node.tag}`);
      await invalidatePipeline(pipelineId); // the node and what reads it may be stale now
    } catch (failure) {
      setServerError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setSaving(false);
    }
  };

  return (
    <div className="params">
      {readOnly && (
        <p className="muted" data-testid="params-read-only">
          {readOnlyWhy}
        </p>
      )}
      <textarea
        className="code-editor"
        spellCheck={false}
        value={text}
        rows={16}
        disabled={readOnly || !detail}
        onChange={(e) => setText(e.target.value)}
        aria-invalid={error !== null}
        data-testid="params-editor"
        placeholder="learning_rate: 0.01"
      />
      {(error ?? serverError) && (
        <div className="form-error" role="alert" data-testid="params-error">
          {error ?? serverError}
        </div>
      )}
      <div className="row">
        <button
          className="button primary"
          disabled={readOnly || saving || error !== null || text === saved}
          onClick={() => void save()}
          data-testid="params-save"
        >
          Save parameters
        </button>
        <button className="button" disabled={text === saved} onClick={() => setText(saved)}>
          Revert
        </button>
      </div>
      <p className="muted">Changing a value makes this node and everything below it stale.</p>
    </div>
  );
}
