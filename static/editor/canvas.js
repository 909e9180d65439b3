// The canvas: one flow drawn with AntV X6. Nodes are HTML boxes listing their cards in
// order; each transition-bearing card has an output port lined up with its row, and the
// node's default exit (`next`) is the port on its footer. Dragging from a port to a node
// makes a transition. The graph is redrawn from the store; X6 never holds state of its own
// that the store does not have.

import { CARDLESS_KINDS, NO_NEXT_KINDS, UNTARGETABLE_KINDS, clone, deleteNodes, setTransition, triggerSummary } from './store.js';
import { cardSummary, cardTitle, escapeHtml, icon } from './cards.js';

const { Graph, Shape, NodeView } = window.X6;

export const GEOMETRY = { width: 240, head: 36, row: 34, pad: 6, foot: 28, varRow: 22, grid: 20 };
// Flows up to this size are drawn in one go; bigger ones draw what is in view first.
const EAGER_NODES = 60;
const FILL_BATCH = 40;
const G = GEOMETRY;
// Transitions leave their port rightwards and enter their target from the left, whatever
// lies where. X6's smooth curve turns vertical when the target is more below than beside,
// and then runs along the node's border; with horizontal tangents it bends back through the
// source node when the target is to its left. This curve keeps its tangents outward, at
// least REACH px long, so a transition back to an earlier node loops around both ends.
const REACH = 60;
Graph.registerConnector('fs-curve', (source, target, route, options = {}) => {
  const { Path } = window.X6;
  const reach = Math.max(REACH, Math.min(240, Math.abs(target.x - source.x) / 2));
  const path = new Path();
  path.appendSegment(Path.createSegment('M', source));
  path.appendSegment(Path.createSegment('C', source.x + reach, source.y, target.x - reach, target.y, target.x, target.y));
  return options.raw ? path : path.serialize();
}, true);
const SMOOTH = { name: 'fs-curve' };

const KIND_LABEL = {
  start: 'Start', entry: 'Entry', exit: 'Exit', end: 'End', standard: 'Node', autonomous: 'Autonomous', trigger: 'Trigger',
};

/** The geometry of a node: its height, and the y of each port. */
export function nodeGeometry(store, node, flowName) {
  const kind = node.kind;
  const rows = [];
  let height = G.head;
  if (kind === 'entry' || kind === 'exit') {
    const flow = store.flow(flowName);
    const vars = ((flow && flow.variables) || []).filter((v) => (kind === 'entry' ? v.input : v.output));
    if (vars.length) height += G.pad * 2 + vars.length * G.varRow;
  } else if (!CARDLESS_KINDS.includes(kind)) {
    const cards = store.cards(node);
    height += G.pad;
    cards.forEach((card, i) => {
      const y = height + i * G.row + G.row / 2;
      for (const field of store.transitionsOf(card)) rows.push({ id: `${card.id}:${field}`, y, card: card.id, field });
    });
    height += Math.max(1, cards.length) * G.row + G.pad;
  }
  const hasNext = !NO_NEXT_KINDS.includes(kind);
  if (hasNext) height += G.foot;
  if (kind === 'end') height = G.head;
  return { height, ports: rows, nextY: hasNext ? height - G.foot / 2 : null, hasIn: !UNTARGETABLE_KINDS.includes(kind) };
}

function portItems(geometry) {
  const items = [];
  if (geometry.hasIn) items.push({ id: 'in', group: 'in', args: { x: 0, y: G.head / 2 } });
  for (const port of geometry.ports) {
    items.push({ id: port.id, group: port.field === 'onFailure' ? 'fail' : 'out', args: { x: G.width, y: port.y } });
  }
  if (geometry.nextY !== null) items.push({ id: 'next', group: 'next', args: { x: G.width, y: geometry.nextY } });
  return items;
}

const portCircle = (color) => ({
  position: 'absolute',
  attrs: {
    circle: { r: 6, magnet: true, stroke: color, strokeWidth: 2, fill: 'var(--fs-surface, #fff)', class: 'fs-port' },
  },
});

