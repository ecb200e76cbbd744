// The confirmation of a deletion: what each node would lose, named.
import type { RemovalPreview } from "../api/types";

export function removalBody(preview: RemovalPreview) {
  return (
    <div className="removal">
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
      {preview.disconnected.length > 0 && (
        <p>
          Edges cut (those children become stale): {preview.disconnected.join(", ")}
        </p>
      )}
    </div>
  );
}
