// Code paths: folders outside a node put on its import path at launch and fingerprinted like its
// code (`nodepipe env code-path add|remove`). Each change answers at once with the environment;
// a refused folder (missing, another user's, where the node's runs write) is a toast.
import { api, call } from "../api/client";
import { askText } from "../dialogs/dialogs";
import { attempt, nodePath } from "./common";

/** Put a folder on the node's import path at launch; its edits make the node stale. */
export async function addCodePath(node: string, done: () => void): Promise<void> {
  const path = await askText("Add code path", "Folder put on the node's import path (an absolute path)", "", "Add");
  if (!path) return;
  const added = await attempt(() =>
    call(
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/code-paths", {
        params: { path: nodePath(node) },
        body: { path, large: false },
      }),
    ),
  );
  if (added) done();
}

export async function removeCodePath(node: string, path: string, done: () => void): Promise<void> {
  const removed = await attempt(() =>
    call(
      api.DELETE("/api/pipelines/{pipeline}/nodes/{node}/environment/code-paths", {
        params: { path: nodePath(node), query: { path } },
      }),
    ),
  );
  if (removed) done();
}
