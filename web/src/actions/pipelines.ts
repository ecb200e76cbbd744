// Pipelines and projects: create, rename, notes, branch, duplicate, merge, move, lock, delete.
import type { ReactNode } from "react";
import { toast } from "sonner";
import { api, ApiError, call } from "../api/client";
import type { Job, Pipeline, Project } from "../api/types";
import { ask } from "../dialogs/dialogs";
import { invalidateAll, invalidateLists, projectsQuery, queryClient } from "../api/queries";
import { getApp } from "../store/app";
import { cachedPipelines, openPipeline } from "../store/opened";
import { askAndDo, attempt, editField, followJob, Refused, typedText } from "./common";
import { pipelineRemovalBody } from "./removal";

const openMade = async (job: Job) => {
  if (job.pipeline_id) await openPipeline(job.pipeline_id);
};

// Each dialog naming or annotating something stays open until the server accepts what was
// typed: a refusal (a tag taken, a name with a slash) is said beside its field (askAndDo).

export async function createPipeline(projectId: string | null): Promise<void> {
  const made = await askAndDo(
    {
      title: "New pipeline",
      confirm: "Create",
      fields: [
        { name: "tag", label: "Tag", kind: "text" },
        { name: "notes", label: "Notes", kind: "textarea" },
      ],
    },
    (typed) =>
      call(api.POST("/api/pipelines", { body: { tag: typedText(typed, "tag"), notes: String(typed["notes"] ?? ""), project: projectId } })),
  );
  if (!made) return;
  await attempt(async () => {
    await invalidateLists();
    await openPipeline(made.result.id);
  });
}

async function patchPipeline(pipeline: Pipeline, body: Record<string, unknown>): Promise<void> {
  await call(
    api.PATCH("/api/pipelines/{pipeline}", { params: { path: { pipeline: pipeline.id } }, body }),
  );
  await invalidateAll();
}

const sendPipeline = (pipeline: Pipeline) => (body: Record<string, unknown>) =>
  call(api.PATCH("/api/pipelines/{pipeline}", { params: { path: { pipeline: pipeline.id } }, body }));

export const renamePipeline = (pipeline: Pipeline) =>
  editField({ title: "Rename pipeline", confirm: "Save" }, { name: "tag", label: "Tag", kind: "text", value: pipeline.tag }, sendPipeline(pipeline), invalidateAll);

export const annotatePipeline = (pipeline: Pipeline) =>
  editField(
    { title: `Notes of ${pipeline.tag}`, confirm: "Save" },
    { name: "notes", label: "Notes", kind: "textarea", value: pipeline.notes },
    sendPipeline(pipeline),
    invalidateAll,
  );

export const lockPipeline = (pipeline: Pipeline, locked: boolean) =>
  attempt(() => patchPipeline(pipeline, { locked }));

export async function movePipeline(pipeline: Pipeline): Promise<void> {
  // the project it is in is no place to move it to
  const options = (queryClient.getQueryData(projectsQuery().queryKey) ?? [])
    .filter((p) => p.id !== pipeline.project_id)
    .map((p) => ({ value: p.id, label: p.name }));
  if (options.length === 0) {
    toast.error(`There is no other project to move ${pipeline.tag} to: create one with + beside Projects in the sidebar.`);
    return;
  }
  const values = await ask({
    title: `Move ${pipeline.tag} to another project`,
    confirm: "Move",
    fields: [{ name: "project", label: "Project", kind: "select", options }],
  });
  if (values) await attempt(() => patchPipeline(pipeline, { project: String(values["project"]) }));
}

// Duplicate…, Merge with… and Branch from here… copy in a background job: their dialog stays
// open until the server has checked what was typed (a tag taken or invalid is said beside it,
// before the job starts), then the job is followed in a toast and its pipeline opened.

/** Follow the copy a dialog started, opening the pipeline it makes. */
async function followCopy(started: { result: Job } | null): Promise<void> {
  if (started) await attempt(() => followJob(started.result, openMade));
}

export async function duplicatePipeline(pipeline: Pipeline): Promise<void> {
  const started = await askAndDo(
    {
      title: `Duplicate ${pipeline.tag}`,
      confirm: "Duplicate",
      fields: [
        { name: "tag", label: "New tag", kind: "text", value: `${pipeline.tag}-copy` },
        { name: "with_data", label: "Copy the outputs too", kind: "checkbox" },
      ],
    },
    (typed) =>
      call(
        api.POST("/api/pipelines/{pipeline}/copies", {
          params: { path: { pipeline: pipeline.id } },
          body: { tag: typedText(typed, "tag"), with_data: typed["with_data"] === true },
        }),
      ),
  );
  await followCopy(started);
}

const KEEP_TAGS = "allow_duplicate_tag";

