// Bundle inputs: what a pipeline needs from outside when it is included elsewhere (its
// `[inputs]`: input name → the nodes taking it), declared and cleared from the pipeline menu
// (`nodepipe bundle export --input` / `--no-inputs`); and a package included in a pipeline with
// each input it declares fed by a node of that pipeline (`nodepipe package pull --into --input`).
// Refusals stay in the dialog, beside the field they are about (see api/fields.ts).
import { toast } from "sonner";
import { api, call } from "../api/client";
import type { PipelineGraph, Pipeline } from "../api/types";
import { ask, type Field, type Option, type Refusal, type Values } from "../dialogs/dialogs";
import { openPipeline } from "../store/opened";
import { attempt, followJob, submitting } from "./common";

const text = (value: unknown): string => String(value ?? "").trim();

/** The field of the dialogs choosing the node that takes (or feeds) input `name`. */
export const inputField = (name: string) => `inputs.${name}`;

function graphOf(pipeline: Pipeline): Promise<PipelineGraph> {
  return call(api.GET("/api/pipelines/{pipeline}", { params: { path: { pipeline: pipeline.id } } }));
}

/** The nodes of `graph` as the options of a select, by tag. */
function nodeOptions(graph: PipelineGraph): Option[] {
  return graph.nodes.map((node) => ({ value: node.id, label: node.tag })).sort((a, b) => a.label.localeCompare(b.label));
}

/** "raw: taken by load, clean" for each input `graph` declares. */
export function declaredLines(graph: PipelineGraph): string[] {
  const tags = new Map(graph.nodes.map((node) => [node.id, node.tag]));
  return Object.entries(graph.declared_inputs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, ids]) => `${name}: taken by ${ids.map((id) => tags.get(id) ?? id).join(", ")}`);
}

/** What the dialog asks for: the inputs ticked to keep, plus the new one (if named). */
function asked(graph: PipelineGraph, values: Values): Record<string, string[]> {
  const inputs: Record<string, string[]> = {};
  for (const [name, ids] of Object.entries(graph.declared_inputs)) {
    if (values[`keep.${name}`] === true) inputs[name] = [...ids];
  }
  const name = text(values["name"]);
  const node = text(values["node"]);
  if (name && node) inputs[name] = [...new Set([...(inputs[name] ?? []), node])];
  return inputs;
}

/** The server's words about the new input's name are said beside the field that holds it. */
function onName(refusal: Refusal | null): Refusal | null {
  const said = refusal?.fields["inputs"];
  if (!refusal || !said) return refusal;
  const fields = Object.fromEntries(Object.entries(refusal.fields).filter(([field]) => field !== "inputs"));
  return { ...refusal, fields: { ...fields, name: said } };
}

/** Show, declare and clear the pipeline's bundle inputs (pipeline menu → Bundle inputs…). */
export async function editInputs(pipeline: Pipeline): Promise<void> {
  const graph = await attempt(() => graphOf(pipeline));
  if (!graph) return;
  const lines = declaredLines(graph);
  const keep: Field[] = lines.map((line) => ({
    name: `keep.${line.split(":")[0]}`,
    label: `Keep ${line}`,
    kind: "checkbox",
    value: true,
  }));
  const send = submitting(async (values) => {
    await call(
      api.PUT("/api/pipelines/{pipeline}/inputs", {
        params: { path: { pipeline: pipeline.id } },
        body: { inputs: asked(graph, values) },
      }),
    );
  });
  const values = await ask({
    title: `Bundle inputs of ${pipeline.tag}`,
    body:
      (lines.length ? `Declared: ${lines.join("; ")}. ` : "The pipeline declares no inputs. ") +
      "An input is what the pipeline needs from outside when it is included elsewhere: the nodes taking it read it on the slot named after it. Exports and packages of the pipeline write them. Untick an input to clear it.",
    confirm: "Save inputs",
    fields: [
      ...keep,
      { name: "name", label: "New input (a slot name, like raw)", kind: "text" },
      { name: "node", label: "Taken by", kind: "select", options: [{ value: "", label: "(choose a node)" }, ...nodeOptions(graph)] },
    ],
    submit: async (values) => {
      if (text(values["name"]) && !text(values["node"])) return { fields: { node: "choose the node that takes the new input" }, message: "" };
      return onName(await send(values));
    },
  });
  if (values) toast.success(`Saved the bundle inputs of ${pipeline.tag}`);
}

