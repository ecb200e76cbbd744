// Addresses that a plain GET can load (<img>, <iframe>, a download link): an <img> cannot send
// the page's credential header, and the credential must not go in an address, so the server is
// asked for a ticket to that one address (POST /api/tickets), good for GET only, for a minute.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type MouseEvent } from "react";
import { api, call, clientId } from "./client";
import { authHeaders } from "./credential";
import type { Ticket } from "./types";

/** `url` with a fresh ticket. */
export async function ticketed(url: string): Promise<string> {
  return (await call(api.POST("/api/tickets", { body: { url } }))).url;
}

/** `url` with a ticket minted when the element that loads it mounts (undefined until then):
 * the element loads it at once; a later mount gets a new ticket. */
export function useTicketed(url: string): string | undefined {
  return useQuery({ queryKey: ["ticket", url], queryFn: () => ticketed(url), gcTime: 0 }).data;
}

/** Download `url` (an address of the server with `download=true`) under a fresh ticket. */
export async function download(url: string): Promise<void> {
  const link = document.createElement("a");
  link.href = await ticketed(url);
  link.download = "";
  document.body.append(link);
  link.click();
  link.remove();
}

/** `url` with a fresh ticket, the page waiting for it (a synchronous request): for the one
 * moment when nothing may happen before the ticket is there, a context menu about to read a
 * link's address. null when none can be had now (the menu then offers the address alone). */
function ticketedNow(url: string): string | null {
  const request = new XMLHttpRequest();
  try {
    request.open("POST", "/api/tickets", false);
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.setRequestHeader("X-Nodepipe-Client", clientId);
    request.setRequestHeader("Content-Type", "application/json");
    request.send(JSON.stringify({ url }));
  } catch {
    return null;
  }
  return request.status === 200 ? (JSON.parse(request.responseText) as Ticket).url : null;
}

/** A link's ticket is renewed this often while the pointer or the focus is on it (a ticket is
 * good for 60 s: the one it holds never expires while it can be clicked or right-clicked). */
const RENEW_MS = 40_000;

/** The props of an <a download> to `url` that the browser itself can follow, by a click and by
 * its menu's "Save link as": while the pointer or the focus is on the link, its href carries a
 * ticket minted then (and renewed before it expires); elsewhere it is the address alone, which
 * the server refuses. A context menu opened before that ticket came (a right-click the moment
 * the pointer reached the link) waits for one, so the menu's link is never the bare address. A
 * click on a link with no fresh ticket (a touch, a key) downloads under a new one; ``failed``
 * hears what went wrong then. */
export function useTicketedLink(url: string, failed: (error: unknown) => void) {
  const [ticket, setTicket] = useState<{ url: string; href: string; until: number } | null>(null);
  const [near, setNear] = useState(false);
  useEffect(() => {
    if (!near) return;
    let open = true;
    const mint = () => {
      const until = Date.now() + RENEW_MS;
      ticketed(url).then(
        (href) => open && setTicket({ url, href, until }),
        () => undefined, // a click still downloads, saying why it cannot
      );
    };
    mint();
    const timer = setInterval(mint, RENEW_MS);
    return () => {
      open = false;
      clearInterval(timer);
    };
  }, [near, url]);
  const held = ticket?.url === url ? ticket : null;
  return {
    href: held?.href ?? url,
    download: true,
    onPointerEnter: () => setNear(true),
    onPointerLeave: () => setNear(false),
    onFocus: () => setNear(true),
    onBlur: () => setNear(false),
    onContextMenu: (event: MouseEvent<HTMLAnchorElement>) => {
      if (held && Date.now() < held.until) return; // the menu offers its ticketed href
      const until = Date.now() + RENEW_MS;
      const href = ticketedNow(url);
      if (!href) return;
      event.currentTarget.href = href; // now: the browser builds its menu once this returns
      setTicket({ url, href, until });
    },
    onClick: (event: MouseEvent) => {
      if (held && Date.now() < held.until) return; // the browser follows its ticketed href
      event.preventDefault();
      download(url).catch(failed);
    },
  };
}
