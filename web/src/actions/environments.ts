// Environments: a node's packages and Python, a pipeline's base packages, shared environments.
// Each change runs uv on the server as a background job; its end comes on the event stream.
import { toast } from "sonner";
import { api, call } from "../api/client";
import { confirmDanger } from "../dialogs/dialogs";
import { askAndDo, attempt, endInDialog, followJob, nodePath, refusedAs, startJob, typedText, type JobDone } from "./common";

/** Requirements from free text: one per line (or separated by spaces), comments dropped. */
export function requirements(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line && !line.startsWith("-"))
    .flatMap((line) => (line.includes(" ") && !/[<>=!~;@]/.test(line) ? line.split(/\s+/) : [line]));
}

export type AddMode = "packages" | "path" | "snapshot" | "shared" | "library";

/** The sources that are a folder of the server's, which ``large`` lets hold more than 20,000 files. */
export const FOLDER_MODES: readonly AddMode[] = ["path", "shared"];

/** What "what to add" sends: packages, one path-like source (``large``: a huge folder on
 * purpose), or a library node of the pipeline (``text``: which of its packages, when it holds
 * several). */
function addition(mode: AddMode, text: string, library: string, large: boolean) {
  if (mode === "packages") return { requirements: requirements(text), large: false };
  if (mode === "library")
    return { requirements: [], large: false, from_node: library, package: text.trim() || null };
  return { requirements: [], large: large && FOLDER_MODES.includes(mode), [mode]: text.trim() };
}

export const addToNode = (node: string, mode: AddMode, text: string, library: string, large: boolean, done: JobDone) =>
  startJob(
    () =>
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/packages", {
        params: { path: nodePath(node) },
        body: addition(mode, text, library, large),
      }),
    done,
  );

export const removeFromNode = (node: string, packages: string[], done: JobDone) =>
  startJob(
    () =>
      api.DELETE("/api/pipelines/{pipeline}/nodes/{node}/environment/packages", {
        params: { path: nodePath(node), query: { packages } },
      }),
    done,
  );

/** Use another installed Python (a background job): the dialog stays open until the server
 * has found one answering the version typed (none installed, or a node whose environment
 * cannot change, is said beside it); relocking and syncing then run in the job. */
export async function changePython(node: string, current: string, done: JobDone): Promise<void> {
  const started = await askAndDo(
    {
      title: "Python version",
      confirm: "Use it",
      fields: [{ name: "version", label: "An installed Python (never downloaded), e.g. 3.12", kind: "text", value: current }],
    },
    (typed) =>
      call(
        api.PUT("/api/pipelines/{pipeline}/nodes/{node}/environment/python", {
          params: { path: nodePath(node) },
          body: { version: typedText(typed, "version") },
        }),
      ),
    "version",
  );
  if (started) await attempt(() => followJob(started.result, done));
}

export const relock = (node: string, upgrade: boolean, done: JobDone) =>
  startJob(
    () =>
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/lock", {
        params: { path: nodePath(node) },
        body: { upgrade },
      }),
    done,
  );

export const syncNode = (node: string, done: JobDone) =>
  startJob(
    () => api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/sync", { params: { path: nodePath(node) } }),
    done,
  );

export const refreshSnapshot = (node: string, snapshot: string, done: JobDone, force = false) =>
  startJob(
    () =>
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/snapshots/{snapshot}/refresh", {
        params: { path: { ...nodePath(node), snapshot }, query: { force } },
      }),
    done,
  );

/** Refresh discarding the snapshot's local edits (and, for a clone whose upstream rewrote its
 * history, its own commits), after the user confirms. */
export async function resetSnapshot(node: string, snapshot: string, done: JobDone): Promise<void> {
  const confirmed = await confirmDanger(
    `Reset snapshot ${snapshot} to its upstream?`,
    "Its local edits, and the commits only the snapshot has, are dropped; the environment is relocked.",
    "Reset to upstream",
  );
  if (confirmed) await refreshSnapshot(node, snapshot, done, true);
}

export const installKernel = (node: string) =>
  startJob(() =>
    api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/kernel", { params: { path: nodePath(node) } }),
  );

/** Add packages to a pipeline's base, or remove one of them: the dialog stays open, with what
 * was typed, until every node is relocked; what the server refuses, at once (a requirement that
 * does not parse, a package the base no longer has, a locked pipeline) or in the job (a package
 * or version no index has), is said in it, beside Add or Remove. Cancelled meanwhile, the job
 * goes on in a toast. */
