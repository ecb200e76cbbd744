// One output previewed by its kind: images and SVG as <img> (an SVG never inline), CSV and
// Parquet heads as tables, JSON folded, Markdown rendered and sanitised, HTML reports in a
// sandboxed iframe (no scripts, no same origin; the server adds a sandboxing CSP too), text
// as text. What a preview reads is at most a head of the file (see files.ts).
import { useQuery } from "@tanstack/react-query";
import DOMPurify from "dompurify";
import { asyncBufferFromUrl, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { marked } from "marked";
import Papa from "papaparse";
import { serverFetch } from "../api/client";
import { keys } from "../api/queries";
import { useTicketed } from "../api/tickets";
import type { FileEntry } from "../api/types";
import { JsonTree } from "./JsonTree";
import { fetchHead, HEAD_BYTES, outputUrl } from "./files";

const TABLE_ROWS = 50;

interface Props {
  pipeline: string;
  node: string;
  file: FileEntry;
}

export function Preview({ pipeline, node, file }: Props) {
  // The date is part of the address, so a re-run's new file is fetched, not a cached one.
  const url = `${outputUrl(pipeline, node, file.path)}&v=${encodeURIComponent(file.modified)}`;
  switch (file.kind) {
    case "image":
    case "svg":
      return <Picture url={url} file={file} />;
    case "html":
      return <Report url={url} file={file} />;
    case "binary":
      return <p className="muted">No preview for this kind of file: download it.</p>;
    default:
      return <Loaded pipeline={pipeline} node={node} file={file} url={url} />;
  }
}

// An <img> or <iframe> cannot send the page's credential: each loads its file with a ticket.
function Picture({ url, file }: { url: string; file: FileEntry }) {
  const src = useTicketed(url);
  if (!src) return <p className="muted">Loading…</p>;
  return <img className="output-image" src={src} alt={file.path} data-testid="output-image" />;
}

function Report({ url, file }: { url: string; file: FileEntry }) {
  const src = useTicketed(url);
  if (!src) return <p className="muted">Loading…</p>;
  return <iframe className="output-frame" sandbox="" src={src} title={file.path} data-testid="output-frame" />;
}

type Shown =
  | { as: "table"; columns: string[]; rows: string[][]; note: string }
  | { as: "json"; value: unknown }
  | { as: "markdown"; html: string; note: string }
  | { as: "text"; text: string; note: string };

function Loaded({ pipeline, node, file, url }: Props & { url: string }) {
  const shown = useQuery({
    queryKey: [...keys.outputs(pipeline, node), file.path, file.modified],
    queryFn: () => load(file, url),
  });
  if (shown.error) return <div className="form-error">{String(shown.error)}</div>;
  if (!shown.data) return <p className="muted">Loading…</p>;
  const data = shown.data;
  if (data.as === "json") return <JsonTree value={data.value} />;
  if (data.as === "table") {
    return (
      <div className="output-table-wrap" data-testid="output-table">
        <table className="output-table">
          <thead>
            <tr>{data.columns.map((c, i) => <th key={i}>{c}</th>)}</tr>
          </thead>
          <tbody>
            {data.rows.map((row, r) => (
              <tr key={r}>{row.map((cell, c) => <td key={c}>{cell}</td>)}</tr>
            ))}
          </tbody>
        </table>
        {data.note && <p className="muted">{data.note}</p>}
      </div>
    );
  }
  if (data.as === "markdown") {
    return (
      <div>
        {/* sanitised by DOMPurify: no scripts, no event handlers */}
        <div className="output-markdown" data-testid="output-markdown" dangerouslySetInnerHTML={{ __html: data.html }} />
        {data.note && <p className="muted">{data.note}</p>}
      </div>
    );
  }
  return (
    <div>
      <pre className="output-text" data-testid="output-text">{data.text}</pre>
      {data.note && <p className="muted">{data.note}</p>}
    </div>
  );
}

const CUT_NOTE = `Only the first ${HEAD_BYTES / 1024} KiB are shown: download the whole file.`;

async function load(file: FileEntry, url: string): Promise<Shown> {
  if (file.kind === "parquet") return parquetHead(url, file.size);
  const { text, cut } = await fetchHead(url);
  if (file.kind === "csv") {
    const body = cut ? text.slice(0, text.lastIndexOf("\n") + 1) : text; // no half line
    const parsed = Papa.parse<string[]>(body, { preview: TABLE_ROWS + 1, skipEmptyLines: true });
    const [columns = [], ...rows] = parsed.data;
    const more = cut || parsed.data.length > TABLE_ROWS;
    return { as: "table", columns, rows, note: more ? `The first ${rows.length} rows.` : "" };
  }
  if (file.kind === "json" && !cut) {
    try {
      return { as: "json", value: JSON.parse(text) as unknown };
    } catch {
      return { as: "text", text, note: "Not valid JSON: shown as text." };
    }
  }
  if (file.kind === "markdown") {
    const html = DOMPurify.sanitize(await marked.parse(text, { async: true }));
    return { as: "markdown", html, note: cut ? CUT_NOTE : "" };
  }
  return { as: "text", text, note: cut ? CUT_NOTE : "" };
}

async function parquetHead(url: string, size: number): Promise<Shown> {
  // Its byte ranges are fetched with the page's credential header.
  const fetch = (input: RequestInfo | URL, init?: RequestInit) => serverFetch(String(input), init);
  const file = await asyncBufferFromUrl({ url, byteLength: size, fetch });
  const metadata = await parquetMetadataAsync(file);
  const objects = await parquetReadObjects({ file, metadata, rowStart: 0, rowEnd: TABLE_ROWS });
  const columns = metadata.schema.slice(1).map((element) => element.name);
  const rows = objects.map((row) => columns.map((column) => cell(row[column])));
  const total = Number(metadata.num_rows);
  return { as: "table", columns, rows, note: `${rows.length} of ${total.toLocaleString()} rows.` };
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  return String(value as string | number | boolean);
}
