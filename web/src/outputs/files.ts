// Where an output file is served, and how much of it a preview reads: a CSV or text preview
// asks for its head only (an HTTP Range), a Parquet preview reads its footer and first rows.
import { serverFetch } from "../api/client";

/** Previews read at most this much of a text-like file. */
export const HEAD_BYTES = 64 * 1024;

export function outputUrl(pipeline: string, node: string, path: string, download = false): string {
  const query = new URLSearchParams({ file: path });
  if (download) query.set("download", "true");
  return `/api/pipelines/${encodeURIComponent(pipeline)}/nodes/${encodeURIComponent(node)}/outputs/file?${query}`;
}

/** The first `bytes` of the file as text, and whether there is more of it. */
export async function fetchHead(url: string, bytes = HEAD_BYTES): Promise<{ text: string; cut: boolean }> {
  const response = await serverFetch(url, { headers: { Range: `bytes=0-${bytes - 1}` } });
  if (!response.ok) throw new Error(`could not read the file (HTTP ${response.status})`);
  const buffer = await response.arrayBuffer();
  const total = Number(response.headers.get("Content-Range")?.split("/")[1] ?? buffer.byteLength);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(buffer);
  return { text, cut: total > buffer.byteLength };
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatDate(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
