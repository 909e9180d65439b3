// The card tray: every card the bot can use, grouped by category as in Botpress
// (Send Messages, Capture Information, Flow Logic, Execute, Utilities), plus one Workflow
// card per custom flow, and the nodes that hold cards. Search filters it; a card is dragged
// from here into a node, a node onto the canvas.

import { cardFromEntry, escapeHtml, icon, trayEntries } from './cards.js';
import { GEOMETRY, insertCard } from './canvas.js';
import { UNTARGETABLE_KINDS, setTransition } from './store.js';

const ORDER = ['Nodes', 'Send Messages', 'Capture Information', 'Flow Logic', 'AI', 'Workflows', 'Execute', 'Utilities'];

// Nodes that hold cards, dragged onto the canvas (the context menu makes them too).
const NODE_ENTRIES = [
  { key: 'node:standard', node: 'standard', type: 'standard', title: 'Standard node', category: 'Nodes', hint: 'Runs its cards in order, then takes its transition.' },
  {
    key: 'node:autonomous', node: 'autonomous', type: 'autonomous', title: 'Autonomous node', category: 'Nodes',
    hint: 'A language model follows its instructions, calling the node\'s cards as tools, until it is done or transitions.',
  },
  {
    key: 'node:trigger', node: 'trigger', type: 'trigger', title: 'Trigger node', category: 'Nodes',
    hint: 'Starts the dialog here when an event that is not a message arrives: the conversation opening, a custom event, an expired state.',
  },
  // Only where the bot format allows them: End nodes in main, Exit nodes in custom flows.
  { key: 'node:end', node: 'end', type: 'end', title: 'End node', category: 'Nodes', hint: 'Ends the conversation; the conversation_end flow runs.', when: (store) => store.flowName === 'main' },
  {
    key: 'node:exit', node: 'exit', type: 'exit', title: 'Exit node', category: 'Nodes', hint: 'Returns to the flow that called this one, with its output variables.',
    when: (store) => store.isCustom(store.flowName),
  },
];

export class Tray {
  constructor(store, drag, root) {
    this.store = store;
    this.drag = drag;
    this.root = root;
    // Folding is the layout's (layout.js): these buttons ask for it with an event.
    this.root.innerHTML = `
      <button type="button" class="fs-tray-strip" data-tray-fold="open" title="Show the card tray" aria-label="Show the card tray">▸<span>Cards</span></button>
      <div class="fs-tray-head"><div class="fs-panel-title">Cards</div>
        <button type="button" class="fs-icon-button small" data-tray-fold="fold" title="Fold the card tray" aria-label="Fold the card tray">⇥</button></div>
      <input type="search" class="fs-input fs-tray-search" placeholder="Search cards" aria-label="Search cards">
      <div class="fs-tray-list" role="list"></div>`;
    this.search = this.root.querySelector('.fs-tray-search');
    this.list = this.root.querySelector('.fs-tray-list');
    this.search.addEventListener('input', () => this.render());
    this.root.addEventListener('click', (e) => {
      const button = e.target.closest('[data-tray-fold]');
      if (button) this.root.dispatchEvent(new CustomEvent('fs:tray-fold', { bubbles: true, detail: { open: button.dataset.trayFold === 'open' } }));
    });
    this.list.addEventListener('mousedown', (e) => {
      const item = e.target.closest('.fs-tray-item');
      if (!item || e.button !== 0) return;
      e.preventDefault();
      const entry = this.entries.find((x) => x.key === item.dataset.key);
      if (entry.node) {
        this.drag.start(e, { label: entry.title, nodeKind: entry.node, onClick: () => this.addNodeInView(entry.node) });
        return;
      }
      this.drag.start(e, { label: entry.title, make: () => cardFromEntry(this.store, entry) });
    });
    store.addEventListener('change', (e) => { if (e.detail.logic || e.detail.flowChanged) this.render(); });
    this.render();
  }

