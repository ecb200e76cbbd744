// "What to add" to a node's environment: packages, a local project, a snapshot, a shared
// checkout, or a library node of the same pipeline (`nodepipe env add … --from-node LIB`).
import { Package } from "lucide-react";
import { useState } from "react";
import { addToNode, FOLDER_MODES, type AddMode } from "../actions/environments";
import { LARGE_FOLDER } from "../api/hints";
import type { CanvasNode } from "../api/types";
import { useApp } from "../store/app";

const MODES: { value: AddMode; label: string; placeholder: string }[] = [
  { value: "packages", label: "packages", placeholder: "numpy==2.1.3\npandas>=2\ngit+https://github.com/org/lib@v1" },
  { value: "path", label: "local project", placeholder: "/path/to/a/project" },
  { value: "snapshot", label: "snapshot (copied, editable)", placeholder: "/path/or/git URL" },
  { value: "shared", label: "shared checkout (editable)", placeholder: "/path/to/a/checkout" },
  { value: "library", label: "library node", placeholder: "which of its packages (only if it holds several)" },
];

export function AddToEnvironment({ node, readOnly, done }: { node: CanvasNode; readOnly: boolean; done: () => void }) {
  const [mode, setMode] = useState<AddMode>("packages");
  const [text, setText] = useState("");
  const [large, setLarge] = useState(false);
  const nodes = useApp((s) => s.graph?.nodes);
  const others = (nodes ?? []).filter((n) => n.id !== node.id).sort((a, b) => a.tag.localeCompare(b.tag));
  const [picked, setPicked] = useState("");
  const library = others.some((n) => n.id === picked) ? picked : (others[0]?.id ?? "");
  const placeholder = MODES.find((m) => m.value === mode)?.placeholder ?? "";
  const ready = mode === "library" ? library !== "" : text.trim() !== "";
  return (
    <div className="add-packages">
      <div className="row">
        <Package size={14} aria-hidden />
        <select value={mode} onChange={(e) => setMode(e.target.value as AddMode)} disabled={readOnly} aria-label="what to add">
          {MODES.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </select>
        {mode === "library" &&
          (others.length ? (
            <select value={library} onChange={(e) => setPicked(e.target.value)} disabled={readOnly} aria-label="library node">
              {others.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.tag}
                </option>
              ))}
            </select>
          ) : (
            <span className="muted">no other node in this pipeline</span>
          ))}
      </div>
      <textarea
        className="code-editor"
        rows={mode === "packages" ? 3 : 1}
        value={text}
        placeholder={placeholder}
        aria-label={mode === "library" ? "package of the library node" : "packages or source to add"}
        disabled={readOnly}
        onChange={(e) => setText(e.target.value)}
        data-testid="add-packages"
      />
      {FOLDER_MODES.includes(mode) && (
        <label className="field field-checkbox">
          <input type="checkbox" checked={large} disabled={readOnly} onChange={(e) => setLarge(e.target.checked)} />
          <span>{LARGE_FOLDER} (more than 20,000 files: every status and run reads them all)</span>
        </label>
      )}
      <button
        className="button primary"
        disabled={readOnly || !ready}
        onClick={() => {
          void addToNode(node.id, mode, text, library, large, () => {
            setText("");
            setLarge(false);
            done();
          });
        }}
      >
        Add (lock and sync)
      </button>
    </div>
  );
}