Shape.HTML.register({
  shape: 'fs-node',
  width: G.width,
  height: 100,
  effect: ['data'],
  html(cell) {
    return renderNodeHtml(cell.getData() || {});
  },
  ports: {
    groups: {
      in: { position: 'absolute', attrs: { circle: { r: 5, magnet: 'passive', stroke: '#94a3b8', strokeWidth: 1.5, fill: 'var(--fs-surface, #fff)', class: 'fs-port fs-port-in' } } },
      out: portCircle('#6366f1'),
      fail: portCircle('#dc2626'),
      next: portCircle('#0ea5e9'),
    },
  },
});

function renderNodeHtml(vm) {
  const el = document.createElement('div');
  const classes = ['fs-node', `kind-${vm.kind}`];
  if (vm.selected) classes.push('selected');
  if (vm.error) classes.push('has-error');
  if (vm.hit) classes.push('find-hit');
  el.className = classes.join(' ');
  el.dataset.node = vm.id;
  let html = `<div class="fs-node-head" title="${escapeHtml(vm.id)}">${icon(vm.kind)}<span class="fs-node-title">${escapeHtml(vm.title)}</span>`;
  if (vm.error) html += '<span class="fs-badge fs-badge-error" title="This node has problems">!</span>';
  html += '</div>';
  if (vm.vars) {
    if (vm.vars.length) {
      html += '<div class="fs-node-vars">';
      for (const v of vm.vars) html += `<div class="fs-node-var">${escapeHtml(v.label)} <span>${escapeHtml(v.type)}</span></div>`;
      html += '</div>';
    }
  } else if (vm.cards) {
    html += '<div class="fs-cards">';
    if (!vm.cards.length) html += `<div class="fs-card-empty">${vm.kind === 'autonomous' ? 'Drop cards here: they are its tools' : 'Drop cards here'}</div>`;
    for (const card of vm.cards) {
      const cls = ['fs-card', `type-${card.type}`];
      if (card.selected) cls.push('selected');
      if (card.error) cls.push('has-error');
      if (card.hit) cls.push('find-hit');
      html += `<div class="${cls.join(' ')}" data-card="${escapeHtml(card.id)}" data-node="${escapeHtml(vm.id)}">`
        + `${icon(card.type)}<span class="fs-card-title">${escapeHtml(card.title)}</span>`
        + `<span class="fs-card-summary">${escapeHtml(card.summary)}</span>`
        + (card.port ? `<span class="fs-card-port-label">${escapeHtml(card.port)}</span>` : '')
        + '</div>';
    }
    html += '</div>';
  }
  if (vm.hasNext) html += '<div class="fs-node-foot"><span>then</span></div>';
  el.innerHTML = html;
  return el;
}

// A plain rectangle per node in the minimap: HTML boxes there would cost as much as the canvas.
class MinimapNodeView extends NodeView {
  renderMarkup() {
    return this.renderJSONMarkup({ tagName: 'rect', selector: 'body' });
  }

  update() {
    super.update({ body: { refWidth: '100%', refHeight: '100%', fill: '#818cf8', rx: 4 } });
  }
}

/**
 * X6's minimap draws the visible area wherever it falls, even outside the minimap when the
 * view is panned past the flow or zoomed out beyond it: the frame clipped it into stray
 * lines. This one keeps the rectangle inside the frame (at least a sliver on the edge
 * towards where the view is); its geometry for dragging stays X6's own.
 */
function framedMinimap(MiniMap) {
  return class FramedMiniMap extends MiniMap {
    updateViewport() {
      super.updateViewport();
      const g = this.geometry;
      const frame = this.container;
      const width = frame.clientWidth;
      const height = frame.clientHeight;
      if (!g || !width || !height) return;
      const sliver = 6;
      const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
      const left = clamp(g.left, 0, width - sliver);
      const top = clamp(g.top, 0, height - sliver);
      const right = clamp(g.left + g.width, left + sliver, width);
      const bottom = clamp(g.top + g.height, top + sliver, height);
      Object.assign(this.viewport.style, { left: `${left}px`, top: `${top}px`, width: `${right - left}px`, height: `${bottom - top}px` });
    }
  };
}

