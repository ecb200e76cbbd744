// Reference nodes into another pipeline, saying first which upstream nodes come with them.
import { toast } from "sonner";
import { api, call } from "../api/client";
import type { PipelineGraph } from "../api/types";
import { ask } from "../dialogs/dialogs";
import { getApp } from "../store/app";
import { attempt, currentPipeline, refresh } from "./common";
import { pipelineOptions, tags } from "./nodes";

/** The nodes ``ids`` read from, directly or not (not ``ids`` themselves), each after the nodes
 * it reads from. */
export function upstreamOf(graph: PipelineGraph, ids: string[]): string[] {
  const parents = new Map<string, string[]>();
  for (const edge of graph.edges) parents.set(edge.child_id, [...(parents.get(edge.child_id) ?? []), edge.parent_id]);
  const seen = new Set(ids);
  const order: string[] = [];
  const visit = (id: string): void => {
    for (const parent of parents.get(id) ?? []) {
      if (seen.has(parent)) continue;
      seen.add(parent);
      visit(parent);
      order.push(parent);
    }
  };
  for (const id of ids) visit(id);
  return order;
}

export async function reference(ids: string[]): Promise<void> {
  const options = pipelineOptions(false);
  if (options.length === 0) {
    toast.error("There is no other pipeline to reference these nodes into; create one first.");
    return;
  }
  const graph = getApp().graph;
  const upstream = graph ? upstreamOf(graph, ids) : [];
  const body = (
    <>
      <p>The nodes are shared, not copied: read-only there, and they keep their inputs.</p>
      {upstream.length > 0 && (
        <>
          <p>
            A node reads the same inputs in every pipeline that shows it, so these upstream nodes come too
            (read-only; those the pipeline already shows stay as they are):
          </p>
          <ul className="dialog-list" data-testid="reference-upstream">
            {upstream.map((id) => (
              <li key={id}>{tags([id])}</li>
            ))}
          </ul>
        </>
      )}
    </>
  );
  const values = await ask({
    title: `Reference ${tags(ids)} into another pipeline`,
    body,
    confirm: upstream.length ? `Reference with ${upstream.length} upstream` : "Reference",
    fields: [
      { name: "into", label: "Into pipeline", kind: "select", options },
      { name: "allow_duplicate_tag", label: "Even where a node there has the same tag", kind: "checkbox" },
    ],
  });
  if (!values) return;
  await attempt(async () => {
    const pipeline = currentPipeline();
    const added = await call(
      api.POST("/api/pipelines/{pipeline}/references", {
        params: { path: { pipeline } },
        body: { nodes: ids, into: String(values["into"]), allow_duplicate_tag: values["allow_duplicate_tag"] === true },
      }),
    );
    toast.success(`Now shown there: ${added.length} node(s)`);
    await refresh();
  });
}
