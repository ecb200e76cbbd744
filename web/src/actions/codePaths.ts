// Code paths: folders outside a node put on its import path at launch and fingerprinted like its
// code (`nodepipe env code-path add|remove`). Each change answers at once with the environment;
// a refused folder (missing, another user's, where the node's runs write, too large) is said
// beside the path typed, the dialog still open.
import { api, call } from "../api/client";
import { LARGE_FOLDER } from "../api/hints";
import { askAndDo, attempt, nodePath, Refused, typedText } from "./common";

/** Put a folder on the node's import path at launch; its edits make the node stale. */
export async function addCodePath(node: string, done: () => void): Promise<void> {
  const added = await askAndDo(
    {
      title: "Add code path",
      confirm: "Add",
      fields: [
        { name: "path", label: "Folder put on the node's import path (an absolute path)", kind: "text" },
        { name: "large", label: `${LARGE_FOLDER} (more than 20,000 files: every status and run reads them all)`, kind: "checkbox" },
      ],
    },
    (typed) => {
      const path = typedText(typed, "path");
      if (!path) throw new Refused("path", "give the folder's absolute path");
      return call(
        api.POST("/api/pipelines/{pipeline}/nodes/{node}/environment/code-paths", {
          params: { path: nodePath(node) },
          body: { path, large: typed["large"] === true },
        }),
      );
    },
    "path",
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
