// Server-sent events read with fetch, so the request carries the page's credential header
// (EventSource cannot send headers, and the credential must not go in its address). It does
// what the page used from EventSource: each event's data, an open, an error, and (when asked)
// reconnecting after a dropped stream, `retry` milliseconds later as the server may say.
import { serverFetch } from "./client";

export interface StreamHandlers {
  onMessage: (data: string) => void;
  onOpen?: () => void;
  /** The stream could not open or ended; with `reconnect`, a new attempt follows. */
  onError?: () => void;
}

const RETRY_MS = 1000;

/** Read the event stream at `url` until the returned function is called. */
export function openStream(url: string, handlers: StreamHandlers, reconnect = false): () => void {
  const stop = new AbortController();
  let retry = RETRY_MS;
  const setRetry = (ms: number) => {
    retry = ms;
  };

  void (async () => {
    while (!stop.signal.aborted) {
      try {
        const response = await serverFetch(url, { headers: { Accept: "text/event-stream" }, signal: stop.signal });
        if (response.status === 401) return; // the session ended: the page reloads
        if (response.ok && response.body) {
          handlers.onOpen?.();
          await readEvents(response.body, handlers.onMessage, setRetry);
        }
      } catch {
        // a dropped connection or a server that is gone: as a stream that ended
      }
      if (stop.signal.aborted) return;
      handlers.onError?.();
      if (!reconnect) return;
      await new Promise((resolve) => setTimeout(resolve, retry));
    }
  })();
  return () => stop.abort();
}

/** Dispatch the data of each event of `body` (the text/event-stream format) until it ends. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onMessage: (data: string) => void,
  setRetry: (ms: number) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    rest += decoder.decode(value, { stream: true });
    // A \r last may be the first half of a \r\n: it waits for the next chunk.
    const cut = rest.endsWith("\r") ? rest.length - 1 : rest.length;
    const lines = rest.slice(0, cut).split(/\r\n|\r|\n/);
    rest = (lines.pop() ?? "") + rest.slice(cut); // a line not yet ended
    for (const line of lines) {
      if (line === "") {
        if (data.length > 0) onMessage(data.join("\n"));
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // a comment: the server's keep-alive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(text);
      else if (field === "retry" && /^\d+$/.test(text)) setRetry(Number(text));
    }
  }
}
