// Addresses that a plain GET can load (<img>, <iframe>, a download link): an <img> cannot send
// the page's credential header, and the credential must not go in an address, so the server is
// asked for a ticket to that one address (POST /api/tickets), good for GET only, for a minute.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type MouseEvent } from "react";
import { api, call } from "./client";

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

/** A link's ticket is renewed this often while the pointer or the focus is on it (a ticket is
 * good for 60 s: the one it holds never expires while it can be clicked or right-clicked). */
const RENEW_MS = 40_000;

/** The props of an <a download> to `url` that the browser itself can follow, by a click and by
 * its menu's "Save link as": while the pointer or the focus is on the link, its href carries a
 * ticket minted then (and renewed before it expires); elsewhere it is the address alone, which
 * the server refuses. A click on a link with no fresh ticket (a touch, a key) downloads under a
 * new one; ``failed`` hears what went wrong then. */
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
    onClick: (event: MouseEvent) => {
      if (held && Date.now() < held.until) return; // the browser follows its ticketed href
      event.preventDefault();
      download(url).catch(failed);
    },
  };
}
