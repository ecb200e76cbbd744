// A node's code in the app: its files (never .venv or caches), one open in CodeMirror. A save
// sends the version the text was read at; a file changed on disk meanwhile is not overwritten
// (the server answers 409) and the tab offers Reload or Overwrite. A save makes the node stale
// on the canvas at once (its pipeline is refetched); params.yaml follows the Parameters tab's
// rules (validated, kept as typed). Rename… and Delete… (fileActions.ts) act on the file open,
// never on main.py, params.yaml, pyproject.toml or the lock files. Unsaved typing is kept as a
// draft (dialogs/drafts.ts): a reload or a new login finds it in the file again.
import { useQuery } from "@tanstack/react-query";
import { FilePen, FilePlus, Trash2 } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { toast } from "sonner";
import { api, ApiError, call } from "../api/client";
import { codeFileQuery, codeFilesQuery, invalidatePipeline, keys, queryClient } from "../api/queries";
import type { CanvasNode, CodeText } from "../api/types";
import { report, useReportedQuery } from "../actions/common";
import { dropPanelDraft, keepPanelDraft, panelDraft } from "../dialogs/drafts";
import { readOnlyReason } from "../panels/readOnly";
import { useApp } from "../store/app";
import { CodeEditor } from "./CodeEditor";
import { askNewCodeFile, deleteCodeFile, KEPT, renameCodeFile } from "./fileActions";
import "./code.css";

const CONFLICT = "changed on disk since you opened it — Reload or Overwrite";