export class Canvas extends EventTarget {
  constructor(store, { container, minimap, prefs, fitPadding = null }) {
    super();
    this.fitPadding = fitPadding; // what Fit leaves free around the flow (layout.js)
    this.store = store;
    this.container = container;
    this.prefs = prefs;
    this.syncing = 0;
    this.viewModels = new Map();
    this.pendingMoves = new Map();
    this.problemIndex = { nodes: new Set(), cards: new Set() };
    this.hits = { nodes: new Set(), cards: new Set() };
    this.viewports = new Map();
    this.graph = this.createGraph(container, minimap);
    this.bindGraphEvents();
    this.bindCardPointer();
    store.addEventListener('change', (e) => this.onStoreChange(e.detail));
    store.addEventListener('select', () => this.syncSelection());
  }

  createGraph(container, minimapEl) {
    const snap = this.prefs.get('snapToGrid');
    const graph = new Graph({
      container,
      autoResize: true,
      // Draw synchronously (X6's idle-time scheduling spreads a big flow over seconds) and
      // only what is in view: a 300-node flow opens as fast as a 10-node one.
      async: false,
      virtual: true,
      grid: { size: snap ? G.grid : 1, visible: snap, type: 'dot', args: { color: 'var(--fs-grid, #cbd5e1)', thickness: 1 } },
      panning: { enabled: true, eventTypes: ['leftMouseDown', 'mouseWheel'] },
      mousewheel: { enabled: true, modifiers: ['ctrl', 'meta'], minScale: 0.2, maxScale: 2, factor: 1.1 },
      interacting: () => ({ nodeMovable: !this.store.readOnly, edgeMovable: false, edgeLabelMovable: false, magnetConnectable: !this.store.readOnly }),
      connecting: {
        snap: { radius: 24, anchor: 'bbox' },
        allowBlank: false,
        allowLoop: true,
        allowNode: true,
        allowEdge: false,
        allowPort: true,
        allowMulti: true,
        highlight: true,
        connector: SMOOTH,
        anchor: 'center',
        connectionPoint: 'boundary',
        createEdge: () => graph.createEdge({ shape: 'edge', attrs: { line: { stroke: '#6366f1', strokeWidth: 2, targetMarker: 'classic' } }, zIndex: 0 }),
        validateMagnet: ({ magnet }) => !this.store.readOnly && magnet.getAttribute('port-group') !== 'in',
        validateConnection: ({ targetCell, targetPort }) => {
          if (!targetCell || !targetCell.isNode()) return false;
          const node = this.store.node(targetCell.id);
          if (!node || UNTARGETABLE_KINDS.includes(node.kind)) return false;
          return !targetPort || targetPort === 'in';
        },
      },
      highlighting: {
        magnetAvailable: { name: 'stroke', args: { padding: 2, attrs: { stroke: '#22c55e', 'stroke-width': 2 } } },
        magnetAdsorbed: { name: 'stroke', args: { padding: 3, attrs: { stroke: '#16a34a', 'stroke-width': 3 } } },
      },
    });
    const { Selection } = window.X6PluginSelection;
    graph.use(new Selection({
      enabled: true, multiple: true, rubberband: true, movable: true, showNodeSelectionBox: false,
      modifiers: ['shift'], multipleSelectionModifiers: ['ctrl', 'meta'], pointerEvents: 'none',
      filter: (cell) => cell.isNode(), // a transition is selected by the editor itself (edge:click)
    }));
    const { Snapline } = window.X6PluginSnapline;
    graph.use(new Snapline({ enabled: true, sharp: true }));
    const { MiniMap } = window.X6PluginMinimap;
    graph.use(this.minimap = new (framedMinimap(MiniMap))({
      container: minimapEl, width: 200, height: 130, padding: 8,
      graphOptions: { createCellView: (cell) => (cell.isEdge() ? null : MinimapNodeView) },
    }));
    return graph;
  }

