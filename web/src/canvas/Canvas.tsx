// The pipeline canvas: React Flow with our nodes, live states, menus and keyboard shortcuts.
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  Panel,
  ReactFlow,
  applyNodeChanges,
  useReactFlow,
  useStore,
  useStoreApi,
  type Connection,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  type NodeChange,
  type OnConnectStart,
  type OnNodeDrag,
  type OnSelectionChangeParams,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useState, type MouseEvent } from "react";
import { layoutPipeline, savePositions } from "../actions/groups";
import { connect, deleteNodes, disconnect } from "../actions/nodes";
import { Legend } from "../states";
import { errorToast } from "../actions/errorToast";
import { flash, getApp, openPanel, setApp, useApp } from "../store/app";
import { openedIncludes } from "../store/opened";
import { MiniMapNode } from "./MiniMapNode";
import { reveal } from "./placement";
import { ContextMenu, type MenuState } from "./ContextMenu";
import { ConnectionLine, draggedRefusal } from "./ConnectionLine";
import { startDrag } from "./connecting";
import { CollapsedGroup, GroupFrame } from "./GroupCards";
import { GROUP_PREFIX, flowEdges, groupNodes, stepNodes, type FlowNode, type StepNode } from "./flow";
import { edgeMenu, groupMenu, nodeMenu, paneMenu } from "./menus";
import { DETAIL_ZOOM, ZoomScale } from "./detail";
import { OVERVIEW_NODES, OverviewLayer, nodeAt, sceneOf } from "./overview";
import { OverviewLabel, type Hovered } from "./OverviewLabel";
import { StepCard } from "./StepCard";
import { Toolbar } from "./Toolbar";
import { gestureKeys, useShortcuts } from "./shortcuts";
import { copyNodes, pasteNodes } from "../clipboard/clipboard";
import { FindBox } from "../find/FindBox";
import { redo, undo } from "../undo/history";
import { openOverlay } from "./overlays";
import { ShortcutSheet } from "./ShortcutSheet";
import { useNodeKeys } from "../a11y/nodeKeys";

const nodeTypes = { step: StepCard, groupFrame: GroupFrame, groupCollapsed: CollapsedGroup };
const LARGE_GRAPH = 200;
// Zoomed out, a large graph's blocks are all drawn (cheap, and mostly on screen); a huge one's
// are too many to paint on each pan frame (10,000 blocks: 2 fps): only those in view are.
const HUGE_GRAPH = 2000;
// Props handed to React Flow are constants or memoised: a new object or function on each render
// makes React Flow re-render every node and edge (at 1,000 nodes, on every live update).
const PRO_OPTIONS = { hideAttribution: true };
const EDGE_OPTIONS = { labelBgPadding: [4, 2] as [number, number], labelBgBorderRadius: 4 };
const MULTI_SELECT_KEYS = gestureKeys("addToSelection");
const BOX_SELECT_KEYS = gestureKeys("boxSelect");
// Hidden nodes (the overview layer draws them) still count when fitting the view.
const FIT_OPTIONS = { padding: 0.2, maxZoom: 1.2, includeHiddenNodes: true };
const NO_EDGES: Edge[] = [];
const hiddenCopies = new WeakMap<FlowNode, FlowNode>();
/** ``node`` kept in React Flow (selectable, findable) but not drawn: one copy per node object. */
function hidden(node: FlowNode): FlowNode {
  let copy = hiddenCopies.get(node);
  if (!copy) {
    copy = { ...node, hidden: true };
    hiddenCopies.set(node, copy);
  }
  return copy;
}
const onNodeClick = (_: MouseEvent, node: FlowNode): void => {
  if (node.type === "step") openPanel(node.id);
};
const onNodeDoubleClick = (_: MouseEvent, node: FlowNode): void => {
  if (node.type === "step") openPanel(node.id, "overview");
};
// A connection is checked against the page's edges while it is dragged (connecting.ts): what
// it cannot connect to is worked out once as the drag starts; a handle it would be refused at
// shows it, and a drop there sends nothing but says why.
const onConnectStart: OnConnectStart = (_, { nodeId, handleType }) => {
  const { graph } = getApp();
  if (graph && nodeId && handleType) startDrag(graph, nodeId, handleType);
};
const onConnectEnd = (_: globalThis.MouseEvent | TouchEvent, state: FinalConnectionState): void => {
  if (state.isValid !== false) return;
  const refused = draggedRefusal(state.fromHandle, state.toHandle);
  if (!refused) return;
  if (refused.cycle) flash(refused.cycle);
  errorToast({ message: refused.message, hint: refused.hint, uv_output: null }, { id: "connect", duration: 8000 });
};

