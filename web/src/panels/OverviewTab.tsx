// Overview of a node: tag, notes, state and why, where it lives, inputs and outputs.
import { ClipboardCopy } from "lucide-react";
import { useMemo, useRef, useState } from "react";
import { useFollowed } from "./followed";
import { annotateNode, connectFrom, copyPath, renameNode } from "../actions/nodes";
import type { CanvasNode, NodeDetail } from "../api/types";
import type { Refusal } from "../dialogs/dialogs";
import { FieldProblem, focusRefused, problemOf, refusedField } from "../dialogs/FieldProblem";
import { useQuery } from "@tanstack/react-query";
import { pipelinesQuery } from "../api/queries";
import { pipelineTag, useApp } from "../store/app";

export function OverviewTab({ node, detail }: { node: CanvasNode; detail: NodeDetail | null }) {
  const status = useApp((s) => s.statuses[node.id]);
  const live = useApp((s) => s.live[node.id]);
  const owner = pipelineTag(useQuery(pipelinesQuery()).data ?? [], node.owner_pipeline_id);
  // both follow a change made elsewhere (another tab) unless something is typed in them
  const tagField = useFollowed(node.tag);
  const notesField = useFollowed(node.notes, { node: node.id, field: "notes" });
  const tag = tagField.text;
  const notes = notesField.text;
  const readOnly = node.reference || node.locked;
  // what the server refused of the tag or the notes typed, said beside them until edited
  const [refused, setRefused] = useState<{ tag: string; notes: string }>({ tag: "", notes: "" });
  const tagInput = useRef<HTMLInputElement>(null);
  const notesInput = useRef<HTMLTextAreaElement>(null);
  const said = (field: "tag" | "notes", refusal: Refusal | null) => {
    setRefused((current) => ({ ...current, [field]: problemOf(refusal, field) }));
    if (refusal) focusRefused(field === "tag" ? tagInput.current : notesInput.current);
  };
  const reasons = live
    ? live.reason
      ? [live.reason]
      : []
    : (status?.reasons ?? (node.state_reason ? [node.state_reason] : []));
  return (
    <div className="overview">
      <label className={refused.tag ? "field field-refused" : "field"}>
        <span>Tag</span>
        <div className="row">
          <input
            ref={tagInput}
            value={tag}
            onChange={(e) => {
              tagField.typed(e.target.value);
              setRefused((current) => ({ ...current, tag: "" }));
            }}
            disabled={readOnly}
            name="tag"
            {...refusedField(refused.tag ? "overview-tag-problem" : undefined)}
          />
          <button
            className="button"
            disabled={readOnly || tag === node.tag || !tag.trim()}
            onClick={() =>
              void renameNode(node.id, tag.trim()).then((refusal) => {
                said("tag", refusal);
                if (!refusal) tagField.reset(tag.trim());
              })
            }
          >
            Rename
          </button>
        </div>
        <FieldProblem id="overview-tag-problem" problem={refused.tag} />
        {tagField.changedElsewhere && <ChangedElsewhere what="tag" now={node.tag} button="Rename" testId="tag-changed-elsewhere" />}
      </label>
      <label className={refused.notes ? "field field-refused" : "field"}>
        <span>Notes</span>
        <textarea
          ref={notesInput}
          rows={3}
          value={notes}
          onChange={(e) => {
            notesField.typed(e.target.value);
            setRefused((current) => ({ ...current, notes: "" }));
          }}
          disabled={readOnly}
          name="notes"
          {...refusedField(refused.notes ? "overview-notes-problem" : undefined)}
        />
        <FieldProblem id="overview-notes-problem" problem={refused.notes} />
        {notesField.changedElsewhere && <ChangedElsewhere what="notes" now={node.notes} button="Save notes" testId="notes-changed-elsewhere" />}
        <button
          className="button"
          disabled={readOnly || notes === node.notes}
          onClick={() =>
            // over the notes as this tab last heard them: a change not heard of yet is refused,
            // then shown (changedElsewhere), and a Save after that replaces it knowingly
            void annotateNode(node.id, notes, node.notes).then((refusal) => {
              said("notes", refusal);
              if (!refusal) notesField.reset(notes);
            })
          }
        >
          Save notes
        </button>
      </label>
      <section>
        <h3>Why this state</h3>
        {reasons.length ? (
          <ul className="reasons" data-testid="reasons">
            {reasons.map((reason) => (
              <li key={reason}>{reason}</li>
            ))}
          </ul>
        ) : (
          <p className="muted">Up to date.</p>
        )}
      </section>
      <section>
        <h3>Folder</h3>
        <div className="row">
          <code className="path">{detail?.folder ?? "…"}</code>
          <button className="icon-button" title="Copy folder path" onClick={() => void copyPath(node.id)}>
            <ClipboardCopy size={14} />
          </button>
        </div>
        <p className="muted">
          Owned by <b>{owner}</b>
          {detail && detail.pipelines.length > 1 ? `; shown in ${detail.pipelines.join(", ")}` : ""}.
          {node.reference ? " Read-only here: edit it in its own pipeline, or detach it." : ""}
        </p>
      </section>
      {detail && (
        <section className="links">
          <div>
            <h3>Inputs</h3>
            {detail.inputs.length ? detail.inputs.map((l) => <div key={l.slot}><code>{l.slot}</code> {l.tag}</div>) : <span className="muted">none</span>}
            {!readOnly && <AddInput node={node} />}
          </div>
          <div>
            <h3>Outputs to</h3>
            {detail.outputs.length ? detail.outputs.map((l) => <div key={l.node_id}>{l.tag} <code>{l.slot}</code></div>) : <span className="muted">none</span>}
          </div>
        </section>
      )}
    </div>
  );
}

