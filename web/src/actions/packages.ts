// Packages: a pipeline (or one node, as an importable library) built as a wheel and an sdist
// (into the workspace's dist/), published to a package index, and a package pulled as a new
// pipeline. All are background jobs whose end (and refusals, in the app's words) arrives as a
// toast; a library build's bad name or version is said in its dialog.
import { toast } from "sonner";
import { api, call } from "../api/client";
import type { CanvasNode, Job, Pipeline } from "../api/types";
import { ask, type Field } from "../dialogs/dialogs";
import { openPipeline } from "../store/opened";
import { send } from "./bundles";
import { attempt, currentPipeline, followJob, submitting } from "./common";

const text = (value: unknown): string => String(value ?? "").trim();

/** The module name a distribution name gives its files (`np-model` → `np_model`). */
function fileStem(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "_");
}

/** Build the pipeline as a wheel and an sdist (`nodepipe package build`). */
export async function buildPackage(pipeline: Pipeline): Promise<void> {
  const values = await ask({
    title: `Build package of ${pipeline.tag}`,
    body: "A wheel and an sdist holding the pipeline as a bundle, written to the workspace's dist/ folder. They declare no dependencies: each node keeps its own lock.",
    confirm: "Build",
    fields: [
      { name: "alias", label: "Name (empty: the pipeline's tag)", kind: "text" },
      { name: "version", label: "Version", kind: "text", value: "0.1.0" },
      { name: "with_data", label: "With data (each node's outputs)", kind: "checkbox" },
    ],
  });
  if (!values) return;
  await attempt(async () => {
    const job = await call(
      api.POST("/api/pipelines/{pipeline}/package", {
        params: { path: { pipeline: pipeline.id } },
        body: {
          alias: text(values["alias"]) || null,
          version: text(values["version"]) || null,
          with_data: values["with_data"] === true,
        },
      }),
    );
    await followJob(job);
  });
}

/** Build one node as an importable library, a wheel and an sdist (`nodepipe package build
 * --library NODE`): its modules, its direct requirements as dependencies, its outputs as
 * package data if asked. A name or version refused is said beside its field. */
export async function buildLibrary(node: CanvasNode): Promise<void> {
  let job: Job | undefined;
  await ask({
    title: `Build library package of ${node.tag}`,
    body: "The node as a plain Python library anyone can pip install and import, without nodepipe: its code's modules, its direct requirements as the package's dependencies. The wheel and sdist go to the workspace's dist/ folder (Publish package… uploads them).",
    confirm: "Build",
    fields: [
      { name: "alias", label: "Name (empty: the node's tag)", kind: "text" },
      { name: "version", label: "Version", kind: "text", value: "0.1.0" },
      { name: "with_data", label: "With data (the node's outputs, as package data)", kind: "checkbox" },
    ],
    submit: submitting(async (values) => {
      job = await call(
        api.POST("/api/pipelines/{pipeline}/nodes/{node}/package", {
          params: { path: { pipeline: currentPipeline(), node: node.id } },
          body: {
            alias: text(values["alias"]) || null,
            version: text(values["version"]) || null,
            with_data: values["with_data"] === true,
          },
        }),
      );
    }),
  });
  if (job) await attempt(() => followJob(job as Job));
}

/** Upload built files to a package index (`nodepipe package publish`). */
export async function publishPackage(pipeline: Pipeline): Promise<void> {
  const files = await attempt(() => call(api.GET("/api/packages")));
  if (!files) return;
  if (files.length === 0) {
    toast.error("Publish package: nothing is built yet; pipeline menu → Build package… (or right-click a node → Build library package…) first");
    return;
  }
  // The pipeline's own files are ticked (all of them, when it was built under another name).
  const own = (name: string) => name.startsWith(`${fileStem(pipeline.tag)}-`);
  const anyOwn = files.some((file) => own(file.name));
  const fileFields: Field[] = files.map((file, index) => ({
    name: `file-${index}`,
    label: `${file.name} (${Math.ceil(file.size / 1024)} KiB)`,
    kind: "checkbox",
    value: anyOwn ? own(file.name) : true,
  }));
  const values = await ask({
    title: "Publish package",
    body: "Uploads the chosen files. The username and password are used for this upload only, never kept. Files the index already holds are skipped.",
    confirm: "Publish",
    fields: [
      { name: "url", label: "Index upload URL", kind: "text", placeholder: "https://pkgs.example.org/team/" },
      { name: "username", label: "Username", kind: "text" },
      { name: "password", label: "Password or token", kind: "password" },
      ...fileFields,
    ],
  });
  if (!values) return;
  const chosen = files.filter((_, index) => values[`file-${index}`] === true).map((f) => f.name);
  await attempt(async () => {
    const job = await call(
      api.POST("/api/packages/publish", {
        body: {
          files: chosen,
          repository_url: text(values["url"]) || null,
          username: text(values["username"]) || null,
          password: text(values["password"]) || null,
        },
      }),
    );
    await followJob(job);
  });
}

/** Import a package as a new pipeline (`nodepipe package pull`): a file from the user's
 * computer (uploaded), a URL, or name==version on an index. */
export async function pullPackage(projectId: string | null): Promise<void> {
  const values = await ask({
    title: "Pull package",
    body: "A wheel or sdist — a file from this computer, a URL, or name==version from a package index — becomes a new pipeline: read from the archive, nothing of it is run; every node's environment is synced from its lock.",
    confirm: "Pull",
    fields: [
      { name: "source", label: "URL or name==version", kind: "text" },
      { name: "file", label: "Package file from this computer (.whl or .tar.gz; instead of a URL)", kind: "file", accept: ".whl,.tar.gz,.tgz" },
      { name: "index", label: "Index URL (for name==version)", kind: "text", placeholder: "https://pkgs.example.org/simple/" },
      { name: "alias", label: "Tag (empty: the package's pipeline name)", kind: "text" },
      { name: "header", label: "HTTP header for a URL (Name: value)", kind: "text" },
    ],
  });
  if (!values) return;
  const file = values["file"];
  const opened = async (done: Job) => {
    if (done.pipeline_id) await openPipeline(done.pipeline_id);
  };
  if (file instanceof File) {
    await attempt(async () => {
      const form = new FormData();
      form.append("package", file, file.name);
      if (projectId) form.append("project", projectId);
      const alias = text(values["alias"]);
      if (alias) form.append("alias", alias);
      const init = { method: "POST", body: form };
      const response = await send("Pull package", "/api/packages/upload", init);
      await followJob((await response.json()) as Job, opened);
    });
    return;
  }
  const [headerName, ...rest] = text(values["header"]).split(":");
  const headers = headerName && rest.length ? { [headerName.trim()]: rest.join(":").trim() } : {};
  await attempt(async () => {
    const job = await call(
      api.POST("/api/packages/pull", {
        body: {
          source: text(values["source"]),
          alias: text(values["alias"]) || null,
          project: projectId,
          index_url: text(values["index"]) || null,
          headers,
        },
      }),
    );
    await followJob(job, opened);
  });
}