export async function mergePipeline(pipeline: Pipeline): Promise<void> {
  const options = cachedPipelines()
    .filter((p) => p.id !== pipeline.id)
    .map((p) => ({ value: p.id, label: p.tag }));
  if (options.length === 0) {
    toast.error("There is no other pipeline to merge with.");
    return;
  }
  const started = await askAndDo(
    {
      title: `Merge ${pipeline.tag} with another pipeline`,
      body: "A new pipeline holds both; nodes they share appear once.",
      confirm: "Merge",
      fields: [
        { name: "other", label: "Merge with", kind: "select", options },
        { name: "tag", label: "New tag", kind: "text", value: `${pipeline.tag}-merged` },
        { name: "with_data", label: "Copy the outputs too", kind: "checkbox" },
        {
          name: KEEP_TAGS,
          label: "Keep every tag (otherwise a node of the other pipeline whose tag is taken becomes TAG-copy)",
          kind: "checkbox",
        },
      ],
    },
    async (typed) => {
      try {
        return await call(
          api.POST("/api/pipelines/merges", {
            body: {
              sources: [pipeline.id, String(typed["other"])],
              tag: typedText(typed, "tag"),
              with_data: typed["with_data"] === true,
              allow_duplicate_tag: typed[KEEP_TAGS] === true,
            },
          }),
        );
      } catch (error) {
        // two nodes of one tag the merge would show: keeping every tag is what lets it
        if (error instanceof ApiError && error.hint?.action === "tag.duplicate") throw new Refused(KEEP_TAGS, error.message);
        throw error;
      }
    },
  );
  await followCopy(started);
}

export async function branchFrom(nodeId: string): Promise<void> {
  const { pipelineId, graph } = getApp();
  const node = graph?.nodes.find((n) => n.id === nodeId);
  if (!pipelineId || !node) return;
  const started = await askAndDo(
    {
      title: `Branch from ${node.tag}`,
      confirm: "Branch",
      fields: [{ name: "tag", label: "New pipeline tag", kind: "text", value: `${graph?.pipeline.tag}-${node.tag}` }],
    },
    (typed) =>
      call(
        api.POST("/api/pipelines/{pipeline}/branches", {
          params: { path: { pipeline: pipelineId } },
          body: { from_node: nodeId, tag: typedText(typed, "tag") },
        }),
      ),
  );
  await followCopy(started);
}

const GENERIC_LOSS =
  "Its nodes that no other pipeline shows are deleted with their folders (code and outputs). Nodes other pipelines show stay there.";
/** Past this many nodes the confirmation says what is lost in general words (the preview names
 * every node in its address). */
const NAMED_LOSSES = 500;

/** What deleting ``pipeline`` would lose, node by node, as `nodepipe pipeline rm` asks; the
 * general sentence when it cannot be worked out. */
async function pipelineLosses(pipeline: Pipeline): Promise<ReactNode> {
  try {
    const graph = await call(api.GET("/api/pipelines/{pipeline}", { params: { path: { pipeline: pipeline.id } } }));
    const nodes = graph.nodes.map((n) => n.id);
    if (nodes.length > NAMED_LOSSES) return GENERIC_LOSS;
    if (nodes.length === 0) return pipelineRemovalBody({ effects: [], disconnected: [] });
    const preview = await call(
      api.GET("/api/pipelines/{pipeline}/removal-preview", { params: { path: { pipeline: pipeline.id }, query: { nodes } } }),
    );
    return pipelineRemovalBody(preview);
  } catch {
    return GENERIC_LOSS;
  }
}

export async function deletePipeline(pipeline: Pipeline): Promise<void> {
  const yes = await ask({
    title: `Delete pipeline ${pipeline.tag}`,
    body: await pipelineLosses(pipeline),
    confirm: "Delete pipeline",
    danger: true,
  });
  if (!yes) return;
  await attempt(async () => {
    const report = await call(
      api.DELETE("/api/pipelines/{pipeline}", { params: { path: { pipeline: pipeline.id } } }),
    );
    toast.success(`Deleted ${pipeline.tag} (${report.deleted.length} node folders)`);
    await invalidateAll();
  });
}

export async function createProject(): Promise<void> {
  const made = await askAndDo(
    { title: "New project", confirm: "Create", fields: [{ name: "name", label: "Name", kind: "text" }] },
    (typed) => call(api.POST("/api/projects", { body: { name: typedText(typed, "name"), notes: "" } })),
  );
  if (made) await attempt(invalidateLists);
}

const sendProject = (project: Project) => (body: Record<string, unknown>) =>
  call(api.PATCH("/api/projects/{project}", { params: { path: { project: project.id } }, body }));

export const renameProject = (project: Project) =>
  editField({ title: "Rename project", confirm: "Save" }, { name: "name", label: "Name", kind: "text", value: project.name }, sendProject(project), invalidateLists);

export const annotateProject = (project: Project) =>
  editField(
    { title: `Notes of ${project.name}`, confirm: "Save" },
    { name: "notes", label: "Notes", kind: "textarea", value: project.notes },
    sendProject(project),
    invalidateLists,
  );

export async function deleteProject(project: Project): Promise<void> {
  const yes = await ask({
    title: `Delete project ${project.name}`,
    body: "Only an empty project can be deleted: move or delete its pipelines first.",
    confirm: "Delete project",
    danger: true,
  });
  if (!yes) return;
  await attempt(async () => {
    await call(api.DELETE("/api/projects/{project}", { params: { path: { project: project.id } } }));
    await invalidateLists();
  });
}
