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
// new tab needs the link again (`nodepipe server list` shows it) or the password.

const KEY = "nodepipe.credential";

export function credential(): string | null {
  return sessionStorage.getItem(KEY);
}

export function keepCredential(value: string): void {
  sessionStorage.setItem(KEY, value);
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

/** The server refused the credential (it restarted with another token, its password changed):
 * forget it and reload, which shows the login screen. */
export function sessionEnded(): void {
  sessionStorage.removeItem(KEY);
  window.location.reload();
}
