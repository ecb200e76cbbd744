// The canvas toolbar: create, run, kill, lay out, fit, theme, and whether the app is live.
import { useReactFlow, useStoreApi, type Edge } from "@xyflow/react";
import {
  Ban,
  FastForward,
  History,
  LayoutGrid,
  Maximize2,
  Moon,
  Play,
  Plus,
  Radio,
  Redo2,
  Search,
  Settings2,
  Sun,
  Undo2,
  Keyboard,
  WifiOff,
} from "lucide-react";
import { layoutPipeline } from "../actions/groups";
import { createNode } from "../actions/nodes";
import { kill, runPipeline, runSelected, runWithOptions } from "../actions/runs";
import { openView } from "../history/address";
import { setTheme, useApp } from "../store/app";
import { redo, undo, useHistory } from "../undo/history";
import type { FlowNode } from "./flow";
import { openOverlay } from "./overlays";
import { freeSpotInView } from "./placement";
import { shortcutLabel, withGesture } from "./shortcuts";

export function Toolbar() {
  const graph = useApp((s) => s.graph);
  const selection = useApp((s) => s.selection);
  const theme = useApp((s) => s.theme);
  const connected = useApp((s) => s.connected);
  const flow = useReactFlow<FlowNode, Edge>();
  const view = useStoreApi<FlowNode, Edge>();
  const locked = graph?.pipeline.locked ?? false;
  const toUndo = useHistory((h) => h.done[h.done.length - 1]?.label);
  const toRedo = useHistory((h) => h.undone[h.undone.length - 1]?.label);
  return (
    <div className="toolbar" role="toolbar" aria-label="canvas toolbar">
      <div className="toolbar-title" title={graph?.pipeline.notes}>
        <span className="muted" title={graph?.project.name}>
          {graph?.project.name} /
        </span>{" "}
        <b title={graph?.pipeline.tag}>{graph?.pipeline.tag}</b>
        {locked && <span className="pill">locked</span>}
      </div>
      <button className="tool" aria-label="New node" onClick={() => void createNode(freeSpotInView(flow, view.getState()))} disabled={locked} data-testid="new-node">
        <Plus size={15} /> <span className="tool-label">Node</span>
      </button>
      <button className="tool" aria-label="Find a node" title={`Find a node (${shortcutLabel("find")} or /)`} onClick={() => openOverlay("find")} data-testid="find-node">
        <Search size={15} />
      </button>
      <button className="tool" aria-label="Undo" title={toUndo ? `Undo ${toUndo} (${shortcutLabel("undo")})` : "Nothing to undo"} onClick={() => void undo()} disabled={!toUndo} data-testid="undo">
        <Undo2 size={15} />
      </button>
      <button className="tool" aria-label="Redo" title={toRedo ? `Redo ${toRedo} (${shortcutLabel("redo")})` : "Nothing to redo"} onClick={() => void redo()} disabled={!toRedo} data-testid="redo">
        <Redo2 size={15} />
      </button>
      <span className="tool-sep" />
      <button className="tool primary" aria-label="Run the pipeline" onClick={(event) => void runPipeline(false, !withGesture(event, "runNow"))} title="Run what is stale or never ran (shows what would run first; shift-click runs at once)" data-testid="run-pipeline">
        <Play size={15} /> <span className="tool-label">Run</span>
      </button>
      <button
        className="tool"
        aria-label="Run the selected nodes"
        onClick={(event) => void runSelected(selection, false, !withGesture(event, "runNow"))}
        disabled={selection.length === 0}
        title="Run the selected nodes"
      >
        <Play size={15} /> <span className="tool-label">Selected</span>
      </button>
      <button className="tool" onClick={(event) => void runPipeline(true, !withGesture(event, "runNow"))} title="Re-run everything" aria-label="Force re-run">
        <FastForward size={15} /> <span className="tool-label">Force</span>
      </button>
      <button className="tool" onClick={() => void runWithOptions()} title="Run with options (selection, jobs, executor)">
        <Settings2 size={15} />
      </button>
      <button className="tool" onClick={() => void kill()} title="Kill every running node" aria-label="Kill">
        <Ban size={15} /> <span className="tool-label">Kill</span>
      </button>
      <button className="tool" onClick={() => openView("runs")} title="The pipeline's runs and their timelines" aria-label="Run history" data-testid="open-history">
        <History size={15} /> <span className="tool-label">History</span>
      </button>
      <span className="tool-sep" />
      <button className="tool" onClick={() => void layoutPipeline()} title="Automatic layout" aria-label="Auto layout" data-testid="auto-layout">
        <LayoutGrid size={15} /> <span className="tool-label">Layout</span>
      </button>
      <button className="tool" onClick={() => void flow.fitView({ padding: 0.2, duration: 250 })} title="Fit to screen">
        <Maximize2 size={15} />
      </button>
      <button
        className="tool"
        onClick={() => setTheme(theme === "dark" ? "light" : "dark")}
        title="Light or dark theme"
      >
        {theme === "dark" ? <Sun size={15} /> : <Moon size={15} />}
      </button>
      <button className="tool" onClick={() => openOverlay("shortcuts")} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts">
        <Keyboard size={15} />
      </button>
      <span
        className={connected ? "live-dot on" : "live-dot off"}
        title={connected ? "Live: states update as runs go" : "Offline: reconnecting…"}
        data-testid="live-indicator"
        data-connected={connected}
      >
        {connected ? <Radio size={14} /> : <WifiOff size={14} />}
        {connected ? "live" : "offline"}
      </span>
    </div>
  );
}