  /**
   * Run `work` with the minimap deaf: it refits itself on every added or removed cell,
   * which makes drawing a big flow quadratic. It refits once afterwards instead.
   */
  quietMinimap(work) {
    const mm = this.minimap;
    const count = this.graph.getCellCount();
    this.graph.off('model:updated', mm.onModelUpdated, mm);
    try {
      work();
    } finally {
      this.graph.on('model:updated', mm.onModelUpdated, mm);
    }
    if (this.graph.getCellCount() !== count || this.minimapStale) {
      this.minimapStale = false;
      // Fit the nodes only: the bounding box of every edge is what makes zoomToFit slow.
      const nodes = this.graph.getNodes();
      if (nodes.length) {
        mm.targetGraph.zoomToRect(this.graph.getCellsBBox(nodes), { padding: 10 });
        mm.updateViewport();
      }
    }
  }

  setSnap(on) {
    this.graph.setGridSize(on ? G.grid : 1);
    if (on) this.graph.showGrid(); else this.graph.hideGrid();
  }

  // ---- drawing ---------------------------------------------------------------------------
  onStoreChange(detail) {
    if (detail.flowChanged) this.render({ fresh: true });
    else this.render();
  }

  setProblems(problems, { render = true } = {}) {
    this.problems = problems;
    if (render) this.render();
  }

  /** Nodes and cards of the open flow that have errors (drawn with a red outline). */
  indexProblems() {
    const nodes = new Set();
    const cards = new Set();
    for (const p of this.problems || []) {
      if (p.severity !== 'error' || p.location.flow !== this.store.flowName) continue;
      if (p.location.node) nodes.add(p.location.node);
      if (p.location.card) cards.add(p.location.card);
    }
    this.problemIndex = { nodes, cards };
  }

  setHits(hits) {
    this.hits = hits;
    this.render();
  }

  autoPositions() {
    // Nodes without a stored position: lay them out by distance from the start, left to right.
    const nodes = this.store.nodes();
    const missing = nodes.filter((n) => !this.store.position(n.id));
    if (!missing.length) return new Map();
    const depth = new Map();
    const queue = nodes.filter((n) => ['start', 'entry', 'trigger'].includes(n.kind)).map((n) => n.id);
    queue.forEach((id) => depth.set(id, 0));
    while (queue.length) {
      const node = this.store.node(queue.shift());
      const targets = [node.next, ...this.store.cards(node).flatMap((c) => this.store.transitionsOf(c).map((f) => c[f]))];
      for (const t of targets) if (t && !depth.has(t) && this.store.node(t)) { depth.set(t, depth.get(node.id) + 1); queue.push(t); }
    }
    const perColumn = new Map();
    const out = new Map();
    let maxY = 0;
    for (const n of nodes) { const p = this.store.position(n.id); if (p) maxY = Math.max(maxY, p[1]); }
    // A column stacks its nodes by their drawn height plus a gap, so tall nodes do not overlap
    // the next one (320 px columns: a node is 240 px wide, 80 px left for the transitions).
    const top = maxY ? maxY + 220 : 0;
    for (const node of missing) {
      const col = depth.has(node.id) ? depth.get(node.id) : 0;
      const y = perColumn.get(col) ?? top;
      perColumn.set(col, y + nodeGeometry(this.store, node, this.store.flowName).height + 60);
      out.set(node.id, [col * 320, y]);
    }
    return out;
  }

  viewModel(node, geometry) {
    const flowName = this.store.flowName;
    const sel = this.store.selection;
    const vm = {
      id: node.id, kind: node.kind, title: node.name || (node.kind === 'trigger' ? triggerSummary(node) : (['standard', 'autonomous'].includes(node.kind) ? node.id : KIND_LABEL[node.kind] || node.id)),
      selected: sel.nodes.includes(node.id), error: this.problemIndex.nodes.has(node.id), hit: this.hits.nodes.has(node.id),
      hasNext: geometry.nextY !== null, height: geometry.height, ports: portItems(geometry),
    };
    if (node.kind === 'entry' || node.kind === 'exit') {
      const flow = this.store.flow(flowName);
      vm.vars = ((flow && flow.variables) || []).filter((v) => (node.kind === 'entry' ? v.input : v.output))
        .map((v) => ({ label: v.name, type: v.type }));
    } else if (!CARDLESS_KINDS.includes(node.kind)) {
      vm.cards = this.store.cards(node).map((card) => {
        const transitions = this.store.transitionsOf(card);
        return {
          id: card.id, type: card.type, title: cardTitle(this.store, card), summary: cardSummary(this.store, card),
          selected: sel.card === card.id, error: this.problemIndex.cards.has(card.id), hit: this.hits.cards.has(card.id),
          port: transitions.includes('onFailure') ? 'failure' : (transitions.length ? 'if true' : ''),
        };
      });
    }
    return vm;
  }

