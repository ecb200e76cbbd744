// A pipeline's run history: who started each run, when, what ran (nodes asked, ran, failed,
// skipped), the outcome and how long, newest first and a page at a time; the chosen run's
// timeline below. Opened from the toolbar's History button or #pipeline=P&view=runs.
import { useInfiniteQuery } from "@tanstack/react-query";
import { ArrowLeft } from "lucide-react";
import { useEffect, useState } from "react";
import { report } from "../actions/common";
import { historyQuery } from "../api/queries";
import type { RunSummary } from "../api/types";
import { useApp } from "../store/app";
import { openView, useView } from "./address";
import { useNow } from "./clock";
import { formatMoment, formatSeconds } from "./format";
import { Timeline } from "./Timeline";
import { isShortcut } from "../canvas/shortcuts";

/** What ran, in words: "2 of 3 ran · 1 failed · 1 skipped". */
function whatRan(run: RunSummary): string {
  const parts = [`${run.ran} of ${run.asked} ran`];
  if (run.failed) parts.push(`${run.failed} failed`);
  if (run.cancelled) parts.push(`${run.cancelled} cancelled`);
  if (run.skipped) parts.push(`${run.skipped} skipped`);
  return parts.join(" · ");
}

export function HistoryView() {
  const pipelineId = useApp((s) => s.pipelineId);
  const tag = useApp((s) => s.graph?.pipeline.tag);
  const chosen = useView((s) => s.runId);
  // Refetched, every page loaded, as runs start and end (api/events.ts).
  const history = useInfiniteQuery({ ...historyQuery(pipelineId ?? ""), enabled: pipelineId !== null });
  useEffect(() => {
    if (history.error) report(history.error);
  }, [history.error]);
  // The pages "Older runs" asked for, fetched here. A change made elsewhere refetches
  // everything on screen and cancels a page still on its way (api/events.ts): it is asked for
  // again once that refetch is done, so a click is never lost.
  const [asked, setAsked] = useState({ pipelineId, pages: 1 });
  const wanted = asked.pipelineId === pipelineId ? asked.pages : 1;
  const loaded = history.data?.pages.length ?? 0;
  const { hasNextPage, isFetching, isFetchNextPageError, fetchNextPage } = history;
  useEffect(() => {
    if (loaded > 0 && loaded < wanted && hasNextPage && !isFetching && !isFetchNextPageError) {
      void fetchNextPage();
    }
  }, [loaded, wanted, hasNextPage, isFetching, isFetchNextPageError, fetchNextPage]);
  const seen = new Set<string>();
  const runs = (history.data?.pages ?? [])
    .flatMap((page) => page.runs)
    .filter((r) => !seen.has(r.run.id) && Boolean(seen.add(r.run.id)));
  const running = runs.some((r) => r.run.status === "running");
  const now = useNow(running);
  const selected = runs.find((r) => r.run.id === chosen) ?? runs[0];
  useEffect(() => {
    // Escape goes back to the canvas (a dialog open over the view takes it first).
    const onKey = (event: KeyboardEvent) => {
      if (isShortcut(event, "closeHistory") && !document.querySelector("[data-testid=dialog]")) openView("canvas");
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <div className="history" role="region" aria-label="run history" data-testid="history">
      <header className="history-head">
        <button className="tool" onClick={() => openView("canvas")} aria-label="Back to the canvas" data-testid="history-close">
          <ArrowLeft size={15} /> <span className="tool-label">Canvas</span>
        </button>
        <h2 title={tag}>
          Runs of <b>{tag}</b>
        </h2>
      </header>
      {history.data === undefined ? (
        <p className="muted">Loading…</p>
      ) : runs.length === 0 ? (
        <p className="muted">This pipeline never ran. Run it from the toolbar; its runs are listed here.</p>
      ) : (
        <div className="history-body">
          <div className="history-list">
            <table className="table history-runs" data-testid="history-runs">
              <thead>
                <tr>
                  <th>started</th>
                  <th>by</th>
                  <th>what ran</th>
                  <th>outcome</th>
                  <th>took</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((item) => {
                  const { run } = item;
                  const took = item.duration_seconds ?? (now - Date.parse(run.created_at)) / 1000;
                  const current = item === selected;
                  return (
                    <tr
                      key={run.id}
                      className={current ? "clickable chosen" : "clickable"}
                      aria-selected={current}
                      tabIndex={0}
                      data-testid="history-run"
                      data-run-id={run.id}
                      onClick={() => openView("runs", run.id)}
                      onKeyDown={(event) => {
                        if (isShortcut(event, "openRun")) openView("runs", run.id);
                      }}
                      title={`run ${run.id}: ${run.executor}, ${run.jobs} at once${run.force ? ", forced" : ""}`}
                    >
                      <td>{formatMoment(run.created_at)}</td>
                      <td data-testid="run-by">{run.requested_by}</td>
                      <td data-testid="run-what">{whatRan(item)}</td>
                      <td className={`run-state run-${run.status}`} data-testid="run-outcome">
                        {run.status}
                      </td>
                      <td data-testid="run-took">{formatSeconds(took)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {history.hasNextPage && (
              <button
                className="button history-more"
                onClick={() => setAsked({ pipelineId, pages: loaded + 1 })}
                disabled={history.isFetchingNextPage}
                data-testid="history-more"
              >
                Older runs
              </button>
            )}
          </div>
          {selected && (
            <div className="history-timeline">
              <h3>
                Run <span className="mono">{selected.run.id}</span> · {selected.run.status} · {whatRan(selected)}
              </h3>
              <Timeline key={selected.run.id} run={selected} />
            </div>
          )}
        </div>
      )}
    </div>
  );
}
