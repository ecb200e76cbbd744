// The app shell: sidebar, canvas, node panel, dialogs and toasts; live from the start.
import { ReactFlowProvider } from "@xyflow/react";
import { useEffect } from "react";
import { Toaster } from "sonner";
import { report } from "./actions/common";
import { connectEvents } from "./api/events";
import { Canvas } from "./canvas/Canvas";
import { DialogHost } from "./dialogs/DialogHost";
import { NodePanel } from "./panels/NodePanel";
import { Sidebar } from "./sidebar/Sidebar";
import { getApp, useApp } from "./store/app";
import { addressedPipeline, followAddress, loadLists, loadPipeline, loadWorkspace } from "./store/loaders";

async function start(): Promise<void> {
  await loadWorkspace();
  await loadLists();
  const { pipelines, projectId } = getApp();
  const wanted = addressedPipeline();
  const first =
    pipelines.find((p) => p.id === wanted) ??
    pipelines.find((p) => p.project_id === projectId) ??
    pipelines[0];
  if (first) await loadPipeline(first.id);
}

export function App() {
  const theme = useApp((s) => s.theme);
  const panelNodeId = useApp((s) => s.panelNodeId);

  useEffect(() => {
    document.documentElement.dataset["theme"] = theme;
  }, [theme]);

  useEffect(() => {
    start().catch(report);
    return connectEvents();
  }, []);

  useEffect(() => {
    window.addEventListener("popstate", followAddress);
    window.addEventListener("hashchange", followAddress);
    return () => {
      window.removeEventListener("popstate", followAddress);
      window.removeEventListener("hashchange", followAddress);
    };
  }, []);

  return (
    <>
      <div className={panelNodeId ? "shell with-panel" : "shell"}>
        <Sidebar />
        <main className="main">
          <ReactFlowProvider>
            <Canvas />
          </ReactFlowProvider>
        </main>
        {panelNodeId && <NodePanel key={panelNodeId} nodeId={panelNodeId} />}
      </div>
      <DialogHost />
      <Toaster theme={theme} position="bottom-right" richColors closeButton />
    </>
  );
}
