// Why a node's files cannot be edited from this pipeline, with the menu item that lifts it: the
// one sentence every tab that refuses edits (Parameters, Code) shows beside its disabled editor.
import { menuItemFor } from "../api/hints";
import type { CanvasNode, Pipeline } from "../api/types";

/** Empty when the node can be edited in ``pipeline`` (the open one: a locked pipeline refuses
 * every edit of its nodes, so its lock is named first). */
export function readOnlyReason(node: Pick<CanvasNode, "locked" | "reference">, pipeline?: Pick<Pipeline, "locked" | "tag">): string {
  if (pipeline?.locked) {
    return `This pipeline is locked (read-only); ${menuItemFor({ action: "pipeline.unlock", params: { pipeline: pipeline.tag } })}`;
  }
  if (node.locked) return `This node is locked (read-only); ${menuItemFor({ action: "node.unlock", params: {} })}`;
  if (node.reference) {
    return `This node is a reference here (read-only); ${menuItemFor({ action: "node.detach", params: {} })}`;
  }
  return "";
}