export function CodeTab({ pipelineId, node }: { pipelineId: string; node: CanvasNode }) {
  const files = useReportedQuery(codeFilesQuery(pipelineId, node.id)).data;
  const [path, setPath] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const names = files?.files.map((f) => f.path) ?? [];
  if (created && !names.includes(created)) names.push(created);
  const open = path ?? (names.includes("main.py") ? "main.py" : (names[0] ?? null));

  const newFile = async () => {
    const name = await askNewCodeFile(pipelineId, node.id);
    if (!name) return;
    setCreated(name);
    setPath(name);
  };

  return (
    <div className="code-tab" data-testid="code-tab">
      <div className="row">
        <select
            className="grow mono"
            value={open ?? ""}
            onChange={(e) => setPath(e.target.value)}
            data-testid="code-file-select"
            aria-label="Code file"
          >
            {names.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
        </select>
        <button className="button" onClick={() => void newFile()} disabled={node.locked || node.reference} title="New file in code/">
          <FilePlus size={14} /> New file…
        </button>
      </div>
      {open && (
        <OpenFile
          key={open}
          pipelineId={pipelineId}
          node={node}
          path={open}
          isNew={open === created && !(files?.files ?? []).some((f) => f.path === open)}
          onCreated={() => setCreated(null)}
          onMoved={(to) => setPath(to)}
        />
      )}
    </div>
  );
}

interface OpenFileProps {
  pipelineId: string;
  node: CanvasNode;
  path: string;
  isNew: boolean;
  onCreated: () => void;
  /** The open file was renamed (to its new path) or deleted (null). */
  onMoved: (to: string | null) => void;
}

function OpenFile({ pipelineId, node, path, isNew, onCreated, onMoved }: OpenFileProps) {
  const dark = useApp((s) => s.theme === "dark");
  const pipeline = useApp((s) => s.graph?.pipeline);
  const read = useQuery({ ...codeFileQuery(pipelineId, node.id, path), enabled: !isNew });
  // Unsaved typing kept from before a reload or a new login (dialogs/drafts.ts), with the version
  // it began from: a save is still based on that version.
  const field = `code:${path}`;
  const [draft] = useState(() => (isNew ? null : panelDraft(node.id, field)));
  // What the editor was loaded from (its version is what a save is based on), and its text now.
  const [base, setBase] = useState<CodeText | null>(
    isNew
      ? { path, text: "", version: "", editable: true }
      : draft && { path, text: draft.began, version: draft.version, editable: true },
  );
  const [text, setText] = useState(draft?.text ?? base?.text ?? "");
  const [loads, setLoads] = useState(0);
  const [conflict, setConflict] = useState(false);
  const [saving, setSaving] = useState(false);
  const dirty = base !== null && text !== base.text;
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  useEffect(() => {
    if (dirty && base && !isNew) keepPanelDraft({ node: node.id, field, text, began: base.text, version: base.version });
    else if (!isNew) dropPanelDraft(node.id, field);
  }, [dirty, base, text, isNew, node.id, field]);

  useEffect(() => {
    // A newer text from disk (an edit elsewhere, then a refetch) replaces the editor's only
    // when nothing is typed there: unsaved typing is never thrown away.
    if (!read.data || dirtyRef.current) return;
    setBase(read.data);
    setText(read.data.text);
    setLoads((n) => n + 1);
  }, [read.data]);

  const readOnlyWhy =
    readOnlyReason(node, pipeline) ||
    (base && !base.editable ? `${path} is written by nodepipe: change packages in the Environment tab.` : "");

  const save = async (overwrite = false) => {
    if (!base || readOnlyWhy || saving) return;
    setSaving(true);
    try {
      const saved = await call(
        api.PUT("/api/pipelines/{pipeline}/nodes/{node}/code/file", {
          params: { path: { pipeline: pipelineId, node: node.id } },
          body: { file: path, text, version: base.version === "" ? null : base.version, overwrite },
        }),
      );
      setBase(saved);
      setConflict(false);
      queryClient.setQueryData(keys.codeFile(pipelineId, node.id, path), saved);
      if (isNew) onCreated();
      toast.success(`Saved ${path}`);
      await invalidatePipeline(pipelineId); // the node (and what reads it) may be stale now
    } catch (failure) {
      if (failure instanceof ApiError && failure.kind === "changed_on_disk") setConflict(true);
      else report(failure);
    } finally {
      setSaving(false);
    }
  };

  const reload = async () => {
    const fresh = await call(
      api.GET("/api/pipelines/{pipeline}/nodes/{node}/code/file", {
        params: { path: { pipeline: pipelineId, node: node.id }, query: { file: path } },
      }),
    ).catch((error: unknown) => (report(error), null));
    if (!fresh) return;
    queryClient.setQueryData(keys.codeFile(pipelineId, node.id, path), fresh);
    setBase(fresh);
    setText(fresh.text);
    setLoads((n) => n + 1);
    setConflict(false);
  };

  const at = { pipelineId, nodeId: node.id, path, version: base?.version ?? "" };
  if (read.error && !isNew) return <div className="form-error" role="alert">{read.error.message}</div>;
  if (!base) return <p className="muted">Loading…</p>;
  return (
    <div className="code-file">
      {readOnlyWhy && <p className="muted" data-testid="code-read-only">{readOnlyWhy}</p>}
      {conflict && (
        <div className="conflict" role="alert" data-testid="code-conflict">
          <span>
            {path} {CONFLICT}
          </span>
          <button className="button" onClick={() => void reload()}>
            Reload
          </button>
          <button className="button danger" onClick={() => void save(true)}>
            Overwrite
          </button>
        </div>
      )}
      <CodeEditor
        key={`${path}:${loads}`}
        path={path}
        text={text}
        readOnly={readOnlyWhy !== ""}
        dark={dark}
        onChange={setText}
        onSave={() => void save()}
      />
      <div className="row">
        <button
          className="button primary"
          disabled={readOnlyWhy !== "" || saving || (!dirty && !isNew)}
          onClick={() => void save()}
          data-testid="code-save"
        >
          Save {path}
        </button>
        <button className="button" disabled={!dirty} onClick={() => void reload()}>
          Revert
        </button>
        <span className="muted grow">{dirty ? "Unsaved changes (Ctrl-S saves)" : ""}</span>
        {!isNew && !readOnlyWhy && !KEPT.has(path) && (
          <>
            <button className="button" disabled={dirty} title={dirty ? "Save or revert first" : `Rename ${path}`} onClick={() => void renameCodeFile(at).then((to) => to && onMoved(to))} data-testid="code-rename">
              <FilePen size={14} /> Rename…
            </button>
            <button className="button danger" disabled={dirty} title={dirty ? "Save or revert first" : `Delete ${path}`} onClick={() => void deleteCodeFile(at).then((gone) => gone && onMoved(null))} data-testid="code-delete">
              <Trash2 size={14} /> Delete…
            </button>
          </>
        )}
      </div>
    </div>
  );
}
