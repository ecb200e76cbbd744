// Running: the whole pipeline, a selection, up to or from a node, forced; and killing.
import { toast } from "sonner";
import { api, call } from "../api/client";
import type { Plan, RunCreate } from "../api/types";
import { ask } from "../dialogs/dialogs";
import { confirmPlan, previewWanted, setPreviewWanted } from "../history/PlanPreview";
import { getApp } from "../store/app";
import { attempt, currentPipeline } from "./common";

function describePlan(plan: Plan): string {
  const blocked = plan.blocked.map((b) => `${b.tag}: ${b.reasons.join("; ")}`);
  return blocked.length ? `blocked — ${blocked.join(" · ")}` : "every selected node is up to date";
}

/** Start a run; with ``preview`` (the toolbar's Run, unless shift-clicked or switched off),
 * show what would run and why first, and run only if the user says so. ``label`` names the run
 * (not its start: the preview's title reads "LABEL: what would run and why" before anything
 * has started), and leads the toast once it has. */
export async function startRun(request: Partial<RunCreate>, label: string, preview = false): Promise<void> {
  await attempt(async () => {
    const pipeline = currentPipeline();
    if (preview && previewWanted() && !(await confirmPlan(pipeline, request, label))) return;
    const launched = await call(
      api.POST("/api/pipelines/{pipeline}/runs", {
        params: { path: { pipeline } },
        body: { force: false, executor: "local", ...request },
      }),
    );
    if (launched.run_id) {
      const count = launched.plan.run.length;
      toast.info(`${label}: ${count} node${count === 1 ? "" : "s"} to run`, { id: "run-started" });
    } else {
      toast.message(`Nothing to run: ${describePlan(launched.plan)}`, { id: "run-started" });
    }
  });
}

export const runPipeline = (force = false, preview = false) =>
  startRun({ force }, force ? "Forced re-run of the pipeline" : "Run of the pipeline", preview);

/** The tag of node ``id`` of the open pipeline (its id if not loaded). */
function tagOf(id: string): string {
  return getApp().graph?.nodes.find((n) => n.id === id)?.tag ?? id;
}

export const runSelected = (ids: string[], force = false, preview = false) => {
  const what = ids.length === 1 ? `node ${tagOf(ids[0] ?? "")}` : "the selection";
  return startRun({ only: ids, force }, force ? `Forced re-run of ${what}` : `Run of ${what}`, preview);
};

export const runUpTo = (id: string, preview = false) => startRun({ to: [id] }, `Run up to ${tagOf(id)}`, preview);

export const runFrom = (id: string, preview = false) => startRun({ from: [id] }, `Run from ${tagOf(id)}`, preview);

export async function kill(ids: string[] = []): Promise<void> {
  await attempt(async () => {
    const pipeline = currentPipeline();
    const killed = await call(
      api.POST("/api/pipelines/{pipeline}/kill", {
        params: { path: { pipeline } },
        body: { nodes: ids },
      }),
    );
    toast.info(`Stopping ${killed.length} node run${killed.length === 1 ? "" : "s"}`);
  });
}

/** `nodepipe run` with every option: selection, force, parallelism, executor. */
export async function runWithOptions(): Promise<void> {
  const selection = getApp().selection;
  const values = await ask({
    title: "Run with options",
    confirm: "Run",
    fields: [
      {
        name: "scope",
        label: "What",
        kind: "select",
        options: [
          { value: "all", label: "the whole pipeline" },
          ...(selection.length ? [{ value: "only", label: `only the ${selection.length} selected` }] : []),
          ...(selection.length ? [{ value: "to", label: "up to the selected nodes" }] : []),
          ...(selection.length ? [{ value: "from", label: "from the selected nodes down" }] : []),
        ],
      },
      { name: "force", label: "Re-run even what is up to date", kind: "checkbox" },
      { name: "jobs", label: "Nodes at once (empty: one per core)", kind: "text" },
      {
        name: "executor",
        label: "Executor",
        kind: "select",
        options: [
          { value: "local", label: "local processes" },
          { value: "ray", label: "Ray cluster" },
        ],
      },
      { name: "ray_address", label: "Ray address (host:port, empty: a local Ray)", kind: "text" },
      { name: "preview", label: "The toolbar's Run shows what would run first", kind: "checkbox", value: previewWanted() },
    ],
  });
  if (!values) return;
  setPreviewWanted(values["preview"] === true);
  const scope = String(values["scope"]);
  const typed = String(values["jobs"]).trim();
  if (typed !== "" && !/^[0-9]+$/.test(typed)) {
    // never run with another number than the one asked for (parseInt reads "2.5" as 2, "abc" as none)
    toast.error(`Nodes at once: '${typed}' is not a whole number; give one of 1 or more, or leave it empty (one per core). Nothing was started.`);
    return;
  }
  await startRun(
    {
      ...(scope === "all" ? {} : { [scope]: selection }),
      force: values["force"] === true,
      jobs: typed === "" ? null : Number(typed),
      executor: values["executor"] === "ray" ? "ray" : "local",
      ray_address: String(values["ray_address"]).trim() || null,
    },
    "Run started",
  );
}
