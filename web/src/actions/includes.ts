// An include updated from its group's menu (Update include…): the bundle re-read from where it
// was found, each input it declares fed by a node of the pipeline (`nodepipe pipeline include
// --update --input NAME=NODE`). The dialog lists the inputs with the node feeding each; the
// user changes, adds or drops them. What the server refuses stays in the dialog beside the
// field it is about: an input the bundle declares now adds its field, nodes the update would
// remove (or whose edits it would replace) add the checkbox that confirms it.
import { toast } from "sonner";
import { api, ApiError, call } from "../api/client";
import type { Group, IncludeUpdated, PipelineGraph } from "../api/types";
import { ask, type Field, type Option, type Refusal, type Values } from "../dialogs/dialogs";
import { attempt, currentPipeline, refresh, refusalOf, typedText } from "./common";
import { inputField } from "./inputs";

/** The value of an input's select that drops it (the bundle no longer declares it). */
const DROP = "-drop-";
const ADD_NAME = "add.name";
const ADD_NODE = "add.node";
const CONFIRM_REMOVALS = "confirm_removals";
const REPLACE_EDITS = "replace_edits";

function summary(result: IncludeUpdated): string {
  const parts = [
    result.changed.length ? `${result.changed.length} changed (now stale)` : "",
    result.added.length ? `${result.added.length} added` : "",
    result.removed.length ? `${result.removed.length} removed` : "",
    result.disconnected.length
      ? `disconnected (the bundle does not make these edges): ${result.disconnected.join(", ")}`
      : "",
    result.kept.length ? `the code of ${result.kept.map((k) => k.node).join(", ")} kept in undone-edits/` : "",
  ].filter(Boolean);
  return `Updated include ${result.namespace}: ${parts.join(", ") || "nothing changed"}`;
}

