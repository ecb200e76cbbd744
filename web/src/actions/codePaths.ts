// Code paths: folders outside a node put on its import path at launch and fingerprinted like its
// code (`nodepipe env code-path add|remove`). Each change answers at once with the environment;
// a refused folder (missing, another user's, where the node's runs write) is a toast.
import { api, call } from "../api/client";
import { LARGE_FOLDER } from "../api/hints";
import { ask } from "../dialogs/dialogs";
import { attempt, nodePath } from "./common";

/** Put a folder on the node's import path at launch; its edits make the node stale. */
export async function addCodePath(node: string, done: () => void): Promise<void> {
  const values = await ask({
    title: "Add code path",
    confirm: "Add",
    fields: [
      { name: "text", label: "Folder put on the node's import path (an absolute path)", kind: "text" },
      { name: "large", label: `${LARGE_FOLDER} (more than 20,000 files: every status and run reads them all)`, kind: "checkbox" },
    ],
  });
  const path = typeof values?.["text"] === "string" ? values["text"].trim() : "";
  if (!values || !path) return;
  const added = await attempt(() =>
    call(
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/code-paths", {
        params: { path: nodePath(node) },
        body: { path, large: values["large"] === true },
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
