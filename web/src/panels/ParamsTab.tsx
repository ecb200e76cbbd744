// Parameters as YAML: validated as you type, and again by the server before it saves. The text
// is saved as typed (comments kept); a changed value makes the node stale on the canvas at once.
// A change made elsewhere (another tab, an editor) while this tab has unsaved typing is never
// overwritten unseen: the tab says so, and only a Save after that replaces it.
import { useEffect, useMemo, useRef, useState } from "react";
import { isScalar, parseDocument, visit, type Document } from "yaml";
import { invalidatePipeline } from "../api/queries";
import { toast } from "sonner";
import { api, ApiError, call } from "../api/client";
import { nodeQuery, queryClient } from "../api/queries";
import type { CanvasNode, NodeDetail } from "../api/types";
import { useApp } from "../store/app";
import { readOnlyReason } from "./readOnly";

/** A text this long is checked once typing pauses, not at each key: parsing a megabyte takes a
 * good part of a second, which typing must not wait for. */
const LARGE = 20_000;
const PAUSE_MS = 300;

/** The first key written twice in a mapping of ``doc``, at any depth (null: none). The yaml
 * library's own check compares each key with every earlier one: a paste of 40,000 keys froze
 * the tab for half a minute at each key typed. */
function repeatedKey(doc: Document.Parsed): string | null {
  let found: string | null = null;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key: name } of map.items) {
        if (!isScalar(name)) continue;
        if (seen.has(name.value)) {
          found = String(name.value);
          return visit.BREAK;
        }
        seen.add(name.value);
      }
      return undefined;
    },
  });
  return found;
}

function validate(text: string): string | null {
  try {
    const doc = parseDocument(text, { uniqueKeys: false });
    const [first] = doc.errors;
    if (first) return first.message;
    const repeated = repeatedKey(doc);
    if (repeated !== null) return `Map keys must be unique: ${repeated} is written twice`;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return null;
    if (typeof value !== "object" || Array.isArray(value)) {
      return "parameters must be a mapping of names to values (name: value)";
    }
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** What is wrong with ``text`` (null: nothing), and whether it is still being checked: a short
 * text at once, a long one once typing pauses. */
function useValidated(text: string): { error: string | null; checking: boolean } {
  const small = text.length <= LARGE;
  const quick = useMemo(() => (small ? validate(text) : null), [small, text]);
  const [late, setLate] = useState<{ text: string; error: string | null } | null>(null);
  useEffect(() => {
    if (small) return;
    const timer = setTimeout(() => setLate({ text, error: validate(text) }), PAUSE_MS);
    return () => clearTimeout(timer);
  }, [small, text]);
  if (small) return { error: quick, checking: false };
  return { error: late?.error ?? null, checking: late?.text !== text };
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
  // The file text the unsaved typing began from (null: nothing typed since the last load or save).
  const [base, setBase] = useState<string | null>(null);
  const [serverError, setServerError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const savedRef = useRef(loaded);
  savedRef.current = saved;
  const textRef = useRef(text);
  textRef.current = text;
  useEffect(() => {
    // A newer file text (a reload after a save, or an edit elsewhere) replaces the editor's text
    // only when nothing is typed there: unsaved typing is never thrown away by a late reload.
    if (textRef.current === savedRef.current) {
      setText(loaded);
      setBase(null);
    }
    setSaved(loaded);
  }, [loaded]);
  const changedElsewhere = base !== null && text !== saved && saved !== base;
  const { error, checking } = useValidated(text);
  const pipeline = useApp((s) => s.graph?.pipeline);
  const readOnlyWhy = readOnlyReason(node, pipeline);
  const readOnly = readOnlyWhy !== "";

  const save = async () => {
    setSaving(true);
    setServerError(null);
    try {
      // the file as it is now: a change this tab has not heard of yet is shown, not overwritten
      const now = await queryClient.fetchQuery({ ...nodeQuery(pipelineId, node.id), staleTime: 0 });
      const fresh = now.params_text ?? "";
      if (base !== null && fresh !== base && fresh !== saved) {
        setSaved(fresh);
        return;
      }
      await call(
        api.PUT("/api/pipelines/{pipeline}/nodes/{node}/params", {
          params: { path: { pipeline: pipelineId, node: node.id } },
          body: { yaml: text },
        }),
      );
      setSaved(text);
      setBase(null);
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
        onChange={(e) => {
          setBase((began) => began ?? saved);
          setText(e.target.value);
        }}
        aria-invalid={error !== null}
        data-testid="params-editor"
        placeholder="learning_rate: 0.01"
      />
      {(error ?? serverError) && (
        <div className="form-error" role="alert" data-testid="params-error">
          {error ?? serverError}
        </div>
      )}
      {changedElsewhere && (
        <p className="panel-warning" role="status" data-testid="params-changed-elsewhere">
          The parameters were changed elsewhere (another tab, or params.yaml on disk) since you began typing. Save
          parameters replaces them with your text; Revert shows theirs.
        </p>
      )}
      <div className="row">
        <button
          className="button primary"
          disabled={readOnly || saving || checking || error !== null || text === saved}
          onClick={() => void save()}
          data-testid="params-save"
        >
          Save parameters
        </button>
        <button
          className="button"
          disabled={text === saved}
          onClick={() => {
            setText(saved);
            setBase(null);
          }}
        >
          Revert
        </button>
      </div>
      <p className="muted">Changing a value makes this node and everything below it stale.</p>
    </div>
  );
}