  /** A click on a node entry: the node appears in the middle of what the canvas shows. */
  addNodeInView(kind) {
    const canvas = this.drag.canvas;
    const area = canvas.graph.getGraphArea();
    canvas.addNode(kind, area.x + area.width / 2, area.y + area.height / 3);
  }

  render() {
    this.entries = allEntries(this.store);
    this.list.innerHTML = listHtml(this.store, this.entries, this.search.value);
  }
}

function allEntries(store) {
  return [...NODE_ENTRIES.filter((e) => !e.when || e.when(store)), ...trayEntries(store)];
}

function matching(entries, query) {
  const q = query.trim().toLowerCase();
  return entries.filter((e) => !q || `${e.title} ${e.category} ${e.type} ${e.hint}`.toLowerCase().includes(q));
}

// Best match first: a title that starts with the query, then one that holds it, then the rest.
function rank(entry, query) {
  const title = entry.title.toLowerCase();
  const q = query.trim().toLowerCase();
  if (title.startsWith(q)) return 0;
  if (title.includes(q)) return 1;
  return 2;
}

function itemHtml(store, entry) {
  return `<div class="fs-tray-item${store.readOnly ? ' disabled' : ''}" role="listitem" data-key="${escapeHtml(entry.key)}" title="${escapeHtml(entry.hint)}">${icon(entry.type)}<span>${escapeHtml(entry.title)}</span></div>`;
}

/**
 * The entries grouped by category in the tray's order, as HTML; `ranked` (the popover) lists
 * the matches of a query best first instead, so Enter picks the likeliest.
 */
