// The sidebar: projects, the pipelines of the chosen project, and their lineage.
import { Ellipsis, FolderPlus, Lock, Plus, Workflow } from "lucide-react";
import { useState, type MouseEvent } from "react";
import {
  annotatePipeline,
  annotateProject,
  createPipeline,
  createProject,
  deletePipeline,
  deleteProject,
  duplicatePipeline,
  lockPipeline,
  mergePipeline,
  movePipeline,
  renamePipeline,
  renameProject,
} from "../actions/pipelines";
import type { Pipeline, Project } from "../api/types";
import { ContextMenu, type MenuState } from "../canvas/ContextMenu";
import { useQuery } from "@tanstack/react-query";
import { report } from "../actions/common";
import { pipelinesQuery, projectsQuery, workspaceQuery } from "../api/queries";
import { setApp, useApp } from "../store/app";
import { openPipeline } from "../store/opened";
import { LineageGraph } from "./LineageGraph";
import { GitBranch, GitMerge, Copy, FolderInput, LockOpen, Package, Pencil, StickyNote, Trash2 } from "lucide-react";
import { editBasePackages } from "../actions/environments";
import { SharedEnvs } from "./SharedEnvs";
import { Download, Upload } from "lucide-react";
import { exportBundle, importBundle } from "../actions/bundles";
import { DownloadCloud, PackagePlus, UploadCloud } from "lucide-react";
import { buildPackage, publishPackage, pullPackage } from "../actions/packages";
import { PackageOpen, Waypoints } from "lucide-react";
import { editInputs, includePackage } from "../actions/inputs";

function pipelineMenu(pipeline: Pipeline) {
  return [
    { label: "Export bundle (.zip)", icon: Download, onSelect: () => void exportBundle(pipeline) },
    { label: "Export bundle with data (.zip)", icon: Download, onSelect: () => void exportBundle(pipeline, true) },
    { label: "Import bundle…", icon: Upload, onSelect: () => void importBundle(pipeline.project_id) },
    { label: "Bundle inputs…", icon: Waypoints, onSelect: () => void editInputs(pipeline) },
    "separator" as const,
    { label: "Build package…", icon: PackagePlus, onSelect: () => void buildPackage(pipeline) },
    { label: "Publish package…", icon: UploadCloud, onSelect: () => void publishPackage(pipeline) },
    { label: "Pull package…", icon: DownloadCloud, onSelect: () => void pullPackage(pipeline.project_id) },
    { label: "Include package…", icon: PackageOpen, onSelect: () => void includePackage(pipeline) },
    "separator" as const,
    { label: "Rename…", icon: Pencil, onSelect: () => void renamePipeline(pipeline) },
    { label: "Notes…", icon: StickyNote, onSelect: () => void annotatePipeline(pipeline) },
    { label: "Duplicate…", icon: Copy, onSelect: () => void duplicatePipeline(pipeline) },
    { label: "Merge with…", icon: GitMerge, onSelect: () => void mergePipeline(pipeline) },
    { label: "Move to project…", icon: FolderInput, onSelect: () => void movePipeline(pipeline) },
    { label: "Base packages…", icon: Package, onSelect: () => void editBasePackages(pipeline.id, pipeline.tag) },
    pipeline.locked
      ? { label: "Unlock", icon: LockOpen, onSelect: () => void lockPipeline(pipeline, false) }
      : { label: "Lock", icon: Lock, onSelect: () => void lockPipeline(pipeline, true) },
    "separator" as const,
    { label: "Delete…", icon: Trash2, onSelect: () => void deletePipeline(pipeline), danger: true },
  ];
}

function projectMenu(project: Project) {
  return [
    { label: "Rename…", icon: Pencil, onSelect: () => void renameProject(project) },
    { label: "Notes…", icon: StickyNote, onSelect: () => void annotateProject(project) },
    "separator" as const,
    { label: "Delete…", icon: Trash2, onSelect: () => void deleteProject(project), danger: true },
  ];
}

