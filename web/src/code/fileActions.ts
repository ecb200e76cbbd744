// Renaming and deleting a file of a node's code folder from the Code tab, over the version the
// tab read (a file changed on disk meanwhile is refused with the server's words, nothing lost).
// What the node needs (main.py, params.yaml, pyproject.toml, the lock files) offers neither.
import { toast } from "sonner";
import { api, call } from "../api/client";
import { invalidatePipeline, keys, queryClient } from "../api/queries";
import { report } from "../actions/common";
import { askText, confirmDanger } from "../dialogs/dialogs";

/** Files the Code tab neither renames nor deletes (the server refuses them too). */
export const KEPT = new Set(["main.py", "params.yaml", "pyproject.toml", "uv.lock", "conda.lock"]);

interface CodeFileAt {
  pipelineId: string;
  nodeId: string;
  path: string;
  version: string;
}

/** Forget the old path's text and refetch the node (its files, its state: now stale). */
function changed({ pipelineId, nodeId, path }: CodeFileAt): Promise<void> {
  queryClient.removeQueries({ queryKey: keys.codeFile(pipelineId, nodeId, path), exact: true });
  return invalidatePipeline(pipelineId);
}

/** Ask for a new name and rename; the new path, or null when cancelled or refused. */
export async function renameCodeFile(file: CodeFileAt): Promise<string | null> {
  const to = await askText(`Rename ${file.path}`, "New path inside code/ (e.g. lib/io.py)", file.path, "Rename");
  if (!to || to === file.path) return null;
  try {
    const renamed = await call(
      api.POST("/api/pipelines/{pipeline}/nodes/{node}/code/rename", {
        params: { path: { pipeline: file.pipelineId, node: file.nodeId } },
        body: { file: file.path, to, version: file.version },
      }),
    );
    queryClient.setQueryData(keys.codeFile(file.pipelineId, file.nodeId, renamed.path), renamed);
    await changed(file);
    toast.success(`Renamed ${file.path} to ${renamed.path}`);
    return renamed.path;
  } catch (failure) {
    report(failure);
    return null;
  }
}

/** Confirm, then delete; whether the file is gone. */
export async function deleteCodeFile(file: CodeFileAt): Promise<boolean> {
  const sure = await confirmDanger(
    `Delete ${file.path}?`,
    `${file.path} is removed from the node's code folder. Undo cannot bring it back.`,
    "Delete",
  );
  if (!sure) return false;
  try {
    await call(
      api.DELETE("/api/pipelines/{pipeline}/nodes/{node}/code/file", {
        params: { path: { pipeline: file.pipelineId, node: file.nodeId }, query: { file: file.path, version: file.version } },
      }),
    );
    await changed(file);
    toast.success(`Deleted ${file.path}`);
    return true;
  } catch (failure) {
    report(failure);
    return false;
  }
}
