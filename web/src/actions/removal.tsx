// The confirmation of a deletion: what each node would lose, named, and whether Undo can bring
// it back (it never brings back outputs, nor nodes other pipelines keep: they only leave).
import type { RemovalPreview } from "../api/types";

/** Undo can make these nodes again: each one's folder goes and none has outputs to lose. */
export function undoable(preview: RemovalPreview): boolean {
  return preview.effects.every((e) => e.fate === "deleted" && !e.has_outputs);
}

function undoNote(preview: RemovalPreview) {
  if (undoable(preview)) {
    return "Undo (Ctrl+Z) makes them again with the same tag, notes, parameters, code files, place and edges, as new nodes whose environment starts anew.";
  }
  const lost = preview.effects.filter((e) => e.fate === "deleted" && e.has_outputs).map((e) => e.tag);
  if (lost.length) return <b className="danger-text">This cannot be undone: the outputs of {lost.join(", ")} are deleted for good.</b>;
  return "This cannot be undone here; the pipelines that keep these nodes still show them.";
}

/** Each node's fate, one line each: its folder deleted (outputs too, said in red), or kept by
 * the pipelines that show it. */
function effectList(preview: RemovalPreview) {
  return (
    <ul>
      {preview.effects.map((effect) => (
        <li key={effect.node_id}>
          <b>{effect.tag}</b>{" "}
          {effect.fate === "deleted" && (
            <>
              — its folder is deleted: code, environment
              {effect.has_outputs ? <b className="danger-text"> and its outputs</b> : null}
            </>
          )}
          {effect.fate === "moved" && <>— leaves this pipeline; {effect.new_owner} now owns it</>}
          {effect.fate === "removed" && <>— leaves this pipeline; other pipelines keep it</>}
        </li>
      ))}
    </ul>
  );
}

/** The confirmation of deleting a whole pipeline: what each of its nodes loses (no undo). */
export function pipelineRemovalBody(preview: RemovalPreview) {
  const lost = preview.effects.filter((e) => e.fate === "deleted" && e.has_outputs).map((e) => e.tag);
  return (
    <div className="removal" data-testid="pipeline-removal">
      {preview.effects.length ? effectList(preview) : <p>It has no nodes.</p>}
      <p>
        {lost.length ? (
          <b className="danger-text">This cannot be undone: the outputs of {lost.join(", ")} are deleted for good.</b>
        ) : (
          "This cannot be undone."
        )}
      </p>
    </div>
  );
}

export function removalBody(preview: RemovalPreview) {
  return (
    <div className="removal">
      {effectList(preview)}
      {preview.disconnected.length > 0 && (
        <p>
          Edges cut (those children become stale): {preview.disconnected.join(", ")}
        </p>
      )}
      <p className="undo-note" data-testid="undo-note">
        {undoNote(preview)}
      </p>
    </div>
  );
}
