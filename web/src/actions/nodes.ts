// Node and edge operations of the canvas: create, connect, lock, mark, copy, delete...
import { toast } from "sonner";
import { api, call } from "../api/client";
import type { CanvasNode } from "../api/types";
import { ask, type Refusal } from "../dialogs/dialogs";
import { getApp, graphNode, openPanel, setApp } from "../store/app";
import { cachedPipelines, showOpened } from "../store/opened";
import { askAndDo, attempt, currentPipeline, followJob, refresh, refusalOf, typedText } from "./common";
import { removalBody, undoable } from "./removal";
import { connected, disconnected } from "../undo/edits";
import { record } from "../undo/history";
import { created, deleted, snapshot } from "../undo/removals";

function nodesOf(ids: string[]): CanvasNode[] {
  const graph = getApp().graph;
  return ids.flatMap((id) => graph?.nodes.find((n) => n.id === id) ?? []);
}

export function tags(ids: string[]): string {
  return nodesOf(ids).map((n) => n.tag).join(", ");
}

export async function createNode(position?: { x: number; y: number }): Promise<void> {
  const { graph } = getApp();
  const shared = await call(api.GET("/api/shared-envs")).catch(() => [] as string[]);
  const none = { value: "", label: "(none)" };
  // a tag the server refuses (taken, invalid) is said beside it, the dialog open with it
  const made = await askAndDo(
    {
      title: "New node",
      confirm: "Create",
      fields: [
        { name: "tag", label: "Tag", kind: "text" },
        {
          name: "template",
          label: "Start from (code and lock copied)",
          kind: "select",
          options: [none, ...(graph?.nodes ?? []).map((n) => ({ value: n.id, label: n.tag }))],
        },
        {
          name: "shared_env",
          label: "Environment",
          kind: "select",
          options: [{ value: "", label: "its own" }, ...shared.map((name) => ({ value: name, label: `shared: ${name}` }))],
        },
      ],
    },
    async (typed) => {
      const template = String(typed["template"]) || null;
      const sharedEnv = String(typed["shared_env"]) || null;
      const node = await call(
        api.POST("/api/pipelines/{pipeline}/nodes", {
          params: { path: { pipeline: currentPipeline() } },
          body: {
            tag: typedText(typed, "tag"),
            notes: "",
            allow_duplicate_tag: false,
            template,
            shared_env: sharedEnv,
            ...(position ?? {}),
          },
        }),
      );
      return { node, template, sharedEnv };
    },
  );
  if (!made) return;
  const { node, template, sharedEnv } = made.result;
  await attempt(async () => {
    await refresh();
    showOpened();
    const place = graphNode(getApp().graph, node.id) ?? { x: position?.x ?? 0, y: position?.y ?? 0 };
    record(created({ id: node.id, tag: node.tag, notes: "", x: place.x, y: place.y, groupId: null, sharedEnv, paramsText: "", template }));
    setApp({ selectRequest: [node.id] });
    toast.success(`Created node ${node.tag}`);
  });
}

/** Connect ``parent`` to ``child`` (dragging an edge: the next free slot); a refusal is a toast. */
export async function connect(parent: string, child: string, slot?: string): Promise<boolean> {
  return (await attempt(() => postEdge(parent, child, slot))) === true;
}

/** Connect ``parent`` to ``child`` on ``slot`` from a form (Overview → Inputs): what the server
 * refuses is returned to be said beside the field it is about (a slot taken or not a slot name
 * beside the slot, the rest beside the parent), never a toast; null once connected. */
export function connectFrom(parent: string, child: string, slot: string): Promise<Refusal | null> {
  return refusalOf(() => postEdge(parent, child, slot), "parent");
}

async function postEdge(parent: string, child: string, slot?: string): Promise<true> {
  const pipeline = currentPipeline();
  const edge = await call(
    api.POST("/api/pipelines/{pipeline}/edges", {
      params: { path: { pipeline } },
      body: { parent, child, slot: slot || null },
    }),
  );
  record(connected(edge));
  await refresh();
  return true;
}