  /**
   * Draw the open flow from the store. Nodes already drawn are updated in place (only
   * those whose view model changed), missing ones are added, stale ones removed.
   *
   * A big flow is drawn in two steps so it opens at once: first the nodes in view, then
   * the rest in small batches on the next frames (`this.drawable` says which nodes may be
   * drawn so far; null means all of them).
   */
  render({ fresh = false } = {}) {
    const graph = this.graph;
    const store = this.store;
    const flowName = store.flowName;
    if (!store.flow(flowName)) { graph.clearCells(); return; }
    this.syncing += 1;
    try {
      this.indexProblems();
      const auto = this.autoPositions();
      this.autoPlaced = auto;
      const nodes = store.nodes();
      if (fresh) this.planDrawing(flowName, nodes, auto);
      const drawn = this.drawable ? nodes.filter((n) => this.drawable.has(n.id)) : nodes;
      const wanted = new Set(nodes.map((n) => n.id));
      this.quietMinimap(() => graph.batchUpdate(() => {
        if (fresh) {
          graph.clearCells();
          this.viewModels.clear();
          this.minimapStale = true;
        }
        for (const cell of graph.getNodes()) {
          if (!wanted.has(cell.id)) { graph.removeCell(cell); this.viewModels.delete(cell.id); }
        }
        const toAdd = [];
        for (const node of drawn) {
          const geometry = nodeGeometry(store, node, flowName);
          const vm = this.viewModel(node, geometry);
          const key = JSON.stringify(vm);
          const position = store.position(node.id) || auto.get(node.id) || [0, 0];
          const cell = graph.getCellById(node.id);
          if (!cell) {
            toAdd.push({
              id: node.id, shape: 'fs-node', x: position[0], y: position[1], width: G.width, height: geometry.height,
              data: vm, ports: { items: vm.ports },
            });
          } else {
            const current = cell.getPosition();
            if (current.x !== position[0] || current.y !== position[1]) cell.setPosition(position[0], position[1]);
            if (this.viewModels.get(node.id) !== key) {
              const size = cell.getSize();
              if (size.height !== geometry.height) cell.resize(G.width, geometry.height);
              const portsKey = JSON.stringify(vm.ports);
              if (JSON.stringify(cell.getPorts()) !== portsKey) {
                cell.removePorts();
                cell.addPorts(vm.ports);
              }
              cell.setData(vm, { overwrite: true });
            }
          }
          this.viewModels.set(node.id, key);
        }
        if (toAdd.length) graph.addNodes(toAdd);
        this.renderEdges(drawn);
      }));
      this.syncSelection();
    } finally {
      this.syncing -= 1;
    }
    this.dispatchEvent(new CustomEvent('rendered'));
  }

  /** On opening a flow: set its viewport, and if it is big, draw what is in view first. */
  planDrawing(flowName, nodes, auto) {
    const reopened = this.shownFlow === flowName; // a reload of the open flow keeps the view
    if (this.shownFlow && !reopened) this.viewports.set(this.shownFlow, this.graph.matrix());
    this.shownFlow = flowName;
    clearTimeout(this.fillTimer);
    const saved = this.viewports.get(flowName);
    if (reopened) { /* keep it */ } else if (saved) this.graph.matrix(saved);
    else {
      // Open at 100 % with the start (or entry) node near the top left, as Botpress does.
      const first = nodes.find((n) => ['start', 'entry'].includes(n.kind)) || nodes[0];
      const p = first ? (this.store.position(first.id, flowName) || auto.get(first.id) || [0, 0]) : [0, 0];
      this.graph.zoomTo(1);
      this.graph.translate(60 - p[0], 80 - p[1]);
    }
    if (nodes.length <= EAGER_NODES) { this.drawable = null; return; }
    const view = this.graph.getGraphArea().inflate(G.width, G.width);
    const near = nodes.filter((n) => {
      const p = this.store.position(n.id, flowName) || auto.get(n.id) || [0, 0];
      return view.isIntersectWithRect({ x: p[0], y: p[1], width: G.width, height: 200 });
    });
    this.drawable = new Set(near.map((n) => n.id));
    const rest = nodes.filter((n) => !this.drawable.has(n.id)).map((n) => n.id);
    const fill = () => {
      if (!this.drawable || this.store.flowName !== flowName) return;
      for (const id of rest.splice(0, FILL_BATCH)) this.drawable.add(id);
      if (!rest.length) this.drawable = null;
      this.render();
      if (rest.length) this.fillTimer = setTimeout(fill, 16);
    };
    this.fillTimer = setTimeout(fill, 16);
  }

