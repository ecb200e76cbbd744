// What each node of a run ran with, under its timeline: opened, a node's entry loads its
// recorded environment (Python and where it lives, platform, uv and conda packages) and offers
// to put it back ("Restore environment") or to make a new node of that run ("Restore as new
// node…"). Both are background jobs, like every environment change.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { restoreAsNewNode, restoreEnvironment } from "../actions/environments";
import { pastEnvironmentQuery } from "../api/queries";
import type { NodeRun, PastEnvironment } from "../api/types";

function Summary({ past }: { past: PastEnvironment }) {
  const uv = Object.entries(past.packages).map(([name, version]) => `${name} ${version}`);
  const conda = past.conda_packages.map((p) => `${p.name} ${p.version} (${p.channel}, ${p.build})`);
  return (
    <dl className="run-environment-summary" data-testid="run-environment-summary">
      <dt>Python</dt>
      <dd>
        {past.python || "no environment"} <span className="mono muted">{past.interpreter}</span>
      </dd>
      <dt>Platform</dt>
      <dd>{past.platform}</dd>
      <dt>uv packages</dt>
      <dd data-testid="run-environment-uv">{uv.join(", ") || "none"}</dd>
      {conda.length > 0 && (
        <>
          <dt>Conda packages</dt>
          <dd data-testid="run-environment-conda">{conda.join(", ")}</dd>
        </>
      )}
    </dl>
  );
}

function Entry({ nodeRun, tag }: { nodeRun: NodeRun; tag: string }) {
  const [open, setOpen] = useState(false);
  const query = useQuery({ ...pastEnvironmentQuery(nodeRun.run_id, nodeRun.node_id), enabled: open });
  return (
    <details
      className="run-environment"
      data-testid="run-environment"
      data-node-id={nodeRun.node_id}
      onToggle={(event) => setOpen(event.currentTarget.open)}
    >
      <summary>{tag}: environment</summary>
      {query.isPending && open && <p className="muted">Loading…</p>}
      {query.error && <p className="muted">{query.error.message}</p>}
      {query.data && (
        <>
          <Summary past={query.data} />
          <button className="button" onClick={() => void restoreEnvironment(nodeRun.node_id, nodeRun.run_id)}>
            Restore environment
          </button>{" "}
          <button className="button" onClick={() => void restoreAsNewNode(nodeRun.node_id, tag, nodeRun.run_id)}>
            Restore as new node…
          </button>
        </>
      )}
    </details>
  );
}

export function RunEnvironments({ nodeRuns, tags }: { nodeRuns: NodeRun[]; tags: Map<string, string> }) {
  const started = nodeRuns.filter((nr) => nr.started_at);
  if (started.length === 0) return null;
  return (
    <section className="run-environments" aria-label="what each node ran with">
      {started.map((nr) => (
        <Entry key={nr.id} nodeRun={nr} tag={tags.get(nr.node_id) ?? nr.node_id} />
      ))}
    </section>
  );
}