function listHtml(store, entries, query, { ranked = false } = {}) {
  const shown = matching(entries, query);
  if (ranked && query.trim()) {
    const sorted = shown.map((e, i) => [rank(e, query), i, e]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
    return sorted.map((e) => itemHtml(store, e)).join('') || '<div class="fs-empty">No card matches.</div>';
  }
  const groups = new Map();
  for (const entry of shown) {
    if (!groups.has(entry.category)) groups.set(entry.category, []);
    groups.get(entry.category).push(entry);
  }
  const names = [...groups.keys()].sort((a, b) => (ORDER.indexOf(a) + 99) % 99 - (ORDER.indexOf(b) + 99) % 99);
  let html = '';
  for (const name of names) {
    html += `<div class="fs-tray-group"><div class="fs-tray-category">${escapeHtml(name)}</div>`;
    for (const entry of groups.get(name)) html += itemHtml(store, entry);
    html += '</div>';
  }
  return html || '<div class="fs-empty">No card matches.</div>';
}

/**
 * The tray as a searchable popover (issue 20): opened from "+" on the canvas, or by dropping
 * a transition dragged from a port on empty canvas. Picking a card makes a node holding it
 * where the popover was opened (a node entry makes that node); from a port, the port's
 * transition goes to the new node. Arrows choose, Enter picks, Escape closes.
 */
export class TrayPopover {
  constructor(store, canvas) {
    this.store = store;
    this.canvas = canvas;
    this.el = document.createElement('div');
    this.el.className = 'fs-tray-popover';
    this.el.hidden = true;
    this.el.setAttribute('role', 'dialog');
    this.el.setAttribute('aria-label', 'Add a card');
    this.el.innerHTML = `
      <input type="search" class="fs-input fs-tray-search" placeholder="Search cards and nodes" aria-label="Search cards and nodes">
      <div class="fs-tray-list" role="list"></div>`;
    document.body.append(this.el);
    this.search = this.el.querySelector('input');
    this.list = this.el.querySelector('.fs-tray-list');
    this.search.addEventListener('input', () => { this.active = 0; this.render(); });
    this.search.addEventListener('keydown', (e) => this.onKey(e));
    this.list.addEventListener('mousedown', (e) => e.preventDefault()); // the search keeps the focus
    this.list.addEventListener('click', (e) => {
      const item = e.target.closest('.fs-tray-item');
      if (item) this.pick(item.dataset.key);
    });
    document.addEventListener('mousedown', (e) => { if (!this.el.hidden && !this.el.contains(e.target)) this.close(); }, true);
    this.watchPorts();
  }

  /** Open at a screen point; `at` is the graph point new nodes go to, `from` a port to connect. */
  open(clientX, clientY, { at = null, from = null } = {}) {
    if (this.store.readOnly) return;
    const area = this.canvas.graph.getGraphArea();
    this.at = at || { x: area.x + area.width / 2, y: area.y + area.height / 3 };
    this.from = from;
    this.active = 0;
    this.search.value = '';
    this.el.hidden = false;
    this.render();
    const width = this.el.offsetWidth;
    const height = this.el.offsetHeight;
    this.el.style.left = `${Math.max(8, Math.min(clientX, window.innerWidth - width - 8))}px`;
    this.el.style.top = `${Math.max(56, Math.min(clientY, window.innerHeight - height - 8))}px`;
    this.search.focus();
  }

  close() {
    this.el.hidden = true;
    this.from = null;
  }

  render() {
    this.list.innerHTML = listHtml(this.store, allEntries(this.store), this.search.value, { ranked: true });
    const items = [...this.list.querySelectorAll('.fs-tray-item')];
    this.active = Math.max(0, Math.min(this.active, items.length - 1));
    items.forEach((item, i) => item.classList.toggle('active', i === this.active));
    items[this.active]?.scrollIntoView({ block: 'nearest' });
  }

  onKey(e) {
    const items = [...this.list.querySelectorAll('.fs-tray-item')];
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); this.close(); return; }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      this.active = (this.active + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % Math.max(1, items.length);
      this.render();
      return;
    }
    if (e.key === 'Enter' && items[this.active]) { e.preventDefault(); this.pick(items[this.active].dataset.key); }
  }

  pick(key) {
    const entry = allEntries(this.store).find((x) => x.key === key);
    if (!entry) return;
    const { at, from } = this;
    this.close();
    const nodeId = this.canvas.addNode(entry.node || 'standard', at.x, at.y);
    if (!nodeId) return;
    let cardId = null;
    if (!entry.node) {
      const card = cardFromEntry(this.store, entry);
      insertCard(this.store, card, nodeId, 0);
      cardId = card.id;
    }
    if (from && this.store.node(from.node) && !UNTARGETABLE_KINDS.includes(entry.node)) this.store.change('Connect', () => setTransition(this.store, from.node, from.port, nodeId));
    this.store.select({ nodes: [nodeId], card: cardId });
  }

  /**
   * A transition dragged from a port and let go on empty canvas: X6 drops it (no blank
   * targets), and this opens the popover there to make its target.
   */
  watchPorts() {
    const container = this.canvas.container;
    let pending = null;
    container.addEventListener('mousedown', (e) => {
      const magnet = e.button === 0 && e.target.closest('circle[port]');
      if (!magnet || magnet.getAttribute('port-group') === 'in' || this.store.readOnly) return;
      const node = magnet.closest('g[data-cell-id]')?.getAttribute('data-cell-id');
      if (node) pending = { node, port: magnet.getAttribute('port'), x: e.clientX, y: e.clientY };
    }, true);
    window.addEventListener('mouseup', (e) => {
      const from = pending;
      pending = null;
      if (!from || Math.hypot(e.clientX - from.x, e.clientY - from.y) < 12) return;
      const under = document.elementFromPoint(e.clientX, e.clientY);
      if (!under || !container.contains(under) || under.closest('.x6-node, .x6-edge')) return;
      // The new node's left edge (its input) goes where the transition was let go.
      const at = this.canvas.graph.clientToLocal(e.clientX, e.clientY);
      this.open(e.clientX, e.clientY, { at: { x: at.x + GEOMETRY.width / 2, y: at.y }, from: { node: from.node, port: from.port } });
    }, true);
  }
}
