// The node panel: everything about one node, in tabs.
import { X } from "lucide-react";
import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { toast } from "sonner";
import { ApiError } from "../api/client";
import { nodeQuery } from "../api/queries";
import { report } from "../actions/common";
import { dropNodeDrafts } from "../dialogs/drafts";
import { StateBadge } from "../states";
import { displayState, openPanel, setApp, useApp, type PanelTab } from "../store/app";
import { EnvironmentTab } from "./EnvironmentTab";
import { LogTab } from "./LogTab";
import { OverviewTab } from "./OverviewTab";
import { ParamsTab } from "./ParamsTab";
import { RunsTab } from "./RunsTab";

// The code editor and the previews bring CodeMirror, a Parquet reader and a Markdown renderer:
// loaded when their tab is first opened, not with the canvas.
const CodeTab = lazy(() => import("../code/CodeTab").then((m) => ({ default: m.CodeTab })));
const OutputsTab = lazy(() => import("../outputs/OutputsTab").then((m) => ({ default: m.OutputsTab })));

const TABS: { id: PanelTab; label: string }[] = [
  { id: "overview", label: "Overview" },
  { id: "params", label: "Parameters" },
  { id: "environment", label: "Environment" },
  { id: "runs", label: "Runs" },
  { id: "log", label: "Log" },
  { id: "outputs", label: "Outputs" },
  { id: "code", label: "Code" },
];

export function NodePanel({ nodeId }: { nodeId: string }) {
  const pipelineId = useApp((s) => s.pipelineId);
  const graph = useApp((s) => s.graph);
  const tab = useApp((s) => s.panelTab);
  const state = useApp((s) => {
    const node = s.graph?.nodes.find((n) => n.id === nodeId);
    return node ? displayState(s, nodeId, node.state) : null;
  });
  const query = useQuery({ ...nodeQuery(pipelineId ?? "", nodeId), enabled: pipelineId !== null });
  const detail = query.data ?? null;
  const [logRun, setLogRun] = useState<string | null>(null);

  const node = graph?.nodes.find((n) => n.id === nodeId);
  const shownTag = useRef(node?.tag ?? "");
  if (node) shownTag.current = node.tag;
  useEffect(() => {
    if (!query.error) return;
    // removed elsewhere (another tab, another user): the panel closes and says so; no error
    // naming the node's id
    if (query.error instanceof ApiError && query.error.status === 404) {
      dropNodeDrafts(nodeId); // what was typed for it is never applied elsewhere
      openPanel(null);
      toast.info(`${shownTag.current || "The node"} was removed elsewhere (in another tab or by another user)`);
    } else report(query.error);
  }, [query.error, nodeId]);
  if (!node || !pipelineId) return null;
  return (
    <aside className="panel" data-testid="node-panel" aria-label={`node ${node.tag}`}>
      <header className="panel-header">
        <div>
          <h2>{node.tag}</h2>
          <div className="muted mono">{node.id}</div>
        </div>
        {state && <StateBadge look={state} />}
        {node.locked && <StateBadge look="locked" />}
        {node.reference && <StateBadge look="referenced" />}
        <button className="icon-button" onClick={() => openPanel(null)} title="Close (Esc)">
          <X size={16} />
        </button>
      </header>
      <nav className="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            key={t.id}
            role="tab"
            aria-selected={tab === t.id}
            className={tab === t.id ? "tab active" : "tab"}
            onClick={() => setApp({ panelTab: t.id })}
          >
            {t.label}
          </button>
        ))}
      </nav>
      <div className="panel-body">
        {tab === "overview" && <OverviewTab node={node} detail={detail} />}
        {tab === "params" && <ParamsTab node={node} detail={detail} pipelineId={pipelineId} />}
        {tab === "environment" && <EnvironmentTab node={node} pipelineId={pipelineId} />}
        {tab === "runs" && (
          <RunsTab
            nodeId={nodeId}
            pipelineId={pipelineId}
            onOpenLog={(runId) => {
              setLogRun(runId);
              setApp({ panelTab: "log" });
            }}
          />
        )}
        {tab === "log" && <LogTab nodeId={nodeId} pipelineId={pipelineId} runId={logRun} onLatest={() => setLogRun(null)} />}
        <Suspense fallback={<p className="muted">Loading…</p>}>
          {tab === "outputs" && <OutputsTab nodeId={nodeId} pipelineId={pipelineId} />}
          {tab === "code" && <CodeTab node={node} pipelineId={pipelineId} />}
        </Suspense>
      </div>
    </aside>
  );
}
