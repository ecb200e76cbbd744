// A file of a node's code folder from the Code tab: a new one's name checked as it is typed,
// renamed or deleted over the version the tab read (a file changed on disk meanwhile is refused
// with the server's words, nothing lost). What the node needs (main.py, params.yaml,
// pyproject.toml, the lock files) is neither renamed nor deleted.
import { toast } from "sonner";
import { api, call } from "../api/client";
import { invalidatePipeline, keys, queryClient } from "../api/queries";
import { askAndDo, attempt, report, typedText } from "../actions/common";
import { confirmDanger } from "../dialogs/dialogs";

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

/** Ask for a new name and rename, the dialog open until the server accepts it (a name taken,
 * hidden or the node's own is said beside it); the new path, or null when cancelled. */
export async function renameCodeFile(file: CodeFileAt): Promise<string | null> {
  const done = await askAndDo(
    {
      title: `Rename ${file.path}`,
      confirm: "Rename",
      fields: [{ name: "to", label: "New path inside code/ (e.g. lib/io.py)", kind: "text", value: file.path }],
    },
    async (typed) => {
      const to = typedText(typed, "to");
      if (to === file.path) return null;
      return await call(
        api.POST("/api/pipelines/{pipeline}/nodes/{node}/code/rename", {
          params: { path: { pipeline: file.pipelineId, node: file.nodeId } },
          body: { file: file.path, to, version: file.version },
        }),
      );
    },
    "to",
  );
  const renamed = done?.result;
  if (!renamed) return null;
  queryClient.setQueryData(keys.codeFile(file.pipelineId, file.nodeId, renamed.path), renamed);
  await attempt(() => changed(file));
  toast.success(`Renamed ${file.path} to ${renamed.path}`);
  return renamed.path;
}

/** Ask for the path of a new code file of ``node``, the dialog open until the server says a new
 * file may be saved there (a name taken, one the app does not write, a read-only node: said
 * beside it); nothing is written until its text is saved. The path, or null when cancelled. */
export async function askNewCodeFile(pipelineId: string, nodeId: string): Promise<string | null> {
  const done = await askAndDo(
    {
      title: "New code file",
      confirm: "Create",
      fields: [{ name: "file", label: "Path inside code/ (e.g. helpers.py or lib/io.py)", kind: "text" }],
    },
    async (typed) => {
      const file = typedText(typed, "file");
      await call(
        api.GET("/api/pipelines/{pipeline}/nodes/{node}/code/name-check", {
          params: { path: { pipeline: pipelineId, node: nodeId }, query: { file } },
        }),
      );
      return file;
    },
    "file",
  );
  return done?.result ?? null;
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