  /** Draw every node now (before centring on one that may not be drawn yet). */
  drawAll() {
    if (!this.drawable) return;
    clearTimeout(this.fillTimer);
    this.drawable = null;
    this.render();
  }

  renderEdges(nodes) {
    const graph = this.graph;
    const wanted = new Map();
    for (const node of nodes) {
      const edges = [];
      if (node.next && !NO_NEXT_KINDS.includes(node.kind)) edges.push({ port: 'next', target: node.next, color: '#0ea5e9' });
      if (!CARDLESS_KINDS.includes(node.kind)) {
        for (const card of this.store.cards(node)) {
          for (const field of this.store.transitionsOf(card)) {
            if (card[field]) edges.push({ port: `${card.id}:${field}`, target: card[field], color: field === 'onFailure' ? '#dc2626' : '#6366f1' });
          }
        }
      }
      for (const edge of edges) {
        if (!this.store.node(edge.target)) continue; // dangling: the problems panel names it
        wanted.set(`e|${node.id}|${edge.port}`, { source: node.id, ...edge });
      }
    }
    for (const edge of graph.getEdges()) {
      const want = wanted.get(edge.id);
      if (!want || edge.getTargetCellId() !== want.target) graph.removeCell(edge);
    }
    const selectedEdge = this.store.selection.edge;
    const toAdd = [];
    for (const [id, edge] of wanted) {
      const existing = graph.getCellById(id);
      const stroke = id === selectedEdge ? '#f59e0b' : edge.color;
      if (existing) {
        if (existing.attr('line/stroke') !== stroke) existing.attr('line/stroke', stroke);
        continue;
      }
      toAdd.push({
        id, shape: 'edge', source: { cell: edge.source, port: edge.port }, target: { cell: edge.target, port: 'in' },
        connector: SMOOTH, zIndex: 0,
        attrs: { line: { stroke, strokeWidth: 2, targetMarker: { name: 'classic', size: 7 } } },
      });
    }
    if (toAdd.length) graph.addEdges(toAdd);
  }

  // ---- selection ---------------------------------------------------------------------------
  syncSelection() {
    const wanted = this.store.selection.nodes.filter((id) => this.graph.getCellById(id));
    const current = this.graph.getSelectedCells().filter((c) => c.isNode()).map((c) => c.id);
    if (wanted.length === current.length && wanted.every((id) => current.includes(id))) return;
    this.syncing += 1;
    try {
      this.graph.resetSelection(wanted);
    } finally {
      this.syncing -= 1;
    }
    this.render();
  }

  focusNode(nodeId, { select = true, card = null } = {}) {
    if (!this.graph.getCellById(nodeId)) this.drawAll();
    const cell = this.graph.getCellById(nodeId);
    if (!cell) return;
    if (select) this.store.select({ nodes: [nodeId], card });
    this.graph.centerCell(cell);
  }

  zoom(delta) {
    if (delta === 0) { this.graph.zoomToFit({ padding: this.fitPadding ? this.fitPadding() : 40, maxScale: 1 }); return; }
    this.graph.zoom(delta, { minScale: 0.2, maxScale: 2 });
  }