/** Include a package in the pipeline (pipeline menu → Include package…): its inputs read first,
 * then each fed by a node of the pipeline, chosen by tag. */
export async function includePackage(pipeline: Pipeline): Promise<void> {
  let found: { release: string; name: string; inputs: Record<string, string[]> } | undefined;
  const source = await ask({
    title: `Include package in ${pipeline.tag}`,
    body: "A wheel or sdist — by URL, or name==version from a package index — whose pipeline becomes a group of this one. It is read first, for the inputs it needs fed; nothing of it is run.",
    confirm: "Next",
    fields: [
      { name: "source", label: "URL or name==version", kind: "text" },
      { name: "index_url", label: "Index URL (for name==version)", kind: "text", placeholder: "https://pkgs.example.org/simple/" },
      { name: "header", label: "HTTP header for a URL (Name: value)", kind: "text" },
    ],
    submit: submitting(async (values) => {
      found = await call(api.POST("/api/packages/inputs", { body: sourceBody(values) }));
    }),
  });
  if (!source || !found) return;
  const read = found;
  const graph = await attempt(() => graphOf(pipeline));
  if (!graph) return;
  const options = [{ value: "", label: "(choose a node)" }, ...nodeOptions(graph)];
  const names = Object.keys(read.inputs).sort();
  const feeds: Field[] = names.map((name) => ({
    name: inputField(name),
    label: `Input ${name} (taken by ${read.inputs[name]?.join(", ")}) from`,
    kind: "select",
    options,
  }));
  let started: Awaited<ReturnType<typeof postInclude>> | undefined;
  await ask({
    title: `Include ${read.release}`,
    body: names.length
      ? `Its pipeline ${read.name} needs ${names.length === 1 ? "an input" : `${names.length} inputs`} fed by nodes of ${pipeline.tag}: each node chosen feeds it on the slot named after the input.`
      : `Its pipeline ${read.name} needs no inputs.`,
    confirm: "Include",
    fields: [{ name: "namespace", label: "Namespace (its nodes become NAMESPACE.tag)", kind: "text", value: defaultNamespace(read.name) }, ...feeds],
    submit: async (values) => {
      const unfed = names.filter((name) => !text(values[inputField(name)]));
      if (unfed.length) {
        return { fields: Object.fromEntries(unfed.map((name) => [inputField(name), "choose the node that feeds it"])), message: "" };
      }
      return submitting(async () => {
        started = await postInclude(pipeline, source, values, names);
      })(values);
    },
  });
  if (!started) return;
  await followJob(started, async (done) => {
    if (done.pipeline_id) await openPipeline(done.pipeline_id);
  });
}

function defaultNamespace(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "included";
}

function sourceBody(values: Values) {
  const [headerName, ...rest] = text(values["header"]).split(":");
  const headers = headerName && rest.length ? { [headerName.trim()]: rest.join(":").trim() } : {};
  return { source: text(values["source"]), index_url: text(values["index_url"]) || null, headers };
}

function postInclude(pipeline: Pipeline, source: Values, values: Values, names: string[]) {
  const inputs = Object.fromEntries(names.map((name) => [name, text(values[inputField(name)])]));
  return call(
    api.POST("/api/pipelines/{pipeline}/includes", {
      params: { path: { pipeline: pipeline.id } },
      body: { ...sourceBody(source), namespace: text(values["namespace"]), inputs },
    }),
  );
}
