// The undo and redo stacks of the open pipeline. Each graph edit this page makes records an Edit
// that knows its inverse in terms of the API's own calls; a pipeline switch clears both stacks.
// Before an edit is undone (or redone) the graph is reloaded and the edit checks that what it
// changed is still as it left it: an edit made meanwhile elsewhere (the CLI, another page) makes
// it refuse with a toast and change nothing, rather than undo on top of someone else's change.
import { toast } from "sonner";
import { create } from "zustand";
import { ApiError } from "../api/client";
import { refresh } from "../actions/common";
import { getApp, useApp } from "../store/app";
import { showOpened } from "../store/opened";

/** Refetch the open pipeline and put it in the store now: the checks read what is true now. */
async function reload(): Promise<void> {
  await refresh();
  showOpened();
}

export interface Edit {
  /** What the edit did, for "Undo LABEL" ("connect prep → train"). */
  label: string;
  /** Undo it; may resolve to a note (a string) for the toast: what is not back as it was. */
  undo: () => Promise<unknown>;
  /** Do it again; absent when it cannot be redone (then the redo stack is cleared). */
  redo?: () => Promise<unknown>;
}

/** The edit cannot be undone any more: what it changed was changed since. Nothing was done. */
export class UndoConflict extends Error {}

interface History {
  pipelineId: string | null;
  done: Edit[];
  undone: Edit[];
  busy: boolean;
}

const LIMIT = 100;

export const useHistory = create<History>(() => ({ pipelineId: null, done: [], undone: [], busy: false }));

useApp.subscribe((state, previous) => {
  if (state.pipelineId !== previous.pipelineId) {
    useHistory.setState({ pipelineId: state.pipelineId, done: [], undone: [] });
  }
});

/** Remember an edit just made in the open pipeline (a new edit forgets what was undone). */
export function record(edit: Edit): void {
  const pipelineId = getApp().pipelineId;
  useHistory.setState((h) => ({
    pipelineId,
    done: [...(h.pipelineId === pipelineId ? h.done : []), edit].slice(-LIMIT),
    undone: [],
  }));
}

function reason(error: unknown): string {
  if (error instanceof ApiError) return error.reason;
  return error instanceof Error ? error.message : String(error);
}

async function step(direction: "undo" | "redo"): Promise<void> {
  const history = useHistory.getState();
  const from = direction === "undo" ? history.done : history.undone;
  const edit = from[from.length - 1];
  if (!edit || history.busy) return;
  const rest = from.slice(0, -1);
  useHistory.setState(direction === "undo" ? { done: rest, busy: true } : { undone: rest, busy: true });
  const verb = direction === "undo" ? "Undo" : "Redo";
  try {
    await reload();
    const run = direction === "undo" ? edit.undo : edit.redo;
    const result: unknown = run ? await run() : undefined;
    const note = typeof result === "string" ? result : undefined;
    useHistory.setState((h) =>
      direction === "undo"
        ? { undone: edit.redo ? [...h.undone, edit] : [] }
        : { done: [...h.done, edit] },
    );
    toast.success(`${verb === "Undo" ? "Undid" : "Redid"} ${edit.label}`, { description: note });
  } catch (error) {
    const unchanged = error instanceof UndoConflict ? " Nothing was changed." : "";
    toast.error(`Cannot ${verb.toLowerCase()} ${edit.label}: ${reason(error)}.${unchanged}`, {
      description: `It was taken off the ${verb.toLowerCase()} list.`,
      duration: 12000,
    });
  } finally {
    useHistory.setState({ busy: false });
    await reload().catch(() => undefined);
  }
}

export const undo = () => step("undo");
export const redo = () => step("redo");
