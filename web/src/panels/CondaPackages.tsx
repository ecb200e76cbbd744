// The node's conda packages (code/conda.lock): what it asks for, what is locked, from which
// channels; add, remove and relock them (non-Python tools: ffmpeg, GDAL, Octave, CUDA).
import { Boxes, X } from "lucide-react";
import { useCallback, useState } from "react";
import { condaQuery, keys, queryClient } from "../api/queries";
import type { CanvasNode } from "../api/types";
import { useReportedQuery } from "../actions/common";
import { addCondaPackages, condaChannels, condaSpecs, relockConda, removeCondaPackages } from "../actions/conda";

/** The package a conda spec names (`conda-forge::ffmpeg >=6` → `ffmpeg`). */
export function condaName(spec: string): string {
  const bare = spec.trim().split("::").pop() ?? spec;
  const head = (bare.split("[")[0] ?? "").split(/\s/)[0] ?? "";
  if (!spec.includes("::") && /[/:]/.test(head)) {
    // a package file's URL or path: named after the file (…/ffmpeg-6.1-h1_0.conda is ffmpeg)
    const file = (head.replace(/\/+$/, "").split("/").pop() ?? head).replace(/\.(conda|tar\.bz2)$/, "");
    const parts = file.split("-");
    return (parts.length >= 3 ? parts.slice(0, -2).join("-") : file).toLowerCase();
  }
  return (bare.match(/^[A-Za-z0-9_][A-Za-z0-9_.-]*/)?.[0] ?? bare).toLowerCase();
}

export function CondaPackages({ node, pipelineId }: { node: CanvasNode; pipelineId: string }) {
  const conda = useReportedQuery(condaQuery(pipelineId, node.id)).data;
  const [specs, setSpecs] = useState("");
  const [channels, setChannels] = useState("");
  const readOnly = node.reference || node.locked;
  const load = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: keys.conda(pipelineId, node.id) }),
    [node.id, pipelineId],
  );
  if (!conda) return null;
  const requested = new Map(conda.specs.map((spec) => [condaName(spec), spec]));
  const locked = Object.entries(conda.locked);
  const any = conda.specs.length > 0 || locked.length > 0;
  return (
    <section data-testid="conda">
      <h3>Conda packages</h3>
      <p className="muted">
        {any ? "from " : "None. Tools that only conda ships (ffmpeg, GDAL, Octave), from "}
        {conda.channels.join(", ")}
        {any && !conda.installed ? " (not installed yet: built at the next run)" : ""}
      </p>
      {any && (
        <>
          <table className="table" data-testid="conda-packages">
            <tbody>
              {locked.map(([name, version]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td className="mono">{version}</td>
                  <td className="mono muted">{requested.get(name) ?? "(dependency)"}</td>
                  <td>
                    {requested.has(name) && (
                      <button
                        className="icon-button"
                        title={`Remove conda package ${name}`}
                        disabled={readOnly}
                        onClick={() => void removeCondaPackages(node.id, [name], load)}
                      >
                        <X size={13} />
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="row wrap">
            <button className="button" disabled={readOnly} onClick={() => void relockConda(node.id, false, load)}>
              Relock conda
            </button>
            <button className="button" disabled={readOnly} onClick={() => void relockConda(node.id, true, load)}>
              Upgrade conda packages
            </button>
          </div>
        </>
      )}
      <div className="add-packages">
        <label className="row">
          <Boxes size={14} /> Add conda packages (one per line)
        </label>
        <textarea
          className="code-editor"
          rows={2}
          value={specs}
          placeholder={"ffmpeg 6.1.*\ngdal >=3.8"}
          disabled={readOnly}
          onChange={(e) => setSpecs(e.target.value)}
          aria-label="conda packages to add"
          data-testid="add-conda"
        />
        <input
         
          value={channels}
          placeholder={`channels (empty: ${conda.channels.join(", ")})`}
          disabled={readOnly}
          onChange={(e) => setChannels(e.target.value)}
          aria-label="conda channels"
          data-testid="conda-channels"
        />
        <button
          className="button primary"
          disabled={readOnly || condaSpecs(specs).length === 0}
          onClick={() => {
            void addCondaPackages(node.id, condaSpecs(specs), condaChannels(channels), () => {
              setSpecs("");
              setChannels("");
              load();
            });
          }}
        >
          Add conda packages (solve and install)
        </button>
      </div>
    </section>
  );
}
