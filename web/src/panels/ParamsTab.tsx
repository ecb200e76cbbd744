// Parameters as YAML: validated as you type, and again by the server before it saves. The text
// is saved as typed (comments kept); a changed value makes the node stale on the canvas at once.
// A save names the version of params.yaml the typing began from: a change made elsewhere since
// (another tab, `params --set`, an editor) is never overwritten unseen. The server refuses such
// a save (409), and a change heard of while typing is shown at once: the tab shows theirs
// beside yours and offers Reload (theirs) or Keep mine (saved over theirs, knowingly).
// Unsaved typing is kept as a draft (dialogs/drafts.ts): a reload or a new login finds it here.
import { useEffect, useMemo, useRef, useState } from "react";
import { isScalar, parseDocument, visit, type Document } from "yaml";
import { invalidatePipeline } from "../api/queries";
import { toast } from "sonner";
import { api, ApiError, call } from "../api/client";
import { nodeQuery, queryClient } from "../api/queries";
import type { CanvasNode, NodeDetail } from "../api/types";
import { dropPanelDraft, keepPanelDraft, panelDraft } from "../dialogs/drafts";
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

/** A text of params.yaml and its version (the version "" while the node is loading). */
interface FileText {
  text: string;
  version: string;
}

export function ParamsTab({ node, detail, pipelineId }: Props) {
  const loadedText = detail?.params_text ?? "";
  const loadedVersion = detail?.params_version ?? "";
  const loaded: FileText = { text: loadedText, version: loadedVersion };
  const [draft] = useState(() => panelDraft(node.id, "params"));
  // What params.yaml holds as last heard (a load, a save's answer, a refused save's reread).
  const [file, setFile] = useState<FileText>(loaded);
  const [text, setText] = useState(draft?.text ?? loaded.text);
  // The file text the unsaved typing began from (null: nothing typed since the last load or save).
  const [began, setBegan] = useState<FileText | null>(draft ? { text: draft.began, version: draft.version } : null);
  const [serverError, setServerError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const fileRef = useRef(file);
  fileRef.current = file;
  const textRef = useRef(text);
  textRef.current = text;
  useEffect(() => {
    if (loadedVersion === "") return;
    // A newer file text (a reload after a save, or an edit elsewhere) replaces the editor's text
    // only when nothing is typed there (or what is typed is what it holds now): unsaved typing
    // is never thrown away by a late reload.
    if (textRef.current === fileRef.current.text || textRef.current === loadedText) {
      setText(loadedText);
      setBegan(null);
    }
    setFile({ text: loadedText, version: loadedVersion });
  }, [loadedText, loadedVersion]);
  const dirty = text !== file.text;
  useEffect(() => {
    if (dirty && began) keepPanelDraft({ node: node.id, field: "params", text, began: began.text, version: began.version });
    else if (file.version !== "") dropPanelDraft(node.id, "params");
  }, [dirty, text, began, file.version, node.id]);
  // theirs (changed elsewhere since the typing began) beside yours, until Reload or Keep mine
  const conflict = dirty && began !== null && file.version !== "" && began.version !== "" && file.version !== began.version;
  const { error, checking } = useValidated(text);
  const pipeline = useApp((s) => s.graph?.pipeline);
  const readOnlyWhy = readOnlyReason(node, pipeline);
  const readOnly = readOnlyWhy !== "";

  const save = async (over: FileText | null = null) => {
    setSaving(true);
    setServerError(null);
    const sent = text;
    try {
      const request = api.PUT("/api/pipelines/{pipeline}/nodes/{node}/params", {
        params: { path: { pipeline: pipelineId, node: node.id } },
        body: { yaml: sent, version: (over ?? began ?? file).version || null },
      });
      await call(request);
      // the answer's ETag: the version of the text saved (a final newline may have been added:
      // the node's reload brings the text as saved)
      const version = (await request).response.headers.get("ETag")?.replaceAll('"', "") ?? "";
      const now = { text: sent, version };
      setFile(now);
      setBegan(textRef.current === sent ? null : now);
      toast.success(`Saved the parameters of ${node.tag}`);
      await invalidatePipeline(pipelineId); // the node and what reads it may be stale now
    } catch (failure) {
      if (failure instanceof ApiError && failure.kind === "changed_on_disk") {
        // changed elsewhere since: read theirs, shown beside yours (nothing was saved)
        const fresh = await queryClient.fetchQuery({ ...nodeQuery(pipelineId, node.id), staleTime: 0 }).catch(() => null);
        if (fresh) setFile({ text: fresh.params_text ?? "", version: fresh.params_version });
        else setServerError(failure.reason);
      } else setServerError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setSaving(false);
    }
  };
  const reload = () => {
    setText(file.text);
    setBegan(null);
  };

  return (
    <div className="params">
      {readOnly && (
        <p className="muted" data-testid="params-read-only">
          {readOnlyWhy}
        </p>
      )}
      {conflict && (
        <div className="conflict params-conflict" role="alert" data-testid="params-conflict">
          <p>
            The parameters of {node.tag} were changed elsewhere (another tab, or params.yaml on disk) since you began
            typing; nothing of yours is saved yet. Reload shows theirs (your typing is dropped); Keep mine saves yours
            over theirs.
          </p>
          <div className="conflict-sides">
            <figure>
              <figcaption>Theirs (saved)</figcaption>
              <pre className="code-editor" data-testid="params-theirs">{file.text}</pre>
            </figure>
            <figure>
              <figcaption>Yours (not saved)</figcaption>
              <pre className="code-editor" data-testid="params-yours">{text}</pre>
            </figure>
          </div>
          <div className="row">
            <button className="button" onClick={reload} data-testid="params-reload">
              Reload
            </button>
            <button
              className="button danger"
              disabled={readOnly || saving || checking || error !== null}
              onClick={() => void save(file)}
              data-testid="params-keep-mine"
            >
              Keep mine
            </button>
          </div>
        </div>
      )}
      <textarea
        className="code-editor"
        spellCheck={false}
        value={text}
        rows={16}
        disabled={readOnly || !detail}
        onChange={(e) => {
          setBegan((from) => from ?? file);
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
      <div className="row">
        <button
          className="button primary"
          disabled={readOnly || saving || checking || error !== null || !dirty || conflict}
          onClick={() => void save()}
          data-testid="params-save"
        >
          Save parameters
        </button>
        <button className="button" disabled={!dirty} onClick={reload}>
          Revert
        </button>
      </div>
      <p className="muted">Changing a value makes this node and everything below it stale.</p>
    </div>
  );
}
