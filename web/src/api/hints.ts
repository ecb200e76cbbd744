// An error's hint in the web app's words: the menu item that does what it asks.
// MENU_ITEMS is the one table from each action (the API's `Action` enum) to its menu path; the
// CLI words the same actions as commands (nodepipe.cli.hints). Actions only the server's owner
// can take (a missing workspace, a lost store) say so, never naming a command to run.
import type { components } from "./schema";

export type Hint = components["schemas"]["HintPublic"];
type Action = components["schemas"]["Action"];
type Params = Record<string, string>;

const OWNER = "ask whoever runs this server to";

/** The checkbox (Environment tab, Add code path…) that adds a folder of more than 20,000 files
 * on purpose: the API's ``large``. */
export const LARGE_FOLDER = "Large folder, on purpose";

export const MENU_ITEMS: Record<Action, (params: Params) => string> = {
  "pipeline.unlock": (p) => `unlock it: right-click pipeline "${p.pipeline}" in the sidebar → Unlock`,
  "node.unlock": () => "unlock it: right-click the node → Unlock",
  "node.detach": () => "detach it: right-click the node → Detach (private copy)…",
  "node.kill": () => "kill it: right-click the node → Kill",
  "node.rename": (p) => `give one of them another tag: open pipeline "${p.pipeline}", select node "${p.tag}" → Overview → Tag → Rename; or show a copy instead: open pipeline "${p.source}", right-click node "${p.tag}" → Duplicate… (Into pipeline "${p.pipeline}", Tag of the copy); or show both under one tag: right-click it there → Reference into… (Even where a node there has the same tag)`,
  "node.retag": (p) => `give it a valid tag: open pipeline "${p.pipeline}", select node "${p.tag}" → Overview → Tag → Rename`,
  "pipeline.retag": (p) => `give it a valid tag: right-click pipeline "${p.tag}" in the sidebar → Rename…`,
  "group.rename": (p) => `give it a valid name: open pipeline "${p.tag}", right-click group "${p.group}" → Rename…`,
  // the dialogs that can keep a taken tag (Merge with…, Reference into…) say so beside their checkbox
  "tag.duplicate": () => "",
  "library.package": (p) => `write which of its packages to install: select node "${p.tag}" → Environment → library node "${p.library_tag}", package of the library node`,
  "external.large": (p) =>
    `name the package's own folder instead; or, if ${p.folder} is meant: select the node → Environment → ${p.source === "shared" ? "shared checkout (editable)" : "local project"}, tick "${LARGE_FOLDER}" → Add (lock and sync)`,
  "code_path.large": (p) =>
    `name a smaller folder; or, if ${p.folder} is meant: select the node → Environment → Add code path…, tick "${LARGE_FOLDER}"`,
  "library.unlink": (p) =>
    `take the package out of them first, e.g. select node "${p.user}" → Environment → remove ${p.package}; or put another library node holding ${p.package} in its place: right-click node "${p.library}" → Replace…`,
  "env.detach": () => "give it an environment of its own first: select the node → Environment → Own environment",
  "env.snapshot": (p) => `take a snapshot of that folder into the node: select node "${p.tag}" → Environment → snapshot (copied, editable) → Add (lock and sync), then export or build again`,
  "env.relock": () => "relock it on purpose: select the node → Environment → Relock, or undo the change",
  "env.lock": () => "relock it from what the index holds now: select the node → Environment → Upgrade all",
  "snapshot.reset": (p) => `bring the upstream's files anyway, dropping the snapshot's own edits and commits: select node "${p.tag}" → Environment → Snapshots → ${p.snapshot} → Reset to upstream`,
  "code_path.copy": (p) => `copy the scripts of ${p.path} into the code/ folder of node "${p.tag}" and take that code path off it (select the node → Environment → code paths), or take a snapshot of a package (Environment → snapshot), then export or build again`,
  "shared_env.new": (p) => `create it: Shared environments in the sidebar → New shared environment "${p.name}"`,
  "ray.connect": () => "check that Ray runs there and give its address: toolbar → Run with options (Ray address), leave the address empty to start a local Ray, or run with local processes there (Executor)",
  "workspace.init": () => `${OWNER} create the workspace`,
  "workspace.examine": () => `${OWNER} check the workspace for other trouble`,
  "store.restore": () => `${OWNER} restore the newest backup of the store, or rebuild it from the node folders`,
  "store.rebuild": () => `${OWNER} restore a backup of the store, or rebuild it from the node folders`,
  "store.repoint": (p) => `${OWNER} open ${p.owner ? `the workspace in ${p.owner}` : "the workspace that store belongs to"} instead, or give the workspace in ${p.folder} a store of its own`,
  "server.password": () => `${OWNER} set the server's password again`,
  "package.credentials": () => "enter a username and password the index accepts: pipeline menu → Publish package…",
  "package.version": () => "build a new version: pipeline menu → Build package… (Version), then publish that",
  "package.size": () => "build it without data: pipeline menu → Build package… (With data off), or ask the index's owner to raise its upload limit",
  "include.update": (p) => `update it: open pipeline "${p.pipeline}", right-click group "${p.namespace}" → Update include; or include the bundle again under another namespace`,
  "bundle.name": () => "import it under another tag: Import bundle… (Tag)",
  "package.alias": () => "pull it under another tag: Pull package… (Tag)",
  "package.name": () => "give a valid name: pipeline menu → Build package… (Name)",
  "library.name": (p) => `give a valid name: right-click node "${p.tag}" → Build library package… (Name)`,
  "package.upload": (p) =>
    `choose a wheel (.whl) or sdist (.tar.gz) built by Build package…, of at most ${p.limit}: pipeline menu → Pull package… (Package file); a larger one by its URL or name==version there`,
  "index.credentials": (p) =>
    `${OWNER} give the server the credentials of ${p.host} (UV_INDEX_<NAME>_USERNAME and UV_INDEX_<NAME>_PASSWORD, ~/.netrc, or the keyring with the user in the index URL), then pipeline menu → Pull package… again`,
  "conda.install": () => `${OWNER} install the conda extra (py-rattler) beside the server`,
  "conda.channel": (p) => `serve the channel over http(s), then select node "${p.tag}" → Environment → Conda packages → Add conda packages with that URL as the channel, then export or build again`,
  "conda.package": (p) => `take ${p.package} from a channel you trust: select the node → Environment → Conda packages → Add conda packages with that channel; or remove what asks for it there`,
  "conda.lock": () => "relock it here: select the node → Environment → Conda packages → Relock conda",
  "env.python": (p) => `set a version: select node "${p.tag}" → Environment → Python → change (like 3.12)`,
  "snapshot.refresh": (p) =>
    `refresh it from its origin: select node "${p.tag}" → Environment → Snapshots → ${p.snapshot} → Refresh the snapshot; to take the new one instead, remove its package from the node first (Environment → Remove; the old snapshot is kept in the node's undone-edits/)`,
  "bundle.input": (p) => `feed input ${p.input} from a node of the pipeline: pipeline menu → Include package… (Input ${p.input})`,
  "run.storage": () =>
    `${OWNER} give the workspace an object storage for runs (its [storage] url: a folder or an fsspec URL such as s3://bucket/prefix), or run with local processes: toolbar → Run with options (Executor)`,
};

/** What to do about an error, as a menu path (empty without a hint). */
export function menuItemFor(hint: Hint | null | undefined): string {
  if (!hint) return "";
  const words = MENU_ITEMS[hint.action] as ((params: Params) => string) | undefined;
  return words ? words(hint.params ?? {}) : "";
}

/** An error's message followed by its hint in the web app's words. */
export function withHint(message: string, hint: Hint | null | undefined): string {
  const item = menuItemFor(hint);
  return item ? `${message}; ${item}` : message;
}
