// How isolated a node is, changed at any time (`nodepipe env use-shared | interpreter | detach`):
// onto a shared environment, onto an existing interpreter (not isolated), or back to an
// environment of its own. Each move is confirmed naming what changes, then runs as a job whose
// failure is a toast like any job's; what the server refuses at once (an interpreter that
// does not run) stays in the dialog, beside the path typed.
import { toast } from "sonner";
import { api, call } from "../api/client";
import { queryClient, sharedEnvsQuery } from "../api/queries";
import { ask, confirmDanger } from "../dialogs/dialogs";
import { askAndDo, attempt, followJob, nodePath, Refused, startJob, typedText, type JobDone } from "./common";

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

/** Onto an existing interpreter (the system's, an image's): the node is not isolated. The
 * dialog says what changes and stays open, with the path typed, until the server has found a
 * working interpreter there (none, or a node whose environment cannot change, is said beside
 * the path); the switch then runs as a job. */
export async function moveToInterpreter(node: string, tag: string, done: JobDone): Promise<void> {
  const started = await askAndDo(
    {
      title: `Run ${tag} with an interpreter`,
      body: `${tag} will run with that interpreter: not isolated. Its own environment (.venv) is removed and nothing installs its packages into the interpreter: the Environment tab lists those it lacks. It goes stale now.`,
      confirm: "Use the interpreter",
      danger: true,
      fields: [{ name: "interpreter", label: "Absolute path of an existing Python interpreter", kind: "text" }],
    },
    (typed) => {
      const interpreter = typedText(typed, "interpreter");
      if (!interpreter) throw new Refused("interpreter", "give the interpreter's absolute path");
      return call(
        api.PUT("/api/pipelines/{pipeline}/nodes/{node}/environment/isolation", {
          params: { path: nodePath(node) },
          body: { mode: "interpreter", interpreter },
        }),
      );
    },
    "interpreter",
  );
  if (started) await attempt(() => followJob(started.result, done));
}
