// The app shell: sidebar, canvas, node panel, dialogs and toasts; live from the start.
import { ReactFlowProvider } from "@xyflow/react";
import { useEffect } from "react";
import { toast, Toaster } from "sonner";
import { report } from "./actions/common";
import { connectEvents } from "./api/events";
import { Canvas } from "./canvas/Canvas";
import { DialogHost } from "./dialogs/DialogHost";
import { followView, useView } from "./history/address";
import { HistoryView } from "./history/HistoryView";
import { LastRunsLoader } from "./history/lastRuns";
import { NodePanel } from "./panels/NodePanel";
import { Sidebar } from "./sidebar/Sidebar";
import { SkipLinks } from "./a11y/SkipLinks";
import { QueryClientProvider } from "@tanstack/react-query";
import { queryClient } from "./api/queries";
import { useApp } from "./store/app";
import { followAddress, startApp } from "./store/opened";
import { hasPanelDrafts, keptDraft } from "./dialogs/drafts";

/** After a login that a lost session led to (or a reload): where what was typed then is waiting. */
function sayKeptDraft(): void {
  if (hasPanelDrafts()) {
    toast.info("What you typed in a node's panel and had not saved is kept: open that node's panel again and it is there.", {
      id: "panel-draft-kept",
      duration: 20000,
    });
  }
  const draft = keptDraft();
  if (!draft) return;
  toast.info(`What you typed in the dialog "${draft.title}" before this tab had to log in again is kept: open that dialog again and it is there.`, {
    id: "draft-kept",
    duration: 20000,
  });
}

export function App() {
  const theme = useApp((s) => s.theme);
  const panelNodeId = useApp((s) => s.panelNodeId);
  const view = useView((s) => s.view);
  // Outputs and code need room: their tabs widen the panel.
  const widePanel = useApp((s) => s.panelTab === "outputs" || s.panelTab === "code");

  useEffect(() => {
    startApp().catch(report);
    sayKeptDraft();
    return connectEvents();
  }, []);

  useEffect(() => {
    window.addEventListener("popstate", followAddress);
    window.addEventListener("hashchange", followAddress);
    window.addEventListener("popstate", followView);
    window.addEventListener("hashchange", followView);
    return () => {
      window.removeEventListener("popstate", followAddress);
      window.removeEventListener("hashchange", followAddress);
      window.removeEventListener("popstate", followView);
      window.removeEventListener("hashchange", followView);
    };
  }, []);

  return (
    <QueryClientProvider client={queryClient}>
      <SkipLinks />
      <div className={panelNodeId ? `shell with-panel${widePanel ? " wide-panel" : ""}` : "shell"}>
        <Sidebar />
        <main className="main">
          <ReactFlowProvider>
            <Canvas />
            {view === "runs" && <HistoryView />}
          </ReactFlowProvider>
        </main>
        {panelNodeId && <NodePanel key={panelNodeId} nodeId={panelNodeId} />}
      </div>
      <DialogHost />
      <LastRunsLoader />
      <Toaster theme={theme} position="bottom-right" richColors closeButton />
    </QueryClientProvider>
  );
}
