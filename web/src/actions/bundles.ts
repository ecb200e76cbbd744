// Bundles: a pipeline downloaded as a .zip, a .zip uploaded as a new pipeline (an include is
// updated in includes.ts).
import { toast } from "sonner";
import { ApiError, serverFetch, unreachable } from "../api/client";
import type { ErrorBody, Job, Pipeline } from "../api/types";
import { openPipeline } from "../store/opened";
import { askAndDo, attempt, followJob, typedText } from "./common";

/** A refusal named after the menu item the user chose. */
async function refusal(item: string, response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => undefined)) as Partial<ErrorBody> | undefined;
  const message = body?.message ?? `request failed with HTTP ${response.status}`;
  return new ApiError(response.status, { ...body, message: `${item}: ${message}` });
}

/** `fetch` for bodies the typed client does not send (uploads) and files it does not read;
 * a refusal becomes the ApiError `attempt` shows, in the words of menu `item`. */
export async function send(item: string, url: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await serverFetch(url, init);
  } catch {
    throw unreachable(item);
  }
  if (!response.ok) throw await refusal(item, response);
  return response;
}

/** Download the pipeline as a bundle (`nodepipe bundle export`, zipped). */
export async function exportBundle(pipeline: Pipeline, withData = false): Promise<void> {
  const item = withData ? "Export bundle with data (.zip)" : "Export bundle (.zip)";
  await attempt(async () => {
    const query = withData ? "?with_data=true" : "";
    const url = `/api/pipelines/${encodeURIComponent(pipeline.id)}/bundle.zip${query}`;
    const blob = await (await send(item, url)).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${pipeline.tag}.zip`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    toast.success(`Exported ${pipeline.tag} as ${pipeline.tag}.zip`);
  });
}

function pickZip(): Promise<File | null> {
  return new Promise((resolve) => {
    const input = document.createElement("input");
    input.type = "file";
    input.accept = ".zip,application/zip";
    input.dataset["testid"] = "bundle-file";
    input.style.display = "none";
    input.addEventListener("change", () => {
      resolve(input.files?.[0] ?? null);
      input.remove();
    });
    input.addEventListener("cancel", () => {
      resolve(null);
      input.remove();
    });
    document.body.append(input);
    input.click();
  });
}

/** Pick a bundle's .zip, upload it, and open the pipeline it becomes (in `projectId`). The
 * dialog stays open, with the tag typed, until the server has checked the bundle and the tag
 * (a tag taken or invalid is said beside it, a bundle refused above the buttons); the import,
 * which syncs every node's environment, then runs as a job. */
export async function importBundle(projectId: string | null): Promise<void> {
  const file = await pickZip();
  if (!file) return;
  const started = await askAndDo(
    {
      title: `Import bundle ${file.name}`,
      body: "A new pipeline is made from the bundle; every node's environment is synced from its lock.",
      confirm: "Import",
      // "name": the upload's field for the tag, so what the server says of it shows here
      fields: [{ name: "name", label: "Tag (empty: the bundle's name)", kind: "text" }],
    },
    async (typed) => {
      const form = new FormData();
      form.append("archive", file, file.name);
      if (projectId) form.append("project", projectId);
      const tag = typedText(typed, "name");
      if (tag) form.append("name", tag);
      const response = await send("Import bundle", "/api/bundles", { method: "POST", body: form });
      return (await response.json()) as Job;
    },
  );
  if (!started) return;
  await attempt(() =>
    followJob(started.result, async (done) => {
      if (done.pipeline_id) await openPipeline(done.pipeline_id);
    }),
  );
}
