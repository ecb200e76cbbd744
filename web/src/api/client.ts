// The typed API client (openapi-fetch over the generated schema) and its one error type.
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { authHeaders, sessionEnded } from "./credential";
import { fieldProblems } from "./fields";
import { withHint } from "./hints";
import type { ErrorBody } from "./types";

function newClientId(): string {
  // crypto.randomUUID needs a secure context; a server bound to a LAN address is plain http.
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** This page's id: the server echoes it in the change events this page caused. */
export const clientId = newClientId();

export const api = createClient<paths>({
  baseUrl: "",
  headers: { "X-Nodepipe-Client": clientId },
});
// The credential is read at each request: the login stores it after this module loads.
api.use({
  onRequest({ request }) {
    for (const [name, value] of Object.entries(authHeaders())) request.headers.set(name, value);
    return request;
  },
});

/** `fetch` of one of the server's addresses that the typed client does not cover (uploads,
 * streams, byte ranges), with this page's credential and id; a refused credential ends the
 * session (see sessionEnded). */
export async function serverFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(authHeaders())) headers.set(name, value);
  headers.set("X-Nodepipe-Client", clientId);
  const response = await fetch(url, { ...init, headers });
  if (response.status === 401) sessionEnded();
  return response;
}

/** A refused or failed request, with the server's `kind` (not_found, cycle, read_only...);
 * its message ends with what to do, as the menu item that does it (see hints.ts). */
export class ApiError extends Error {
  readonly status: number;
  readonly kind: string;
  readonly cycle: string[] | null;
  readonly hint: ErrorBody["hint"];
  /** The server's message without the hint's words (the message ends with them). */
  readonly reason: string;
  /** When uv failed: its full output, for a "Details" disclosure. */
  readonly uvOutput: string | null;
  /** For an include update refused until removals are confirmed: the nodes it would remove; refused
   * because nodes were edited here (kind "edited"): those nodes. */
  readonly nodes: string[] | null;
  /** What was wrong with which field of the request (by the body's field name, see fields.ts):
   * a dialog shows each beside its field. */
  readonly fields: Record<string, string>;

  constructor(status: number, body: Partial<ErrorBody> | undefined) {
    super(withHint(body?.message ?? `request failed with HTTP ${status}`, body?.hint));
    this.status = status;
    this.kind = body?.kind ?? "http";
    this.cycle = body?.cycle ?? null;
    this.hint = body?.hint ?? null;
    this.reason = body?.message ?? `request failed with HTTP ${status}`;
    this.uvOutput = body?.uv_output ?? null;
    this.nodes = body?.nodes ?? null;
    this.fields = fieldProblems(body);
  }
}

/** What a request that never reached the server says (it stopped, or is restarting), in the
 * app's words: what to do, not the browser's "TypeError: Failed to fetch". */
export const UNREACHABLE =
  "the nodepipe server cannot be reached (stopped, or restarting): try again once the toolbar shows live";

/** The ApiError of a request that never reached the server; `item`: the menu item it was for. */
export function unreachable(item?: string): ApiError {
  return new ApiError(0, { kind: "network", message: item ? `${item}: ${UNREACHABLE}` : UNREACHABLE });
}

export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a request, or an ApiError (network failures become one too). */
export async function call<T>(request: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await request;
  } catch {
    throw unreachable();
  }
  if (result.response.status === 401) {
    // The session ended (the server restarted with another token, or its password changed):
    // the credential is forgotten and the login screen says how to get in again.
    sessionEnded();
  }
  if (!result.response.ok) {
    throw new ApiError(result.response.status, result.error as Partial<ErrorBody> | undefined);
  }
  return result.data as T;
}
