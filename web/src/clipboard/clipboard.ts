// Copy and paste nodes (Ctrl+C / Ctrl+V, or the menus' Copy and Paste): paste duplicates the
// copied nodes into the open pipeline, the same one or another (switch, then paste), through the
// duplicate service: code and lock copied, outputs not, edges among the copied nodes kept, outside
// parents re-attached on the same slots (shown here as references when the pipeline lacks them).
// The copies come selected; Undo deletes them and takes those references out again.
import { toast } from "sonner";
import { api, call } from "../api/client";
import { attempt, currentPipeline, followJob } from "../actions/common";
import { getApp, graphNode, setApp } from "../store/app";
import { showOpened } from "../store/opened";
import { pasted } from "../undo/removals";
import { record } from "../undo/history";

interface Copied {
  pipelineId: string;
  ids: string[];
  tags: string[];
}

let copied: Copied | null = null;

export function hasCopied(): boolean {
  return copied !== null;
}

export function copyNodes(ids: string[]): void {
  const { graph, pipelineId } = getApp();
  const nodes = ids.flatMap((id) => graphNode(graph, id) ?? []);
  if (!pipelineId || nodes.length === 0) {
    toast.info("Select the nodes to copy first");
    return;
  }
  copied = { pipelineId, ids: nodes.map((n) => n.id), tags: nodes.map((n) => n.tag) };
  toast.success(`Copied ${copied.tags.join(", ")}`, {
    description: "Paste them here or in another pipeline (Ctrl+V or right-click → Paste).",
  });
}

export async function pasteNodes(): Promise<void> {
  const source = copied;
  if (!source) {
    toast.info("Nothing copied yet: select nodes and press Ctrl+C (or right-click → Copy)");
    return;
  }
  await attempt(async () => {
    const into = currentPipeline();
    // what the pipeline showed before: the paste may show outside parents here as references
    // (unknown while its graph is not loaded: then undo takes out only the copies)
    const loaded = getApp().graph;
    const before = loaded?.pipeline.id === into ? new Set(loaded.nodes.map((n) => n.id)) : null;
    const job = await call(
      api.POST("/api/pipelines/{pipeline}/duplicates", {
        params: { path: { pipeline: source.pipelineId } },
        body: { nodes: source.ids, into, with_data: false, tag: null, allow_duplicate_tag: false },
      }),
    );
    await followJob(job, (done) => {
      const ids = done.node_ids ?? [];
      if (getApp().pipelineId !== into || ids.length === 0) return;
      showOpened();
      setApp({ selectRequest: ids });
      const graph = getApp().graph;
      const copies = new Set(ids);
      const shown = before ? (graph?.nodes ?? []).filter((n) => n.reference && !before.has(n.id) && !copies.has(n.id)) : [];
      record(pasted(ids.map((id) => ({ id, tag: graphNode(graph, id)?.tag ?? id })), shown.map((n) => ({ id: n.id, tag: n.tag }))));
    });
  });
}
