// Which nodes a search finds, best first: over tags, ids and notes, exact before prefix before
// substring before fuzzy (the letters in order). Pure, so it runs on every key press at 10,000 nodes.
import type { CanvasNode } from "../api/types";

export type Field = "tag" | "id" | "notes";

export interface Found {
  node: CanvasNode;
  score: number;
  /** Where the query matched (the result list says it for ids and notes). */
  field: Field;
}

/** Letters of `query` in order in `text`: a score that prefers them close together, or 0. */
export function fuzzy(text: string, query: string): number {
  let at = -1;
  let gaps = 0;
  for (const letter of query) {
    const next = text.indexOf(letter, at + 1);
    if (next < 0) return 0;
    if (at >= 0) gaps += next - at - 1;
    at = next;
  }
  return Math.max(1, 30 - gaps);
}

function scored(node: CanvasNode, query: string): Found | null {
  const tag = node.tag.toLowerCase();
  const id = node.id.toLowerCase();
  if (tag === query) return { node, score: 100, field: "tag" };
  if (id === query) return { node, score: 95, field: "id" };
  if (tag.startsWith(query)) return { node, score: 80, field: "tag" };
  if (id.startsWith(query)) return { node, score: 70, field: "id" };
  if (tag.includes(query)) return { node, score: 60, field: "tag" };
  if (node.notes.toLowerCase().includes(query)) return { node, score: 45, field: "notes" };
  const loose = fuzzy(tag, query);
  return loose ? { node, score: loose, field: "tag" } : null;
}

/** The nodes matching `query`, best first (then shorter tags, then by tag), at most `limit`. */
export function findNodes(nodes: CanvasNode[], query: string, limit = 50): Found[] {
  const wanted = query.trim().toLowerCase();
  if (!wanted) return [];
  const found: Found[] = [];
  for (const node of nodes) {
    const match = scored(node, wanted);
    if (match) found.push(match);
  }
  found.sort(
    (a, b) =>
      b.score - a.score || a.node.tag.length - b.node.tag.length || a.node.tag.localeCompare(b.node.tag),
  );
  return found.slice(0, limit);
}
