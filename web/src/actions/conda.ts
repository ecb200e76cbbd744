// A node's conda packages: add, remove, relock. Each change solves and installs with py-rattler
// on the server as a background job (a toast follows it); its end comes on the event stream.
import { api } from "../api/client";
import { nodePath, startJob, type JobDone } from "./common";

/** Conda specs from free text: one per line (`ffmpeg 6.1.*` keeps its space), comments dropped. */
export function condaSpecs(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);
}

/** Channels from free text: separated by commas, spaces or lines. */
export function condaChannels(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

export const addCondaPackages = (node: string, specs: string[], channels: string[], done: JobDone) =>
  startJob(
    () =>
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/conda/packages", {
        params: { path: nodePath(node) },
        body: { specs, channels },
      }),
    done,
  );

export const removeCondaPackages = (node: string, packages: string[], done: JobDone) =>
  startJob(
    () =>
      api.DELETE("/api/pipelines/{pipeline}/nodes/{node}/environment/conda/packages", {
        params: { path: nodePath(node), query: { packages } },
      }),
    done,
  );

export const relockConda = (node: string, upgrade: boolean, done: JobDone) =>
  startJob(
    () =>
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/conda/lock", {
        params: { path: nodePath(node) },
        body: { upgrade },
      }),
    done,
  );