export async function disconnect(parent: string, child: string): Promise<void> {
  await attempt(async () => {
    const pipeline = currentPipeline();
    const edge = await call(
      api.DELETE("/api/pipelines/{pipeline}/edges/{parent}/{child}", {
        params: { path: { pipeline, parent, child } },
      }),
    );
    record(disconnected(edge));
    await refresh();
  });
}

type NodePatch = { tag?: string; notes?: string; notes_were?: string; locked?: boolean; state?: "completed" | "stale" };

async function patchEach(ids: string[], body: NodePatch): Promise<void> {
  const pipeline = currentPipeline();
  for (const node of ids) {
    await call(
      api.PATCH("/api/pipelines/{pipeline}/nodes/{node}", {
        params: { path: { pipeline, node } },
        body,
      }),
    );
  }
}

export const setLocked = (ids: string[], locked: boolean) =>
  attempt(async () => {
    await patchEach(ids, { locked });
    await refresh();
  });

export const mark = (ids: string[], state: "completed" | "stale") =>
  attempt(async () => {
    await patchEach(ids, { state });
    await refresh();
  });

/** Rename a node from its panel: what the server refuses is returned, said beside the field. */
export const renameNode = (id: string, tag: string) =>
  refusalOf(async () => {
    await patchEach([id], { tag });
    await refresh();
  });

/** Save a node's notes from its panel over the notes they ``were`` as this tab last heard them
 * (changed since: refused, nothing saved): what the server refuses is returned, said beside them. */
export const annotateNode = (id: string, notes: string, were: string) =>
  refusalOf(async () => {
    try {
      await patchEach([id], { notes, notes_were: were });
    } finally {
      await refresh(); // refused as changed since: the panel hears theirs, beside the typing
    }
  });

export async function clearOutputs(ids: string[]): Promise<void> {
  const yes = await ask({
    title: "Delete outputs",
    body: `The data/ folder of ${tags(ids)} will be emptied; what reads it becomes stale. This cannot be undone.`,
    confirm: "Delete outputs",
    danger: true,
  });
  if (!yes) return;
  await attempt(async () => {
    const pipeline = currentPipeline();
    for (const node of ids) {
      await call(
        api.DELETE("/api/pipelines/{pipeline}/nodes/{node}/data", {
          params: { path: { pipeline, node } },
        }),
      );
    }
    await refresh();
  });
}

export async function deleteNodes(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await attempt(async () => {
    const pipeline = currentPipeline();
    const preview = await call(
      api.GET("/api/pipelines/{pipeline}/removal-preview", {
        params: { path: { pipeline }, query: { nodes: ids } },
      }),
    );
    const yes = await ask({
      title: `Delete ${ids.length === 1 ? "node" : `${ids.length} nodes`}`,
      body: removalBody(preview),
      confirm: "Delete",
      danger: true,
    });
    if (!yes) return;
    const before = undoable(preview) ? await snapshot(ids) : null;
    const report = await call(
      api.DELETE("/api/pipelines/{pipeline}/nodes", {
        params: { path: { pipeline }, query: { nodes: ids } },
      }),
    );
    if (before) record(deleted(before));
    if (ids.includes(getApp().panelNodeId ?? "")) openPanel(null);
    await refresh();
    toast.success(`Removed ${report.removed.length}, deleted ${report.deleted.length} folder(s)`);
  });
}

/** The pipelines to choose from in a dialog (the current one marked, or left out). */
export function pipelineOptions(includeCurrent: boolean) {
  const { pipelineId } = getApp();
  return cachedPipelines()
    .filter((p) => includeCurrent || p.id !== pipelineId)
    .map((p) => ({ value: p.id, label: p.id === pipelineId ? `${p.tag} (this pipeline)` : p.tag }));
}

