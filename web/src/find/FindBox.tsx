// Find a node (Ctrl+K or "/"): a search over the loaded graph's tags, ids and notes that jumps to
// the chosen node and selects it. It searches the store's graph, not the page: at scale React Flow
// draws only the cards on screen, so an off-screen node is not in the page until we centre on it.
import { useReactFlow, useStoreApi } from "@xyflow/react";
import { Search } from "lucide-react";
import { useMemo, useState, type KeyboardEvent } from "react";
import { NODE_HEIGHT, NODE_WIDTH } from "../canvas/layout";
import { openOverlay, useOverlay } from "../canvas/overlays";
import { graphNode, getApp, useApp } from "../store/app";
import { findNodes, type Found } from "./ranking";
import { isShortcut, shortcutOf } from "../canvas/shortcuts";

const JUMP_ZOOM = 1;

export function FindBox() {
  const open = useOverlay((s) => s.open === "find");
  return open ? <FindDialog /> : null;
}

function FindDialog() {
  const graph = useApp((s) => s.graph);
  const flow = useReactFlow();
  const rf = useStoreApi();
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const found = useMemo(() => findNodes(graph?.nodes ?? [], query), [graph, query]);
  const close = () => openOverlay(null);

  const jump = (choice: Found | undefined) => {
    const node = choice && graphNode(getApp().graph, choice.node.id);
    if (!node) return;
    close();
    const zoom = Math.max(flow.getZoom(), JUMP_ZOOM);
    // Selected in React Flow's own store (every node is there, drawn or not), not through the
    // app's selectRequest, whose "keep it in sight" pan would cut this jump short.
    rf.getState().addSelectedNodes([node.id]);
    void flow.setCenter(node.x + NODE_WIDTH / 2, node.y + NODE_HEIGHT / 2, { zoom, duration: 300 });
  };

  const onKey = (event: KeyboardEvent) => {
    const shortcut = isShortcut(event, "cancel") ? "cancel" : shortcutOf(event, "find");
    if (shortcut === "cancel") close();
    else if (shortcut === "findJump") jump(found[active]);
    else if (shortcut === "findNext") setActive((a) => Math.min(a + 1, found.length - 1));
    else if (shortcut === "findPrevious") setActive((a) => Math.max(a - 1, 0));
    else return;
    event.preventDefault();
  };

  const optionId = (index: number) => `find-option-${index}`;
  return (
    <div className="find-backdrop" onMouseDown={close}>
      <div
        className="find"
        role="dialog"
        aria-label="Find a node"
        data-testid="find"
        onMouseDown={(event) => event.stopPropagation()}
      >
        <label className="find-input">
          <Search size={15} aria-hidden />
          <input
            autoFocus
            role="combobox"
            aria-label="Find a node by tag, id or notes"
            aria-expanded={found.length > 0}
            aria-controls={found.length > 0 ? "find-results" : undefined}
            aria-activedescendant={found.length ? optionId(active) : undefined}
            placeholder="Find a node by tag, id or notes"
            value={query}
            onChange={(event) => {
              setQuery(event.target.value);
              setActive(0);
            }}
            onKeyDown={onKey}
          />
        </label>
        {query.trim() && found.length === 0 && (
          <p className="find-none" role="status">
            No node matches “{query.trim()}”
          </p>
        )}
        {found.length > 0 && (
          <ul className="find-results" id="find-results" role="listbox" aria-label="Nodes found">
            {found.map((item, index) => (
              <li
                key={item.node.id}
                id={optionId(index)}
                role="option"
                aria-selected={index === active}
                className={index === active ? "find-option active" : "find-option"}
                data-testid="find-option"
                data-tag={item.node.tag}
                onMouseEnter={() => setActive(index)}
                onClick={() => jump(item)}
              >
                <b>{item.node.tag}</b>
                <span className="find-id">{item.node.id}</span>
                {item.field === "notes" && <span className="find-notes">{item.node.notes}</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