export async function editBasePackages(pipelineId: string, tag: string): Promise<void> {
  const path = { pipeline: pipelineId };
  const base = await attempt(() => call(api.GET("/api/pipelines/{pipeline}/base-packages", { params: { path } })));
  if (!base) return;
  const done = await askAndDo(
    {
      title: `Base packages of ${tag}`,
      body: base.packages.length
        ? `Every node of ${tag} gets: ${base.packages.join(", ")}`
        : `Every node of ${tag} gets these packages on top of its own. None yet.`,
      confirm: "Apply",
      working: `Relocking every node of ${tag}…`,
      fields: [
        // "packages": the request's field, so what the server says of them shows here
        { name: "packages", label: "Add (one per line, pinned or ranged)", kind: "textarea" },
        ...(base.packages.length
          ? [
              {
                name: "remove",
                label: "Remove",
                kind: "select" as const,
                options: [{ value: "", label: "(nothing)" }, ...base.packages.map((p) => ({ value: p, label: p }))],
              },
            ]
          : []),
      ],
    },
    async (typed, signal) => {
      const added = requirements(String(typed["packages"] ?? ""));
      const removed = String(typed["remove"] ?? "");
      const ended = [];
      if (added.length) {
        const job = await call(api.POST("/api/pipelines/{pipeline}/base-packages", { params: { path }, body: { packages: added } }));
        ended.push(await endInDialog(job, signal, "packages"));
      }
      if (removed) {
        const packages = [removed.split(/[<>=!~ ;@[]/)[0] ?? removed];
        const job = await refusedAs("remove", () =>
          call(api.DELETE("/api/pipelines/{pipeline}/base-packages", { params: { path, query: { packages } } })),
        );
        ended.push(await endInDialog(job, signal, "remove"));
      }
      return ended;
    },
  );
  if (done && !done.result.length) toast.message("Nothing changed");
}

/** A new shared environment: the dialog stays open, with what was typed, until the server
 * has checked the name (taken, invalid) and the packages (one that does not parse), each
 * said beside its field; uv then locks and syncs it in a job, whose failure (a package that
 * does not exist) is a toast. */
export async function createSharedEnv(done: JobDone): Promise<void> {
  const started = await askAndDo(
    {
      title: "New shared environment",
      body: "Nodes created with it use this one environment instead of their own.",
      confirm: "Create",
      fields: [
        { name: "name", label: "Name", kind: "text" },
        { name: "packages", label: "Packages (one per line)", kind: "textarea" },
      ],
    },
    (typed) =>
      call(
        api.POST("/api/shared-envs", {
          body: { name: typedText(typed, "name"), packages: requirements(String(typed["packages"] ?? "")) },
        }),
      ),
  );
  if (started) await attempt(() => followJob(started.result, done));
}

/** Add packages to a shared environment, or remove one of its own: the dialog stays open, with
 * what was typed, until the server has started each change (a package that does not parse is
 * said beside Add); uv then relocks it in a job per change. */
export async function editSharedEnv(name: string, done: JobDone): Promise<void> {
  const env = await attempt(() => call(api.GET("/api/shared-envs/{name}", { params: { path: { name } } })));
  if (!env) return;
  const locked = Object.entries(env.locked).map(([p, v]) => `${p} ${v}`);
  const started = await askAndDo(
    {
      title: `Shared environment ${name}`,
      body: `Python ${env.python}. Locked: ${locked.join(", ") || "nothing"}. Nodes using it go stale when it changes.`,
      confirm: "Apply",
      fields: [
        // "packages": the request's field, so what the server says of them shows here
        { name: "packages", label: "Add (one per line)", kind: "textarea" },
        {
          name: "remove",
          label: "Remove",
          kind: "select",
          options: [{ value: "", label: "(nothing)" }, ...env.direct.map((p) => ({ value: p, label: p }))],
        },
      ],
    },
    async (typed) => {
      const added = requirements(String(typed["packages"] ?? ""));
      const removed = String(typed["remove"] ?? "");
      const jobs = [];
      if (added.length) {
        jobs.push(
          await call(api.POST("/api/shared-envs/{name}/packages", { params: { path: { name } }, body: { packages: added } })),
        );
      }
      if (removed) {
        const packages = [removed.split(/[<>=!~ ;@[]/)[0] ?? removed];
        try {
          jobs.push(await call(api.DELETE("/api/shared-envs/{name}/packages", { params: { path: { name }, query: { packages } } })));
        } catch (error) {
          // the addition started all the same: its job is followed while the dialog says why not this
          for (const job of jobs) void attempt(() => followJob(job, done));
          throw error;
        }
      }
      return jobs;
    },
  );
  if (!started) return;
  if (!started.result.length) toast.message("Nothing changed");
  for (const job of started.result) await attempt(() => followJob(job, done));
}

/** Put back the environment ``node`` ran with in ``run`` (its code stays). */
export const restoreEnvironment = (node: string, run: string) =>
  startJob(() =>
    api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/restore", {
      params: { path: nodePath(node) },
      body: { run },
    }),
  );

/** A new node with the code, parameters and environment ``node`` had in ``run`` (a background
 * job): the dialog stays open until the server has checked the tag (taken, invalid: said
 * beside it) and the run; the copy runs in the job. */
export async function restoreAsNewNode(node: string, tag: string, run: string): Promise<void> {
  const started = await askAndDo(
    {
      title: "Restore as new node",
      confirm: "Restore",
      fields: [{ name: "tag", label: "Tag of the new node", kind: "text", value: `${tag}-${run.slice(0, 6)}` }],
    },
    (typed) =>
      call(
        api.POST("/api/pipelines/{pipeline}/nodes/{node}/restore", {
          params: { path: nodePath(node) },
          body: { run, tag: typedText(typed, "tag") },
        }),
      ),
  );
  if (started) await attempt(() => followJob(started.result));
}