/** Duplicate nodes (a background job): the dialog stays open until the server has checked the
 * target and the tag (taken, invalid: said beside it), then the job copies. */
export async function duplicate(ids: string[]): Promise<void> {
  const started = await askAndDo(
    {
      title: `Duplicate ${tags(ids)}`,
      confirm: "Duplicate",
      fields: [
        { name: "into", label: "Into pipeline", kind: "select", options: pipelineOptions(true), value: getApp().pipelineId ?? "" },
        ...(ids.length === 1
          ? [{ name: "tag", label: "Tag of the copy (empty: TAG-copy)", kind: "text" as const, value: "" }]
          : []),
        { name: "with_data", label: "Copy the outputs too (data/ and reports/)", kind: "checkbox" },
      ],
    },
    (typed) =>
      call(
        api.POST("/api/pipelines/{pipeline}/duplicates", {
          params: { path: { pipeline: currentPipeline() } },
          body: {
            nodes: ids,
            into: String(typed["into"]),
            with_data: typed["with_data"] === true,
            tag: typedText(typed, "tag") || null,
            allow_duplicate_tag: false,
          },
        }),
      ),
  );
  if (started) await attempt(() => followJob(started.result));
}

/** The last step of the careful update: OLD's children read NEW on the same slots. */
export async function replaceNode(oldId: string): Promise<void> {
  const { graph } = getApp();
  const others = (graph?.nodes ?? []).filter((n) => n.id !== oldId);
  const values = await ask({
    title: `Replace ${tags([oldId])}`,
    confirm: "Replace",
    fields: [
      {
        name: "new",
        label: "With node (its children read it on the same slots and become stale)",
        kind: "select",
        options: others.map((n) => ({ value: n.id, label: `${n.tag} (${n.id})` })),
        value: others[0]?.id ?? "",
      },
      { name: "keep", label: `Keep ${tags([oldId])} (without children); otherwise it is deleted`, kind: "checkbox" },
    ],
  });
  if (!values || !values["new"]) return;
  await attempt(async () => {
    const pipeline = currentPipeline();
    const replaced = await call(
      api.POST("/api/pipelines/{pipeline}/replacements", {
        params: { path: { pipeline } },
        body: { old: oldId, new: String(values["new"]), keep: values["keep"] === true },
      }),
    );
    const relinked = replaced.relinked.length
      ? `; ${replaced.relinked.join(", ")} now install their library package from ${replaced.new.tag}`
      : "";
    if (!replaced.removal) toast.success(`${replaced.new.tag} replaces ${replaced.old.tag}${relinked}`);
    else toast.success(`${replaced.new.tag} replaces ${replaced.old.tag}, which was removed${relinked}`);
    if (replaced.removal && getApp().panelNodeId === oldId) openPanel(null);
    await refresh();
  });
}

export async function detach(ids: string[]): Promise<void> {
  const values = await ask({
    title: `Detach ${tags(ids)}`,
    body: "This pipeline gets private copies of these references (and the references below them).",
    confirm: "Detach",
    fields: [{ name: "with_data", label: "Copy their outputs too", kind: "checkbox", value: true }],
  });
  if (!values) return;
  await attempt(async () => {
    const pipeline = currentPipeline();
    const job = await call(
      api.POST("/api/pipelines/{pipeline}/detachments", {
        params: { path: { pipeline } },
        body: { nodes: ids, with_data: values["with_data"] === true },
      }),
    );
    await followJob(job);
  });
}

export async function copyPath(id: string): Promise<void> {
  await attempt(async () => {
    const pipeline = currentPipeline();
    const detail = await call(
      api.GET("/api/pipelines/{pipeline}/nodes/{node}", { params: { path: { pipeline, node: id } } }),
    );
    await writeClipboard(detail.folder);
    toast.success(`Copied ${detail.folder}`);
  });
}

async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}
