// The page's credential for the server: the token of the printed link, or the session value
// the password login answers. It lives in this tab's sessionStorage and travels only as the
// `Authorization` header of the page's own requests: never in a cookie (a browser sends a
// host's cookies to every port of it, so another user's server on the same host would get
// it) and never in an address the page keeps (plain GETs of <img>, <iframe> and downloads
// carry a one-minute ticket for that one address instead: tickets.ts).
//
// sessionStorage, not localStorage: both are readable by this origin (scheme, host and
// port) only, but sessionStorage ends with the tab. Nothing is left on disk for whatever
// serves this port next (another user's server once this one stops); a reload keeps it, a
// new tab needs the link again (whoever started the server can show it) or the password.

const KEY = "nodepipe.credential";
/** Set when the server refused this tab's credential: the login screen then says why. */
const ENDED = "nodepipe.session-ended";

export function credential(): string | null {
  return sessionStorage.getItem(KEY);
}

export function keepCredential(value: string): void {
  sessionStorage.setItem(KEY, value);
  sessionStorage.removeItem(ENDED);
}

/** Whether this tab had access and the server refused it (a restart with a new token, a
 * changed password), rather than never having had any. */
export function sessionWasEnded(): boolean {
  return sessionStorage.getItem(ENDED) !== null;
}

/** Opened from the printed link (`/?token=…`): keep the token, and drop it from the address
 * (and so from the history) before anything else reads the address. */
export function takeTokenFromAddress(): void {
  const address = new URL(window.location.href);
  const token = address.searchParams.get("token");
  if (token === null) return;
  if (token) keepCredential(token);
  address.searchParams.delete("token");
  window.history.replaceState(window.history.state, "", address.pathname + address.search + address.hash);
}

/** The headers that let a request of this page in. */
export function authHeaders(): Record<string, string> {
  const value = credential();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

const ending: (() => void)[] = [];

/** Have ``keep`` called when the session ends, before the reload (to keep a dialog's draft). */
export function beforeSessionEnds(keep: () => void): void {
  if (!ending.includes(keep)) ending.push(keep);
}

/** The server refused the credential (it restarted with another token, its password changed):
 * forget it and reload, which shows the login screen. */
export function sessionEnded(): void {
  for (const keep of ending) keep();
  sessionStorage.removeItem(KEY);
  sessionStorage.setItem(ENDED, "1");
  window.location.reload();
}
