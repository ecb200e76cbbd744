// How isolated a node is, changed at any time (`nodepipe env use-shared | interpreter | detach`):
// onto a shared environment, onto an existing interpreter (not isolated), or back to an
// environment of its own. Each move is confirmed naming what changes, then runs as a job whose
// failure is a toast like any job's.
import { toast } from "sonner";
import { api } from "../api/client";
import { queryClient, sharedEnvsQuery } from "../api/queries";
import { ask, askText, confirmDanger } from "../dialogs/dialogs";
import { attempt, nodePath, startJob, type JobDone } from "./common";

type Move = { mode: "own" } | { mode: "shared"; shared_env: string } | { mode: "interpreter"; interpreter: string };

const move = (node: string, body: Move, done: JobDone) =>
  startJob(
    () =>
      api.PUT("/api/pipelines/{pipeline}/nodes/{node}/environment/isolation", {
        params: { path: nodePath(node) },
        body,
      }),
    done,
  );

/** The shared environment a node uses, from its isolation ("shared:NAME"), or null. */
function sharedName(isolation: string): string | null {
  return isolation.startsWith("shared:") ? isolation.slice("shared:".length) : null;
}

/** Back to an environment of its own (from a shared one: the same packages and versions). */
export async function ownEnvironment(node: string, tag: string, isolation: string, done: JobDone): Promise<void> {
  const shared = sharedName(isolation);
  const body = shared
    ? `${tag} gets an environment of its own again, with the packages of the shared environment ${shared} at the same versions: locked and installed now. Changes to ${shared} no longer reach it.`
    : `${tag} gets an environment of its own again: its packages are locked and installed into it now, and it no longer runs with ${isolation.slice("interpreter:".length)}.`;
  const sure = await ask({ title: `Give ${tag} an environment of its own?`, body, confirm: "Own environment" });
  if (sure) await move(node, { mode: "own" }, done);
}

/** Onto one of the workspace's shared environments (picked from them). */
export async function moveToShared(node: string, tag: string, isolation: string, done: JobDone): Promise<void> {
  const envs = await attempt(() => queryClient.fetchQuery(sharedEnvsQuery()));
  if (!envs) return;
  const current = sharedName(isolation);
  const choices = envs.filter((env) => env !== current);
  if (!choices.length) {
    toast.error("No other shared environment yet: create one with Shared environments in the sidebar → New shared environment");
    return;
  }
  const values = await ask({
    title: `Move ${tag} onto a shared environment`,
    confirm: "Next",
    fields: [
      {
        name: "shared_env",
        label: "Shared environment",
        kind: "select",
        options: choices.map((env) => ({ value: env, label: env })),
        value: choices[0] ?? "",
      },
    ],
  });
  const name = String(values?.["shared_env"] ?? "");
  if (!name) return;
  const sure = await confirmDanger(
    `Use the shared environment ${name}?`,
    `${tag} will run in the shared environment ${name}: its own environment (.venv) is removed and its packages become those of ${name}, at the versions ${name} locked. It goes stale now, and again whenever ${name} changes. Environment → Own environment brings an environment of its own back, with ${name}'s packages.`,
    `Use ${name}`,
  );
  if (sure) await move(node, { mode: "shared", shared_env: name }, done);
}

/** Onto an existing interpreter (the system's, an image's): the node is not isolated. */
export async function moveToInterpreter(node: string, tag: string, done: JobDone): Promise<void> {
  const path = await askText(`Run ${tag} with an interpreter`, "Absolute path of an existing Python interpreter", "", "Next");
  if (!path) return;
  const sure = await confirmDanger(
    `Run ${tag} with ${path}?`,
    `${tag} will run with ${path}: not isolated. Its own environment (.venv) is removed and nothing installs its packages into that interpreter: the Environment tab lists those it lacks. It goes stale now.`,
    "Use the interpreter",
  );
  if (sure) await move(node, { mode: "interpreter", interpreter: path }, done);
}
