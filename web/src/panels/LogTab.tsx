// The node's log: streamed live while it runs, the whole file otherwise.
import { useEffect, useRef, useState } from "react";
import { api, ApiError, call } from "../api/client";
import { openStream } from "../api/stream";
import type { LogEvent } from "../api/types";
import { useApp } from "../store/app";

interface Props {
  nodeId: string;
  pipelineId: string;
  runId: string | null;
  onLatest: () => void;
}

type Status = "loading" | "live" | "done" | "none";

export function LogTab({ nodeId, pipelineId, runId, onLatest }: Props) {
  const live = useApp((s) => s.live[nodeId]);
  const [text, setText] = useState("");
  const [status, setStatus] = useState<Status>("loading");
  const [note, setNote] = useState("");
  const view = useRef<HTMLPreElement>(null);
  const active = runId === null && (live?.state === "running" || live?.state === "queued");
  const followRun = runId ?? (active ? live?.runId : undefined) ?? null;

  useEffect(() => {
    let cancelled = false;
    setText("");
    setStatus("loading");
    setNote(""); // the last state's note ("queued: …") never outlives it
    if (active && live?.state === "running") {
      const query = followRun ? `?run=${encodeURIComponent(followRun)}` : "";
      setStatus("live");
      const close = openStream(
        `/api/pipelines/${encodeURIComponent(pipelineId)}/nodes/${encodeURIComponent(nodeId)}/log/stream${query}`,
        {
          onMessage: (data) => {
            const event = JSON.parse(data) as LogEvent;
            if (event.type === "chunk") setText((current) => current + event.text);
            else {
              setStatus("done");
              setNote(`ended: ${event.state}`);
              close();
            }
          },
        },
      );
      return close;
    }
    if (active) {
      setStatus("none");
      setNote("queued: the log starts when the node starts");
      return;
    }
    call(
      api.GET("/api/pipelines/{pipeline}/nodes/{node}/log", {
        params: { path: { pipeline: pipelineId, node: nodeId }, query: { run: runId } },
      }),
    )
      .then((log) => {
        if (cancelled) return;
        setText(log.text);
        setStatus("done");
        setNote(`run ${log.node_run.run_id}: ${log.node_run.state}${log.truncated ? " (only the end is shown)" : ""}`);
      })
      .catch((error: unknown) => {
        if (cancelled) return;
        setStatus("none");
        setNote(error instanceof ApiError ? error.message : String(error));
      });
    return () => {
      cancelled = true;
    };
  }, [nodeId, pipelineId, runId, active, followRun, live?.state]);

  useEffect(() => {
    const element = view.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [text]);

  return (
    <div className="log" data-testid="log">
      <div className="row log-status">
        <span className={`pill log-${status}`} data-testid="log-status">
          {status === "live" ? "● live" : status}
        </span>
        <span className="muted">{note}</span>
        {runId && (
          <button className="button" onClick={onLatest}>
            Latest run
          </button>
        )}
      </div>
      <pre ref={view} className="log-text" data-testid="log-text">
        {text || (status === "loading" ? "…" : "")}
      </pre>
    </div>
  );
}
