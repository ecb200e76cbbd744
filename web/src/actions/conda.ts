// A node's conda packages: add, remove, relock. Each change solves and installs with py-rattler
// on the server as a background job (a toast follows it); its end comes on the event stream.
import { api, call } from "../api/client";
import type { Job } from "../api/types";
import { attempt, currentPipeline, followJob } from "./common";

type Done = (job: Job) => void | Promise<void>;

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

function nodePath(node: string) {
  return { pipeline: currentPipeline(), node };
}

export const addCondaPackages = (node: string, specs: string[], channels: string[], done: Done) =>
  attempt(async () => {
    const job = await call(
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/conda/packages", {
        params: { path: nodePath(node) },
        body: { specs, channels },
      }),
    );
    await followJob(job, done);
  });

export const removeCondaPackages = (node: string, packages: string[], done: Done) =>
  attempt(async () => {
    const job = await call(
      api.DELETE("/api/pipelines/{pipeline}/nodes/{node}/environment/conda/packages", {
        params: { path: nodePath(node), query: { packages } },
      }),
    );
    await followJob(job, done);
  });

export const relockConda = (node: string, upgrade: boolean, done: Done) =>
  attempt(async () => {
    const job = await call(
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/conda/lock", {
        params: { path: nodePath(node) },
        body: { upgrade },
      }),
    );
    await followJob(job, done);
  });
