// "What would run and why" before a run: the planner's answer (POST …/plan: pure, nothing is
// started or claimed) in a dialog with Run and Cancel. Shift-click on Run skips it once; a
// setting (remembered in this browser) skips it always.
import { toast } from "sonner";
import { api, call } from "../api/client";
import type { Plan, RunCreate } from "../api/types";
import { ask } from "../dialogs/dialogs";

const SETTING = "nodepipe.previewRuns";

/** Whether Run shows the preview first (the default) in this browser. */
export function previewWanted(): boolean {
  return window.localStorage.getItem(SETTING) !== "off";
}

export function setPreviewWanted(wanted: boolean): void {
  if (wanted) window.localStorage.removeItem(SETTING);
  else window.localStorage.setItem(SETTING, "off");
}

/** Rows past this are summed up: a 10,000-node plan stays a readable dialog. */
const SHOWN = 200;

function Items({ items, testId }: { items: { node_id: string; tag: string; why: string }[]; testId: string }) {
  const rest = items.length - SHOWN;
  return (
    <ul data-testid={testId}>
      {items.slice(0, SHOWN).map((item) => (
        <li key={item.node_id} data-node-id={item.node_id}>
          <b>{item.tag}</b>: {item.why}
        </li>
      ))}
      {rest > 0 && <li className="muted">…and {rest} more</li>}
    </ul>
  );
}

function PlanBody({ plan }: { plan: Plan }) {
  const run = plan.run.map((p) => ({ ...p, why: p.reasons.join("; ") }));
  const blocked = plan.blocked.map((p) => ({ ...p, why: p.reasons.join("; ") }));
  const skipped = plan.skipped.map((p) => ({ ...p, why: p.reason }));
  return (
    <div className="plan-preview" data-testid="plan-preview">
      {run.length === 0 ? (
        <p>Nothing would run.</p>
      ) : (
        <>
          <h4>Would run, in this order ({run.length})</h4>
          <Items items={run} testId="plan-run" />
        </>
      )}
      {blocked.length > 0 && (
        <>
          <h4>Cannot run ({blocked.length})</h4>
          <Items items={blocked} testId="plan-blocked" />
        </>
      )}
      {skipped.length > 0 && (
        <details>
          <summary>Left out ({skipped.length})</summary>
          <Items items={skipped} testId="plan-skipped" />
        </details>
      )}
    </div>
  );
}

/** Ask the planner what ``request`` would run and show it: true to run, false to cancel. */
export async function confirmPlan(pipeline: string, request: Partial<RunCreate>, label: string): Promise<boolean> {
  // Checking a big pipeline takes a while: say so if it is not instant.
  const slow = window.setTimeout(() => toast.loading("Working out what would run…", { id: "planning" }), 400);
  let plan: Plan;
  try {
    plan = await call(
      api.POST("/api/pipelines/{pipeline}/plan", {
        params: { path: { pipeline } },
        body: { force: false, executor: "local", ...request },
      }),
    );
  } finally {
    window.clearTimeout(slow);
    toast.dismiss("planning");
  }
  const count = plan.run.length;
  const values = await ask({
    title: `${label}: what would run and why`,
    body: <PlanBody plan={plan} />,
    fields: [{ name: "skip", label: "Run at once next time, without this preview", kind: "checkbox" }],
    confirm: count ? `Run ${count} node${count === 1 ? "" : "s"}` : "Run",
  });
  if (values === null) return false;
  if (values["skip"] === true) setPreviewWanted(false);
  return true;
}
