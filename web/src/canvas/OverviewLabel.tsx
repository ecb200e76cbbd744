// The name of the block under the pointer in the overview layer (its tag, id and state): blocks
// there are too small to carry their tags.
import { displayState, graphNode, useApp } from "../store/app";

export interface Hovered {
  id: string;
  /** Where the pointer is, in pixels from the canvas's top left corner. */
  x: number;
  y: number;
}

export function OverviewLabel({ hovered }: { hovered: Hovered }) {
  const text = useApp((s) => {
    const node = graphNode(s.graph, hovered.id);
    return node ? `${node.tag} (${node.id}) — ${displayState(s, node.id, node.state)}` : null;
  });
  if (!text) return null;
  return (
    <div className="overview-label" data-testid="overview-label" role="tooltip" style={{ left: hovered.x + 12, top: hovered.y + 12 }}>
      {text}
    </div>
  );
}