export function Canvas() {
  const graph = useApp((s) => s.graph);
  const highlight = useApp((s) => s.highlight);
  const selectRequest = useApp((s) => s.selectRequest);
  const rf = useStoreApi<FlowNode, Edge>();
  const theme = useApp((s) => s.theme);
  const layoutRequest = useApp((s) => s.layoutRequest);
  const flow = useReactFlow<FlowNode, Edge>();
  const [steps, setSteps] = useState<StepNode[]>([]);
  const [selectedEdges, setSelectedEdges] = useState<Set<string>>(new Set());
  const [menu, setMenu] = useState<MenuState | null>(null);
  const closeMenu = useCallback(() => setMenu(null), []);

  useEffect(() => {
    if (!graph) {
      setSteps([]);
      return;
    }
    const highlighted = new Set(highlight);
    setSteps((previous) => {
      const next = stepNodes(graph, highlighted, new Map(previous.map((n) => [n.id, n])));
      const same = next.length === previous.length && next.every((n, i) => n === previous[i]);
      return same ? previous : next;
    });
  }, [graph, highlight]);

  useEffect(() => {
    // Selection asked for by an action, applied once its nodes are on the canvas.
    if (!selectRequest || !selectRequest.every((id) => steps.some((n) => n.id === id))) return;
    rf.getState().addSelectedNodes(selectRequest);
    reveal(flow, rf.getState(), selectRequest);
    setApp({ selectRequest: null });
  }, [selectRequest, steps, rf, flow]);

  const panelNodeId = useApp((s) => s.panelNodeId);
  const paneWidth = useStore((s) => s.width);
  useEffect(() => {
    // The side panel narrows the canvas: the node it shows stays in sight beside it.
    if (panelNodeId) reveal(flow, rf.getState(), [panelNodeId]);
  }, [panelNodeId, paneWidth, flow, rf]);

  const groups = useMemo(() => {
    if (!graph) return [];
    return groupNodes(graph, steps);
  }, [graph, steps]);
  const detailed = useStore((s) => s.transform[2] >= DETAIL_ZOOM);
  // A huge pipeline zoomed out is painted by the overview layer; React Flow draws none of it.
  // So is one just opened, until it is zoomed to fit: no cards (nor 10,000 minimap nodes)
  // made at the opening zoom only to be thrown away a frame later.
  const [fitted, setFitted] = useState<string | null>(null);
  const overview = steps.length > OVERVIEW_NODES && (!detailed || fitted !== graph?.pipeline.id);
  const nodes = useMemo<FlowNode[]>(() => {
    const all = [...groups, ...steps];
    return overview ? all.map(hidden) : all;
  }, [groups, steps, overview]);
  const allEdges = useMemo(
    () => (graph ? flowEdges(graph, selectedEdges, detailed) : []),
    [graph, selectedEdges, detailed],
  );
  const edges = overview ? NO_EDGES : allEdges;
  const scene = useMemo(
    () => (overview ? sceneOf([...groups, ...steps], allEdges) : null),
    [overview, groups, steps, allEdges],
  );
  const [hovered, setHovered] = useState<Hovered | null>(null);
  const blockAt = useCallback(
    (event: MouseEvent | globalThis.MouseEvent): string | null => {
      if (!scene) return null;
      const point = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      return nodeAt(scene, point.x, point.y, flow.getZoom());
    },
    [scene, flow],
  );
  const onPaneClick = useCallback(
    (event: MouseEvent) => {
      setMenu(null);
      const id = blockAt(event);
      if (!id || id.startsWith(GROUP_PREFIX)) return;
      rf.getState().addSelectedNodes([id]);
      openPanel(id);
    },
    [blockAt, rf],
  );
  const onPaneMouseMove = useCallback(
    (event: MouseEvent) => {
      const id = blockAt(event);
      const bounds = rf.getState().domNode?.getBoundingClientRect();
      setHovered((before) => {
        if (!id || !bounds) return null;
        if (before?.id === id) return before;
        return { id, x: event.clientX - bounds.left, y: event.clientY - bounds.top };
      });
    },
    [blockAt, rf],
  );

  const pipelineId = graph?.pipeline.id;
  useEffect(() => {
    // A pipeline built elsewhere (CLI, Python) has its nodes in one column: lay it out once.
    const current = useApp.getState().graph;
    if (!current || current.edges.length === 0 || current.nodes.length < 2) return;
    if (new Set(current.nodes.map((n) => n.x)).size === 1) void layoutPipeline(true);
  }, [pipelineId]);

  useEffect(() => {
    if (!pipelineId) return;
    const frame = requestAnimationFrame(() => void flow.fitView(FIT_OPTIONS).then(() => setFitted(pipelineId)));
    return () => cancelAnimationFrame(frame);
  }, [pipelineId, layoutRequest, flow]);

  const onNodesChange = useCallback((changes: NodeChange<FlowNode>[]) => {
    const own = changes.filter((c) => !("id" in c) || !c.id.startsWith(GROUP_PREFIX));
    setSteps((current) => applyNodeChanges(own as NodeChange<StepNode>[], current));
  }, []);

  const onEdgesChange = useCallback((changes: EdgeChange<Edge>[]) => {
    setSelectedEdges((current) => {
      const next = new Set(current);
      for (const change of changes) {
        if (change.type === "select") {
          if (change.selected) next.add(change.id);
          else next.delete(change.id);
        }
      }
      return next;
    });
  }, []);

  const onSelectionChange = useCallback(({ nodes: chosen }: OnSelectionChangeParams) => {
    const ids = chosen.filter((n) => n.type === "step").map((n) => n.id);
    const current = new Set(useApp.getState().selection);
    if (ids.length !== current.size || ids.some((id) => !current.has(id))) {
      setApp({ selection: ids });
    }
  }, []);

  const isValidConnection = useCallback(
    (connection: Edge | Connection): boolean => {
      const { connection: dragged, connectionClickStartHandle } = rf.getState();
      const from = dragged.fromHandle ?? connectionClickStartHandle;
      if (!from) return true;
      const to = from.type === "source" ? { nodeId: connection.target, type: "target" as const } : { nodeId: connection.source, type: "source" as const };
      return draggedRefusal(from, to) === null;
    },
    [rf],
  );

  const onConnect = useCallback((connection: Connection) => {
    if (connection.source.startsWith(GROUP_PREFIX) || connection.target.startsWith(GROUP_PREFIX)) return;
    void connect(connection.source, connection.target);
  }, []);

  const onNodeDragStop = useCallback<OnNodeDrag<FlowNode>>((_, __, dragged) => {
    const positions: Record<string, { x: number; y: number }> = {};
    for (const node of dragged) {
      if (node.type === "step") positions[node.id] = { x: Math.round(node.position.x), y: Math.round(node.position.y) };
    }
    if (Object.keys(positions).length) void savePositions(positions);
  }, []);

  const openNodeMenu = useCallback(
    (event: MouseEvent, node: FlowNode) => {
      event.preventDefault();
      if (!graph) return;
      if (node.type !== "step") {
        const group = graph.groups.find((g) => GROUP_PREFIX + g.id === node.id);
        if (!group) return;
        // Whether it is an include (Update include): asked once, when the pipeline was opened
        // just now and its includes are still on their way.
        const at = { x: event.clientX, y: event.clientY };
        void openedIncludes().then((names) => setMenu({ ...at, title: group.name, entries: groupMenu(group, names.includes(group.name)) }));
        return;
      }
      let ids = useApp.getState().selection;
      if (!ids.includes(node.id)) {
        ids = [node.id];
        rf.getState().addSelectedNodes(ids);
      }
      const chosen = graph.nodes.filter((n) => ids.includes(n.id));
      const title = chosen.length === 1 ? (chosen[0]?.tag ?? "") : `${chosen.length} nodes`;
      setMenu({ x: event.clientX, y: event.clientY, title, entries: nodeMenu(chosen, graph.groups.length > 0) });
    },
    [graph, rf],
  );

  const openSelectionMenu = useCallback(
    (event: MouseEvent, chosenNodes: FlowNode[]) => {
      event.preventDefault();
      if (!graph) return;
      const ids = chosenNodes.filter((n) => n.type === "step").map((n) => n.id);
      const chosen = graph.nodes.filter((n) => ids.includes(n.id));
      setMenu({
        x: event.clientX,
        y: event.clientY,
        title: `${chosen.length} nodes`,
        entries: nodeMenu(chosen, graph.groups.length > 0),
      });
    },
    [graph],
  );

  const openPaneMenu = useCallback(
    (event: MouseEvent | globalThis.MouseEvent) => {
      event.preventDefault();
      if (!graph) return;
      const id = blockAt(event);
      const block = id ? flow.getNode(id) : undefined;
      if (block) {
        openNodeMenu(event as MouseEvent, block);
        return;
      }
      const position = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      const all = graph.nodes.map((n) => n.id);
      setMenu({ x: event.clientX, y: event.clientY, entries: paneMenu(position, all) });
    },
    [flow, graph, blockAt, openNodeMenu],
  );

  const openEdgeMenu = useCallback((event: MouseEvent, edge: Edge) => {
    event.preventDefault();
    const data = edge.data as { parent: string; child: string; slot: string } | undefined;
    if (data) setMenu({ x: event.clientX, y: event.clientY, title: `input ${data.slot}`, entries: edgeMenu(data.parent, data.child) });
  }, []);

  useNodeKeys(openPanel);

  useShortcuts({
    deleteSelection: () => {
      const chosenEdges = edges.filter((e) => selectedEdges.has(e.id));
      if (chosenEdges.length) {
        for (const edge of chosenEdges) {
          const data = edge.data as { parent: string; child: string };
          void disconnect(data.parent, data.child);
        }
        setSelectedEdges(new Set());
        return;
      }
      void deleteNodes(useApp.getState().selection);
    },
    selectAll: () => rf.getState().addSelectedNodes(steps.map((n) => n.id)),
    escape: () => {
      // the card that had the focus keeps it: unselected, it is drawn anew, which dropped it
      const had = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      setMenu(null);
      rf.getState().unselectNodesAndEdges();
      openPanel(null);
      window.setTimeout(() => {
        const now = document.activeElement;
        if (had?.isConnected && had !== document.body && (!now || now === document.body)) had.focus({ preventScroll: true });
      }, 0);
    },
    find: () => openOverlay("find"),
    help: () => openOverlay("shortcuts"),
    undo: () => void undo(),
    redo: () => void redo(),
    copy: () => copyNodes(useApp.getState().selection),
    paste: () => void pasteNodes(),
  });

  if (!graph) {
    return (
      <div className="canvas-empty" data-testid="canvas-empty">
        Create or open a pipeline from the sidebar.
      </div>
    );
  }
  return (
    <div className="canvas" data-testid="canvas">
      <ReactFlow<FlowNode, Edge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onSelectionChange={onSelectionChange}
        onConnect={onConnect}
        onConnectStart={onConnectStart}
        onClickConnectStart={onConnectStart}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        connectionLineComponent={ConnectionLine}
        onNodeDragStop={onNodeDragStop}
        onNodeClick={onNodeClick}
        onNodeDoubleClick={onNodeDoubleClick}
        onNodeContextMenu={openNodeMenu}
        onSelectionContextMenu={openSelectionMenu}
        onPaneContextMenu={openPaneMenu}
        onEdgeContextMenu={openEdgeMenu}
        onPaneClick={onPaneClick}
        onPaneMouseMove={scene ? onPaneMouseMove : undefined}
        onPaneMouseLeave={scene ? () => setHovered(null) : undefined}
        colorMode={theme}
        deleteKeyCode={null}
        selectionKeyCode={BOX_SELECT_KEYS}
        multiSelectionKeyCode={MULTI_SELECT_KEYS}
        selectNodesOnDrag={false}
        onlyRenderVisibleElements={nodes.length > HUGE_GRAPH || (nodes.length > LARGE_GRAPH && detailed)}
        minZoom={0.05}
        maxZoom={2.5}
        proOptions={PRO_OPTIONS}
        defaultEdgeOptions={EDGE_OPTIONS}
      >
        {detailed && <Background variant={BackgroundVariant.Dots} gap={20} size={1} />}
        <ZoomScale />
        {scene && <OverviewLayer scene={scene} />}
        {scene && hovered && <OverviewLabel hovered={hovered} />}
        <Controls showInteractive={false} fitViewOptions={FIT_OPTIONS} />
        {!overview && <MiniMap pannable zoomable nodeComponent={MiniMapNode} />}
        <Panel position="top-left">
          <Toolbar />
        </Panel>
        <Panel position="bottom-center">
          <Legend />
        </Panel>
      </ReactFlow>
      {graph.nodes.length === 0 && (
        <div className="empty-hint" data-testid="empty-hint" role="note">
          <b>This pipeline is empty.</b>
          <span>
            Add a node with <b>+ Node</b> in the toolbar, or right-click the canvas → <b>New node here…</b>
          </span>
        </div>
      )}
      {menu && <ContextMenu menu={menu} onClose={closeMenu} />}
      <FindBox />
      <ShortcutSheet />
    </div>
  );
}
