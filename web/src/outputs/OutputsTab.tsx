// A node's outputs: its data/ (the last good outputs) and reports/, with sizes and dates, each
// previewable and downloadable. A run's new outputs appear when it ends (the pipeline's
// queries are refetched on its events).
import { Download } from "lucide-react";
import { useState } from "react";
import { outputsQuery } from "../api/queries";
import { report, useReportedQuery } from "../actions/common";
import { useTicketedLink } from "../api/tickets";
import { Preview } from "./Preview";
import { formatDate, formatSize, outputUrl } from "./files";
import "./outputs.css";

export function OutputsTab({ pipelineId, nodeId }: { pipelineId: string; nodeId: string }) {
  const listing = useReportedQuery(outputsQuery(pipelineId, nodeId)).data;
  const [chosen, setChosen] = useState<string | null>(null);
  if (!listing) return <p className="muted">Loading…</p>;
  // Reports first: that is where plots are; then the data.
  const files = [...listing.files].sort((a, b) => Number(b.path.startsWith("reports/")) - Number(a.path.startsWith("reports/")));
  const selected = files.find((f) => f.path === chosen) ?? files[0];
  if (!selected) {
    return <p className="muted" data-testid="outputs-empty">No outputs yet: run the node, and what it writes to data/ and reports/ shows here.</p>;
  }
  return (
    <div className="outputs" data-testid="outputs">
      <table className="outputs-list">
        <thead>
          <tr>
            <th>File</th>
            <th>Size</th>
            <th>Changed</th>
            <th aria-label="Download" />
          </tr>
        </thead>
        <tbody>
          {files.map((file) => (
            <tr key={file.path} className={file.path === selected.path ? "selected" : undefined}>
              <td>
                <button className="link-button mono" aria-pressed={file.path === selected.path} onClick={() => setChosen(file.path)}>
                  {file.path}
                </button>
              </td>
              <td className="num">{formatSize(file.size)}</td>
              <td>{formatDate(file.modified)}</td>
              <td>
                <DownloadLink url={outputUrl(pipelineId, nodeId, file.path, true)} path={file.path} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {listing.truncated && <p className="muted">More files than shown: the first {files.length} are listed.</p>}
      <section className="output-preview" aria-label={`preview of ${selected.path}`} data-testid="output-preview">
        <h3>{selected.path}</h3>
        <Preview key={selected.path} pipeline={pipelineId} node={nodeId} file={selected} />
      </section>
    </div>
  );
}

/** A file's download link: the address alone is refused, so while it is pointed at or focused
 * it carries a one-minute ticket for that address (a click or "Save link as" then works). */
function DownloadLink({ url, path }: { url: string; path: string }) {
  const link = useTicketedLink(url, report);
  return (
    <a className="icon-button" title={`Download ${path}`} {...link}>
      <Download size={14} />
    </a>
  );
}
