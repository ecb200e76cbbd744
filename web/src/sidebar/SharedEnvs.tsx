// Shared environments of the workspace: list, create, change packages.
import { Boxes, Plus } from "lucide-react";
import { useReportedQuery } from "../actions/common";
import { createSharedEnv, editSharedEnv } from "../actions/environments";
import { keys, queryClient, sharedEnvsQuery } from "../api/queries";

const NONE: string[] = [];
const load = () => void queryClient.invalidateQueries({ queryKey: keys.sharedEnvs() });

export function SharedEnvs() {
  const names = useReportedQuery(sharedEnvsQuery()).data ?? NONE;
  return (
    <section>
      <header className="section-header">
        <h3>Shared environments</h3>
        <button className="icon-button" title="New shared environment" onClick={() => void createSharedEnv(load)}>
          <Plus size={15} />
        </button>
      </header>
      <ul className="list">
        {names.map((name) => (
          <li key={name} className="item" onClick={() => void editSharedEnv(name, load)} title="Packages of this environment">
            <Boxes size={13} className="muted" />
            <span className="grow">{name}</span>
          </li>
        ))}
        {names.length === 0 && <li className="muted empty">None.</li>}
      </ul>
    </section>
  );
}