/** The nodes that may feed the include: the pipeline's, but the include's own. */
function feederOptions(graph: PipelineGraph, namespace: string, own: string[]): Option[] {
  const inside = new Set(own);
  return graph.nodes
    .filter((node) => !inside.has(node.tag) && !node.tag.startsWith(`${namespace}.`))
    .map((node) => ({ value: node.id, label: node.tag }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** The select of input ``name``, on the node ``fed`` (an id, or "" for none yet). */
function inputSelect(name: string, label: string, options: Option[], fed: string): Field {
  return {
    name: inputField(name),
    label,
    kind: "select",
    value: fed,
    options: [
      ...(fed ? [] : [{ value: "", label: "(choose a node)" }]),
      ...options,
      { value: DROP, label: "(drop this input: the bundle no longer declares it)" },
    ],
  };
}

/** What the dialog asks to feed each input with, or the refusal of what is incomplete. */
function askedInputs(values: Values): { inputs: Record<string, string> } | { refusal: Refusal } {
  const inputs: Record<string, string> = {};
  const fields: Record<string, string> = {};
  for (const [field, value] of Object.entries(values)) {
    if (!field.startsWith("inputs.")) continue;
    const name = field.slice("inputs.".length);
    if (value === DROP) continue;
    if (typeof value === "string" && value) inputs[name] = value;
    else fields[field] = "choose the node that feeds it, or drop it";
  }
  const name = typedText(values, ADD_NAME);
  const node = typedText(values, ADD_NODE);
  if (name && !node) fields[ADD_NODE] = "choose the node that feeds the new input";
  if (!name && node) fields[ADD_NAME] = "name the input the node feeds";
  if (name && `inputs.${name}` in values) fields[ADD_NAME] = `input ${name} is listed above: choose its node there`;
  if (Object.keys(fields).length) return { refusal: { fields, message: "" } };
  if (name) inputs[name] = node;
  return { inputs };
}

/** The sentence the server refuses an input with, said beside that input's field. */
const NO_SUCH_INPUT = /declares no input '([^']+)'/;

/** The server's refusal of an update in the dialog's words: each input's problem beside its
 * select (a new input the bundle declares gets one), a removal or an edit to replace asks for
 * its checkbox, the rest as `refusalOf` says it. */
function refusalOfUpdate(error: unknown, values: Values, options: Option[]): Promise<Refusal | null> {
  if (!(error instanceof ApiError)) return refusalOf(() => Promise.reject(error));
  if (error.nodes?.length && error.kind !== "read_only") {
    const edited = error.kind === "edited";
    const field = edited ? REPLACE_EDITS : CONFIRM_REMOVALS;
    const said = edited
      ? `These nodes were edited here; updating replaces their code (each node's edited code is kept in its undone-edits/ folder first): ${error.nodes.join(", ")}`
      : `The bundle no longer has these nodes; updating removes them with their outputs: ${error.nodes.join(", ")}`;
    const label = edited ? "Replace their edits" : "Remove them with their outputs";
    return Promise.resolve({ fields: { [field]: said }, message: "", more: [{ name: field, label, kind: "checkbox", value: false }] });
  }
  const input = error.hint?.action === "bundle.input" ? error.hint.params?.["input"] : NO_SUCH_INPUT.exec(error.reason)?.[1];
  if (input && input === typedText(values, ADD_NAME)) return Promise.resolve({ fields: { [ADD_NAME]: error.reason }, message: "" });
  if (input) {
    const field = inputField(input);
    const more = field in values ? [] : [inputSelect(input, `Input ${input} (declared by the bundle now) from`, options, "")];
    // the field is the fix: the hint's words (another menu's) are not said
    return Promise.resolve({ fields: { [field]: error.reason }, message: "", more });
  }
  return refusalOf(() => Promise.reject(error));
}

/** Re-read the include of `group` from where it was found, its inputs fed as the dialog says. */
export async function updateInclude(group: Group): Promise<void> {
  const pipeline = currentPipeline();
  const found = await attempt(async () => {
    const [includes, graph] = await Promise.all([
      call(api.GET("/api/pipelines/{pipeline}/includes", { params: { path: { pipeline } } })),
      call(api.GET("/api/pipelines/{pipeline}", { params: { path: { pipeline } } })),
    ]);
    const include = includes.find((i) => i.namespace === group.name);
    if (!include) throw new ApiError(404, { kind: "not_found", message: `Update include: ${group.name} is no longer an include of this pipeline` });
    return { include, graph };
  });
  if (!found) return;
  const { include, graph } = found;
  const options = feederOptions(graph, include.namespace, include.nodes);
  const byTag = new Map(graph.nodes.map((node) => [node.tag, node.id]));
  const names = Object.keys(include.inputs).sort();
  const fed = (ref: string) => {
    const id = byTag.get(ref) ?? ref;
    return options.some((option) => option.value === id) ? id : "";
  };
  let result: IncludeUpdated | undefined;
  const done = await ask({
    title: `Update include ${include.namespace}`,
    body:
      `Re-reads the bundle from ${include.location}. ` +
      (names.length
        ? "Each input it declares is fed by the node chosen here, on the slot named after the input: change them, add one the bundle declares now, or drop one it no longer declares."
        : "It is fed no inputs; add one if the bundle declares one now."),
    confirm: "Update",
    working: "Updating the include (its changed nodes' environments are synced)…",
    fields: [
      ...names.map((name) => inputSelect(name, `Input ${name} from`, options, fed(include.inputs[name] ?? ""))),
      { name: ADD_NAME, label: "Add an input (a name the bundle declares)", kind: "text" },
      { name: ADD_NODE, label: "Fed by", kind: "select", options: [{ value: "", label: "(choose a node)" }, ...options] },
    ],
    submit: async (values) => {
      const asked = askedInputs(values);
      if ("refusal" in asked) return asked.refusal;
      try {
        result = await call(
          api.POST("/api/pipelines/{pipeline}/includes/{namespace}/update", {
            params: { path: { pipeline, namespace: include.namespace } },
            body: {
              inputs: asked.inputs,
              confirm_removals: values[CONFIRM_REMOVALS] === true,
              replace_edits: values[REPLACE_EDITS] === true,
            },
          }),
        );
        return null;
      } catch (error) {
        return refusalOfUpdate(error, values, options);
      }
    },
  });
  if (!done || !result) return;
  toast.success(summary(result));
  await attempt(refresh);
}
