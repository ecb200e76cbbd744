// The node's environment: Python, packages asked for and locked, snapshots; change any of it.
import { RefreshCw, RotateCcw, X } from "lucide-react";
import { useCallback } from "react";
import { environmentQuery, keys, queryClient } from "../api/queries";
import type { CanvasNode } from "../api/types";
import { isolationText } from "../canvas/StepCard";
import { CondaPackages } from "./CondaPackages";
import { useReportedQuery } from "../actions/common";
import { changePython, installKernel, refreshSnapshot, relock, removeFromNode, resetSnapshot, syncNode } from "../actions/environments";
import { ownEnvironment, moveToInterpreter, moveToShared } from "../actions/isolation";
import { AddToEnvironment } from "./AddToEnvironment";
import { CodePaths } from "./CodePaths";

function packageName(requirement: string): string {
  return (requirement.split(/[<>=!~ ;@[]/)[0] ?? requirement).trim();
}

/** How uv.lock spells a name (PEP 503). */
function normalized(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

export function EnvironmentTab({ node, pipelineId }: { node: CanvasNode; pipelineId: string }) {
  const env = useReportedQuery(environmentQuery(pipelineId, node.id)).data;
  const readOnly = node.reference || node.locked;

  const load = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: keys.environment(pipelineId, node.id) }),
    [node.id, pipelineId],
  );

  if (!env) return <p className="muted">Loading…</p>;
  const direct = new Set(env.direct.map((r) => normalized(packageName(r))));
  const indirect = Object.entries(env.locked).filter(([name]) => !direct.has(name));
  const missing = new Set(env.not_installed);
  // Where a requirement comes from, as `env show` says it (the node's own say nothing).
  const origin = (requirement: string) => {
    const from = env.origins[packageName(requirement)] ?? env.origins[normalized(packageName(requirement))];
    return from && from !== "node" ? `from ${from}` : "";
  };
  // the .venv's Python, when it has one and it is not the one asked for (a failed sync)
  const builtOther = env.environment_python !== "" && env.environment_python !== env.python && /^\d/.test(env.python);
  const version = (name: string) =>
    missing.has(name) ? "not installed under the interpreter" : (env.locked[name] ?? "");
  return (
    <div className="environment" data-testid="environment">
      <dl className="facts">
        <dt>Python</dt>
        <dd data-testid="environment-python">
          {/* as `env show` says it: both Pythons when the environment has another one */}
          {builtOther ? (
            <>
              asks for Python {env.python}; <strong>its environment has {env.environment_python}</strong>
            </>
          ) : (
            env.python
          )}{" "}
          <span className="muted">(asked: {env.python_request})</span>{" "}
          <button className="link" disabled={readOnly} onClick={() => void changePython(node.id, env.python_request, load)}>
            change
          </button>
        </dd>
        <dt>Isolation</dt>
        <dd data-testid="isolation">
          {env.isolation.startsWith("interpreter:") ? (
            <strong className="not-isolated">{isolationText(env.isolation)}</strong>
          ) : (
            (isolationText(env.isolation) ?? "an environment of its own")
          )}
          <div className="row wrap">
            {env.isolation !== "own" && (
              <button className="link" disabled={readOnly} onClick={() => void ownEnvironment(node.id, node.tag, env.isolation, load)}>
                Own environment
              </button>
            )}
            <button className="link" disabled={readOnly} onClick={() => void moveToShared(node.id, node.tag, env.isolation, load)}>
              Shared environment…
            </button>
            <button className="link" disabled={readOnly} onClick={() => void moveToInterpreter(node.id, node.tag, load)}>
              Interpreter…
            </button>
          </div>
        </dd>
      </dl>
      {env.warnings.map((warning) => (
        <p key={warning} className="panel-warning" data-testid="environment-warning">
          {warning}
        </p>
      ))}
      <div className="row wrap">
        <button className="button" disabled={readOnly} onClick={() => void relock(node.id, false, load)}>
          Relock
        </button>
        <button className="button" disabled={readOnly} onClick={() => void relock(node.id, true, load)}>
          Upgrade all
        </button>
        <button className="button" disabled={readOnly} onClick={() => void syncNode(node.id, load)}>
          Sync
        </button>
        <button className="button" onClick={() => void installKernel(node.id)}>
          Jupyter kernel
        </button>
      </div>
      <h3>Packages the node asks for</h3>
      {env.direct.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <table className="table" data-testid="direct-packages">
          <tbody>
            {env.direct.map((requirement) => (
              <tr key={requirement}>
                <td className="mono">{requirement}</td>
                <td className="mono muted">{version(normalized(packageName(requirement)))}</td>
                <td className="muted">{origin(requirement)}</td>
                <td>
                  <button
                    className="icon-button"
                    title={`Remove ${packageName(requirement)}`}
                    disabled={readOnly}
                    onClick={() => void removeFromNode(node.id, [packageName(requirement)], load)}
                  >
                    <X size={13} />
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <AddToEnvironment node={node} readOnly={readOnly} done={load} />
      {Object.keys(env.snapshots).length > 0 && (
        <>
          <h3>Snapshots</h3>
          {Object.entries(env.snapshots).map(([name, origin]) => (
            <div key={name} className="row">
              <code>{name}</code>
              <span className="muted grow" title={origin}>{origin}</span>
              <button className="icon-button" title="Refresh the snapshot" disabled={readOnly} onClick={() => void refreshSnapshot(node.id, name, load)}>
                <RefreshCw size={13} />
              </button>
              <button className="icon-button" title="Reset to upstream (drops local edits and commits)" aria-label={`Reset snapshot ${name} to upstream`} disabled={readOnly} onClick={() => void resetSnapshot(node.id, name, load)}>
                <RotateCcw size={13} />
              </button>
            </div>
          ))}
        </>
      )}
      {Object.keys(env.shared).length > 0 && (
        <>
          <h3>Shared checkouts</h3>
          {Object.entries(env.shared).map(([name, path]) => (
            <div key={name} className="row">
              <code>{name}</code> <span className="muted grow">{path}</span>
            </div>
          ))}
        </>
      )}
      <CodePaths node={node.id} paths={env.code_paths} readOnly={readOnly} done={load} />
      <CondaPackages node={node} pipelineId={pipelineId} />
      <h3>Also locked</h3>
      {indirect.length === 0 ? (
        <p className="muted">Nothing else.</p>
      ) : (
        <table className="table">
          <tbody>
            {indirect.map(([name]) => (
              <tr key={name}>
                <td>{name}</td>
                <td className="mono">{version(name)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