  // ---- events from X6 --------------------------------------------------------------------
  bindGraphEvents() {
    const graph = this.graph;
    graph.on('selection:changed', ({ selected }) => {
      if (this.syncing) return;
      const nodes = selected.filter((c) => c.isNode()).map((c) => c.id);
      const keepCard = this.store.selection.card && nodes.length === 1 && this.store.findCard(this.store.selection.card)?.node.id === nodes[0];
      this.store.select({ nodes, card: keepCard ? this.store.selection.card : null });
      this.render();
    });
    graph.on('node:change:position', ({ node }) => {
      if (this.syncing) return;
      this.pendingMoves.set(node.id, node.getPosition());
      clearTimeout(this.moveTimer);
      this.moveTimer = setTimeout(() => this.commitMoves(), 250);
    });
    graph.on('node:moved', () => this.commitMoves());
    graph.on('edge:connected', ({ edge, isNew }) => {
      if (this.syncing || !isNew) return;
      const source = edge.getSourceCellId();
      const port = edge.getSourcePortId();
      const target = edge.getTargetCellId();
      setTimeout(() => {
        this.syncing += 1;
        try { graph.removeCell(edge); } finally { this.syncing -= 1; }
        if (!source || !port || !target || port === 'in') return;
        this.store.change('Connect', () => setTransition(this.store, source, port, target));
      }, 0);
    });
    graph.on('edge:click', ({ edge }) => {
      this.store.select({ nodes: [], card: null, edge: edge.id });
      this.render();
    });
    graph.on('edge:mouseenter', ({ edge }) => {
      if (this.store.readOnly) return;
      edge.addTools([{ name: 'button-remove', args: { distance: -36, onClick: () => this.removeEdge(edge.id) } }]);
    });
    graph.on('edge:mouseleave', ({ edge }) => edge.removeTools());
    graph.on('blank:click', () => {
      this.store.select({});
      this.render();
    });
    graph.on('blank:dblclick', ({ x, y }) => this.addNode('standard', x, y));
    graph.on('blank:contextmenu', ({ e, x, y }) => this.dispatchEvent(new CustomEvent('contextmenu', { detail: { clientX: e.clientX, clientY: e.clientY, x, y } })));
    graph.on('node:contextmenu', ({ e, node }) => {
      if (!this.store.selection.nodes.includes(node.id)) this.store.select({ nodes: [node.id] });
      this.dispatchEvent(new CustomEvent('contextmenu', { detail: { clientX: e.clientX, clientY: e.clientY, node: node.id } }));
    });
  }

  commitMoves() {
    clearTimeout(this.moveTimer);
    if (!this.pendingMoves.size) return;
    const moves = new Map(this.pendingMoves);
    this.pendingMoves.clear();
    const flowName = this.store.flowName;
    this.store.change('Move', (doc) => {
      doc.layout[flowName] = doc.layout[flowName] || {};
      // Nodes placed automatically get their position stored once anything in the flow moves.
      for (const [id, p] of this.autoPlaced || []) {
        if (!doc.layout[flowName][id] && this.store.node(id)) doc.layout[flowName][id] = p;
      }
      for (const [id, p] of moves) if (this.store.node(id)) doc.layout[flowName][id] = [Math.round(p.x), Math.round(p.y)];
    }, { coalesce: `move:${[...moves.keys()].sort().join(',')}` });
  }

  removeEdge(edgeId) {
    const [, nodeId, port] = edgeId.split('|');
    this.store.change('Delete transition', () => setTransition(this.store, nodeId, port, null));
    if (this.store.selection.edge === edgeId) this.store.select({});
  }

  // ---- commands ------------------------------------------------------------------------------
  addNode(kind, x, y, cards = []) {
    if (this.store.readOnly) return null;
    const flowName = this.store.flowName;
    const base = kind === 'standard' ? 'node' : kind;
    const id = this.store.newNodeId(flowName, base);
    const node = { id, kind };
    if (kind === 'standard' || kind === 'autonomous') Object.assign(node, { name: id, cards, next: null });
    if (kind === 'trigger') Object.assign(node, { trigger: { type: 'conversation_started' }, next: null });
    const snap = this.prefs.get('snapToGrid') ? G.grid : 1;
    const px = Math.round((x - G.width / 2) / snap) * snap;
    const py = Math.round((y - G.head / 2) / snap) * snap;
    this.store.change(`Add ${kind} node`, (doc) => {
      this.store.flow(flowName).nodes.push(node);
      doc.layout[flowName] = doc.layout[flowName] || {};
      doc.layout[flowName][id] = [px, py];
    });
    this.store.select({ nodes: [id] });
    return id;
  }

