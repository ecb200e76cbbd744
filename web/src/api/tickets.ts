// Addresses that a plain GET can load (<img>, <iframe>, a download): an <img> cannot send the
// page's credential header, and the credential must not go in an address, so the server is
// asked for a ticket to that one address (POST /api/tickets), good for GET only, for a minute.
import { useQuery } from "@tanstack/react-query";
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