/** What a field says when its value was changed elsewhere while the user typed in it. */
function ChangedElsewhere(props: { what: string; now?: string; button: string; testId: string }) {
  const { what, now, button, testId } = props;
  return (
    <span className="panel-warning" role="status" data-testid={testId}>
      The {what} changed elsewhere since you began typing{now ? ` (now: ${now})` : ""}: {button} replaces it with yours.
    </span>
  );
}

/** Connect a parent on a named input slot (dragging an edge takes the next free one). What the
 * server refuses is said beside the field it is about, what was chosen and typed kept. */
function AddInput({ node }: { node: CanvasNode }) {
  const graph = useApp((s) => s.graph);
  const others = useMemo(() => graph?.nodes.filter((n) => n.id !== node.id) ?? [], [graph, node.id]);
  const [parent, setParent] = useState("");
  const [slot, setSlot] = useState("");
  const [refused, setRefused] = useState<{ parent: string; slot: string }>({ parent: "", slot: "" });
  const [busy, setBusy] = useState(false);
  const parentInput = useRef<HTMLSelectElement>(null);
  const slotInput = useRef<HTMLInputElement>(null);
  const add = async () => {
    if (busy) return;
    setBusy(true);
    const refusal = await connectFrom(parent, node.id, slot.trim());
    setBusy(false);
    if (!refusal) {
      setParent("");
      setSlot("");
      setRefused({ parent: "", slot: "" });
      return;
    }
    const onSlot = refusal.fields["slot"] ?? "";
    const rest = [refusal.message, ...Object.entries(refusal.fields).filter(([f]) => f !== "slot").map(([, said]) => said)];
    setRefused({ slot: onSlot, parent: rest.filter(Boolean).join("; ") });
    focusRefused(onSlot ? slotInput.current : parentInput.current);
  };
  return (
    <div className="add-input">
      <select
        ref={parentInput}
        value={parent}
        onChange={(e) => {
          setParent(e.target.value);
          setRefused((current) => ({ ...current, parent: "" }));
        }}
        aria-label="parent"
        name="add-input-parent"
        {...refusedField(refused.parent ? "add-input-parent-problem" : undefined)}
      >
        <option value="">parent…</option>
        {others.map((n) => (
          <option key={n.id} value={n.id}>
            {n.tag}
          </option>
        ))}
      </select>
      <FieldProblem id="add-input-parent-problem" problem={refused.parent} />
      <input
        ref={slotInput}
        value={slot}
        onChange={(e) => {
          setSlot(e.target.value);
          setRefused((current) => ({ ...current, slot: "" }));
        }}
        placeholder="slot (next free)"
        aria-label="slot"
        name="add-input-slot"
        {...refusedField(refused.slot ? "add-input-slot-problem" : undefined)}
      />
      <FieldProblem id="add-input-slot-problem" problem={refused.slot} />
      <button className="button" disabled={!parent || busy} onClick={() => void add()}>
        Connect
      </button>
    </div>
  );
}
