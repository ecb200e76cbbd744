// What the right-click menus offer, for nodes, the empty canvas, edges and groups.
import type { MouseEvent as ReactMouseEvent } from "react";
import {
  ArrowRightToLine,
  Ban,
  CircleCheck,
  ClipboardCopy,
  ClipboardPaste,
  Copy,
  Eraser,
  FastForward,
  GitBranch,
  Group as GroupIcon,
  LayoutGrid,
  Link2,
  Lock,
  LockOpen,
  PanelRight,
  Pencil,
  Play,
  Plus,
  SquareDashedMousePointer,
  Trash2,
  TriangleAlert,
  Ungroup,
  Unlink,
  ArrowLeftFromLine,
  Settings2,
  RefreshCw,
  Replace,
  PackagePlus,
} from "lucide-react";
import { updateInclude } from "../actions/includes";
import {
  addToGroup,
  deleteGroup,
  groupNodes,
  layoutPipeline,
  renameGroup,
  setCollapsed,
  ungroupNodes,
} from "../actions/groups";
import {
  clearOutputs,
  copyPath,
  createNode,
  deleteNodes,
  detach,
  disconnect,
  duplicate,
  mark,
  replaceNode,
  setLocked,
} from "../actions/nodes";
import { buildLibrary } from "../actions/packages";
import { branchFrom } from "../actions/pipelines";
import { reference } from "../actions/references";
import { copyNodes, pasteNodes } from "../clipboard/clipboard";
import { shortcutLabel, withGesture } from "./shortcuts";
import { kill, runFrom, runPipeline, runSelected, runUpTo, runWithOptions } from "../actions/runs";
import type { CanvasNode, Group } from "../api/types";
import { openPanel, setApp } from "../store/app";
import type { MenuEntry } from "./ContextMenu";

/** Whether a Run chosen with this click shows its preview first (not when Shift-clicked). */
const previewOf = (event: ReactMouseEvent) => !withGesture(event, "runNow");

export function nodeMenu(nodes: CanvasNode[], hasGroups = false): MenuEntry[] {
  const ids = nodes.map((n) => n.id);
  const single = nodes.length === 1 ? nodes[0] : undefined;
  const references = nodes.filter((n) => n.reference);
  const anyLocked = nodes.some((n) => n.locked);
  const grouped = nodes.some((n) => n.group_id);
  const entries: MenuEntry[] = [];
  if (single) {
    entries.push({ label: "Open panel", icon: PanelRight, onSelect: () => openPanel(single.id), hint: "dbl-click" });
  }
  entries.push(
    // a run from the menu shows what would run and why first, as the toolbar's (Shift-click: at once)
    { label: nodes.length > 1 ? "Run selected" : "Run this node", icon: Play, onSelect: (event) => void runSelected(ids, false, previewOf(event)) },
    { label: "Force re-run", icon: FastForward, onSelect: (event) => void runSelected(ids, true, previewOf(event)) },
  );
  if (single) {
    entries.push(
      { label: "Run up to here", icon: ArrowRightToLine, onSelect: (event) => void runUpTo(single.id, previewOf(event)) },
      { label: "Run from here", icon: ArrowLeftFromLine, onSelect: (event) => void runFrom(single.id, previewOf(event)) },
    );
  }
  entries.push(
    { label: "Kill", icon: Ban, onSelect: () => void kill(ids) },
    "separator",
    { label: "Copy", icon: ClipboardCopy, onSelect: () => copyNodes(ids), hint: shortcutLabel("copy") },
    { label: "Duplicate…", icon: Copy, onSelect: () => void duplicate(ids) },
    ...(single ? [{ label: "Replace…", icon: Replace, onSelect: () => void replaceNode(single.id) }] : []),
    { label: "Reference into…", icon: Link2, onSelect: () => void reference(ids) },
  );
  if (references.length) {
    entries.push({ label: "Detach (private copy)…", icon: Unlink, onSelect: () => void detach(references.map((n) => n.id)) });
  }
  if (single) {
    entries.push({ label: "Branch pipeline from here…", icon: GitBranch, onSelect: () => void branchFrom(single.id) });
  }
  entries.push(
    "separator",
    anyLocked
      ? { label: "Unlock", icon: LockOpen, onSelect: () => void setLocked(ids, false) }
      : { label: "Lock", icon: Lock, onSelect: () => void setLocked(ids, true) },
    { label: "Mark completed", icon: CircleCheck, onSelect: () => void mark(ids, "completed") },
    { label: "Mark stale", icon: TriangleAlert, onSelect: () => void mark(ids, "stale") },
    { label: "Group…", icon: GroupIcon, onSelect: () => void groupNodes(ids) },
  );
  if (hasGroups) entries.push({ label: "Add to group…", icon: GroupIcon, onSelect: () => void addToGroup(ids) });
  if (grouped) entries.push({ label: "Remove from group", icon: Ungroup, onSelect: () => void ungroupNodes(ids) });
  if (single) {
    entries.push(
      { label: "Copy folder path", icon: ClipboardCopy, onSelect: () => void copyPath(single.id) },
      { label: "Build library package…", icon: PackagePlus, onSelect: () => void buildLibrary(single) },
    );
  }
  entries.push(
    "separator",
    { label: "Delete outputs…", icon: Eraser, onSelect: () => void clearOutputs(ids), danger: true },
    { label: "Delete…", icon: Trash2, onSelect: () => void deleteNodes(ids), danger: true, hint: shortcutLabel("deleteSelection") },
  );
  return entries;
}

export function paneMenu(position: { x: number; y: number }, allIds: string[]): MenuEntry[] {
  return [
    { label: "New node here…", icon: Plus, onSelect: () => void createNode(position) },
    { label: "Paste", icon: ClipboardPaste, onSelect: () => void pasteNodes(), hint: shortcutLabel("paste") },
    { label: "Run pipeline", icon: Play, onSelect: (event) => void runPipeline(false, previewOf(event)) },
    { label: "Force re-run pipeline", icon: FastForward, onSelect: (event) => void runPipeline(true, previewOf(event)) },
    { label: "Run with options…", icon: Settings2, onSelect: () => void runWithOptions() },
    { label: "Kill all", icon: Ban, onSelect: () => void kill() },
    "separator",
    { label: "Auto layout", icon: LayoutGrid, onSelect: () => void layoutPipeline() },
    { label: "Select all", icon: SquareDashedMousePointer, onSelect: () => setApp({ selectRequest: allIds }), hint: shortcutLabel("selectAll") },
  ];
}

export function edgeMenu(parent: string, child: string): MenuEntry[] {
  return [{ label: "Disconnect", icon: Unlink, onSelect: () => void disconnect(parent, child), danger: true, hint: shortcutLabel("deleteSelection") }];
}

export function groupMenu(group: Group, isInclude = false): MenuEntry[] {
  const include: MenuEntry[] = isInclude
    ? [{ label: "Update include…", icon: RefreshCw, onSelect: () => void updateInclude(group) }, "separator"]
    : [];
  return [
    ...include,
    group.collapsed
      ? { label: "Expand", icon: GroupIcon, onSelect: () => void setCollapsed(group, false) }
      : { label: "Collapse", icon: GroupIcon, onSelect: () => void setCollapsed(group, true) },
    { label: "Rename…", icon: Pencil, onSelect: () => void renameGroup(group) },
    { label: "Delete group (keep nodes)", icon: Ungroup, onSelect: () => void deleteGroup(group), danger: true },
  ];
}