  deleteSelection() {
    const sel = this.store.selection;
    if (this.store.readOnly) return;
    if (sel.edge) { this.removeEdge(sel.edge); return; }
    if (sel.card) {
      const found = this.store.findCard(sel.card);
      if (found) {
        this.store.change('Delete card', () => { found.node.cards.splice(found.node.cards.indexOf(found.card), 1); });
        this.store.select({ nodes: [found.node.id] });
      }
      return;
    }
    const removable = sel.nodes.filter((id) => !['start', 'entry'].includes(this.store.node(id)?.kind));
    if (!removable.length) return;
    this.store.change(removable.length > 1 ? `Delete ${removable.length} nodes` : 'Delete node', () => deleteNodes(this.store, removable));
    this.store.select({});
  }

  selectAll() {
    this.drawAll();
    this.store.select({ nodes: this.store.nodes().map((n) => n.id) });
  }

  /** Where on the page a card being dragged would land: a node and an index, or the blank canvas. */
  dropTargetAt(clientX, clientY, draggedCardId = null) {
    const rect = this.container.getBoundingClientRect();
    if (clientX < rect.left || clientX > rect.right || clientY < rect.top || clientY > rect.bottom) return null;
    const element = document.elementsFromPoint(clientX, clientY).find((el) => el.closest && el.closest('.fs-node'));
    const nodeEl = element && element.closest('.fs-node');
    if (!nodeEl) {
      const p = this.graph.clientToLocal(clientX, clientY);
      return { blank: true, x: p.x, y: p.y };
    }
    const nodeId = nodeEl.dataset.node;
    const node = this.store.node(nodeId);
    if (!node || CARDLESS_KINDS.includes(node.kind)) return { refused: true, nodeId, element: nodeEl };
    const rows = [...nodeEl.querySelectorAll('.fs-card')];
    let index = rows.length;
    for (let i = 0; i < rows.length; i += 1) {
      const r = rows[i].getBoundingClientRect();
      if (clientY < r.top + r.height / 2) { index = i; break; }
    }
    const list = nodeEl.querySelector('.fs-cards') || nodeEl;
    const listRect = list.getBoundingClientRect();
    let lineY;
    if (!rows.length) lineY = listRect.top + listRect.height / 2;
    else if (index < rows.length) lineY = rows[index].getBoundingClientRect().top - 2;
    else lineY = rows[rows.length - 1].getBoundingClientRect().bottom + 2;
    return { nodeId, index, line: { left: listRect.left + 4, width: listRect.width - 8, top: lineY }, draggedCardId };
  }

  /** Mouse down on a card row: a click selects it, a drag moves it (drag.js does the moving). */
  bindCardPointer() {
    this.container.addEventListener('mousedown', (e) => {
      const cardEl = e.target.closest && e.target.closest('.fs-card');
      if (!cardEl || e.button !== 0) return;
      e.stopPropagation(); // X6 would start moving the whole node
      e.preventDefault();
      const cardId = cardEl.dataset.card;
      const nodeId = cardEl.dataset.node;
      this.dispatchEvent(new CustomEvent('cardpointerdown', { detail: { event: e, cardId, nodeId, element: cardEl } }));
    }, true);
  }
}

export function moveCard(store, cardId, targetNodeId, index) {
  const found = store.findCard(cardId);
  if (!found) return;
  const target = store.node(targetNodeId);
  if (!target) return;
  let at = index;
  if (found.node === target && found.index < index) at -= 1;
  if (found.node === target && found.index === at) return;
  store.change('Move card', () => {
    found.node.cards.splice(found.index, 1);
    target.cards = store.cards(target);
    target.cards.splice(at, 0, found.card);
  });
}

export function insertCard(store, card, targetNodeId, index) {
  const target = store.node(targetNodeId);
  if (!target) return;
  store.change(`Add ${card.type} card`, () => {
    target.cards = store.cards(target);
    target.cards.splice(index, 0, clone(card));
  });
}