const NONE: never[] = [];

export function Sidebar() {
  const projects = useQuery(projectsQuery()).data ?? NONE;
  const pipelines = useQuery(pipelinesQuery()).data ?? NONE;
  const chosen = useApp((s) => s.projectId);
  const pipelineId = useApp((s) => s.pipelineId);
  const workspace = useQuery(workspaceQuery()).data;
  // The chosen project, else the first (also when the chosen one was deleted).
  const projectId = (projects.find((p) => p.id === chosen) ?? projects[0])?.id ?? null;
  const [menu, setMenu] = useState<MenuState | null>(null);
  const shown = pipelines.filter((p) => p.project_id === projectId);
  const project = projects.find((p) => p.id === projectId);

  const open = (event: MouseEvent, title: string, entries: MenuState["entries"]) => {
    event.preventDefault();
    event.stopPropagation();
    setMenu({ x: event.clientX, y: event.clientY, title, entries });
  };

  return (
    <nav className="sidebar" aria-label="projects and pipelines">
      <div className="brand">
        <Workflow size={18} /> nodepipe
        <span className="muted mono brand-root" title={workspace?.root}>{workspace?.root.split("/").pop()}</span>
      </div>
      <section>
        <header className="section-header">
          <h3>Projects</h3>
          <button className="icon-button" title="New project" onClick={() => void createProject()} data-testid="new-project">
            <FolderPlus size={15} />
          </button>
        </header>
        <ul className="list">
          {projects.map((p) => (
            <li
              key={p.id}
              className={p.id === projectId ? "item active" : "item"}
              onClick={() => setApp({ projectId: p.id })}
              onContextMenu={(e) => open(e, p.name, projectMenu(p))}
              title={p.notes}
            >
              {/* a button: Tab reaches it, Enter opens it (a click anywhere on the row does too) */}
              <button type="button" className="item-name grow" aria-current={p.id === projectId || undefined}>
                {p.name}
              </button>
              <button className="icon-button subtle" onClick={(e) => open(e, p.name, projectMenu(p))} aria-label={`actions of project ${p.name}`}>
                <Ellipsis size={14} />
              </button>
            </li>
          ))}
        </ul>
      </section>
      <section>
        <header className="section-header">
          <h3>Pipelines{project ? ` of ${project.name}` : ""}</h3>
          <button className="icon-button" title="New pipeline" onClick={() => void createPipeline(projectId)} data-testid="new-pipeline">
            <Plus size={15} />
          </button>
          <button className="icon-button" title="Import bundle…" onClick={() => void importBundle(projectId)} data-testid="import-bundle">
            <Upload size={15} />
          </button>
        </header>
        <ul className="list">
          {shown.map((p) => (
            <li
              key={p.id}
              className={p.id === pipelineId ? "item active" : "item"}
              onClick={() => void openPipeline(p.id).catch(report)}
              onContextMenu={(e) => open(e, p.tag, pipelineMenu(p))}
              title={p.notes}
              data-testid="pipeline-item"
              data-tag={p.tag}
            >
              <GitBranch size={13} className="muted" />
              <button type="button" className="item-name grow" aria-current={p.id === pipelineId || undefined}>
                {p.tag}
              </button>
              {p.locked && <Lock size={12} className="muted" />}
              <button className="icon-button subtle" onClick={(e) => open(e, p.tag, pipelineMenu(p))} aria-label={`actions of pipeline ${p.tag}`}>
                <Ellipsis size={14} />
              </button>
            </li>
          ))}
          {shown.length === 0 && <li className="muted empty">No pipeline yet.</li>}
        </ul>
      </section>
      <section className="lineage-section">
        <h3>Lineage</h3>
        <LineageGraph pipelines={shown} projectId={projectId} />
      </section>
      <SharedEnvs />
      {menu && <ContextMenu menu={menu} onClose={() => setMenu(null)} />}
    </nav>
  );
}
