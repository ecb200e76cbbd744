// A node's code paths: folders outside it on its import path at launch, fingerprinted like its
// code (`nodepipe env code-path add|remove`); listed, added and removed.
import { X } from "lucide-react";
import { addCodePath, removeCodePath } from "../actions/codePaths";

export function CodePaths({ node, paths, readOnly, done }: { node: string; paths: string[]; readOnly: boolean; done: () => void }) {
  return (
    <section data-testid="code-paths">
      <h3>Code paths</h3>
      {paths.length === 0 ? (
        <p className="muted">None: only the node's code/ is on its import path.</p>
      ) : (
        paths.map((path) => (
          <div key={path} className="row">
            <code className="grow" data-testid="code-path">
              {path}
            </code>
            <button
              className="icon-button"
              title={`Remove code path ${path}`}
              aria-label={`Remove code path ${path}`}
              disabled={readOnly}
              onClick={() => void removeCodePath(node, path, done)}
            >
              <X size={13} />
            </button>
          </div>
        ))
      )}
      <button className="button" disabled={readOnly} onClick={() => void addCodePath(node, done)}>
        Add code path…
      </button>
    </section>
  );
}
