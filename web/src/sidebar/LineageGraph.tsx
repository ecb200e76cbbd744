// How the project's pipelines came from each other (branch, duplicate, merge): a small graph.
import dagre from "@dagrejs/dagre";
import { useMemo } from "react";
import type { Pipeline } from "../api/types";
import { useQuery } from "@tanstack/react-query";
import { projectQuery } from "../api/queries";
import { report } from "../actions/common";
import { useApp } from "../store/app";
import { openPipeline } from "../store/opened";

const W = 96;
const H = 24;

const NONE: never[] = [];

export function LineageGraph({ pipelines, projectId }: { pipelines: Pipeline[]; projectId: string | null }) {
  const lineage = useQuery({ ...projectQuery(projectId ?? ""), enabled: projectId !== null }).data?.lineage ?? NONE;
  const current = useApp((s) => s.pipelineId);
  const layout = useMemo(() => {
    const graph = new dagre.graphlib.Graph();
    graph.setGraph({ rankdir: "TB", nodesep: 12, ranksep: 26, marginx: 4, marginy: 4 });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const p of pipelines) graph.setNode(p.id, { width: W, height: H });
    const edges = lineage.filter((l) => graph.hasNode(l.pipeline_id) && graph.hasNode(l.source_pipeline_id));
    for (const l of edges) graph.setEdge(l.source_pipeline_id, l.pipeline_id);
    dagre.layout(graph);
    const size = graph.graph();
    return { graph, edges, width: size.width ?? 0, height: size.height ?? 0 };
  }, [pipelines, lineage]);

  if (pipelines.length === 0) return null;
  return (
    <svg
      className="lineage"
      width={layout.width}
      style={{ maxWidth: "100%" }}
      viewBox={`0 0 ${layout.width} ${layout.height}`}
      data-testid="lineage"
    >
      {layout.edges.map((l) => {
        const from = layout.graph.node(l.source_pipeline_id);
        const to = layout.graph.node(l.pipeline_id);
        return (
          <g key={`${l.source_pipeline_id}-${l.pipeline_id}`}>
            <line x1={from.x} y1={from.y + H / 2} x2={to.x} y2={to.y - H / 2} className={`lineage-edge lineage-${l.kind}`} />
            <title>{l.kind}</title>
          </g>
        );
      })}
      {pipelines.map((p) => {
        const node = layout.graph.node(p.id);
        return (
          <g key={p.id} className={p.id === current ? "lineage-node current" : "lineage-node"} onClick={() => void openPipeline(p.id).catch(report)}>
            <rect x={node.x - W / 2} y={node.y - H / 2} width={W} height={H} rx={6} />
            <text x={node.x} y={node.y + 4} textAnchor="middle">
              {p.tag.length > 13 ? p.tag.slice(0, 12) + "…" : p.tag}
            </text>
            <title>{p.tag}</title>
          </g>
        );
      })}
    </svg>
  );
}
