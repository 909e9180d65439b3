// The card tray: every card the bot can use, grouped by category as in Botpress
// (Send Messages, Capture Information, Flow Logic, Execute, Utilities), plus one Workflow
// card per custom flow, and the nodes that hold cards. Search filters it; a card is dragged
// from here into a node, a node onto the canvas.

import { cardFromEntry, escapeHtml, icon, trayEntries } from './cards.js';

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
    this.root.innerHTML = `
      <div class="fs-panel-title">Cards</div>
      <input type="search" class="fs-input fs-tray-search" placeholder="Search cards" aria-label="Search cards">
      <div class="fs-tray-list" role="list"></div>`;
    this.search = this.root.querySelector('.fs-tray-search');
    this.list = this.root.querySelector('.fs-tray-list');
    this.search.addEventListener('input', () => this.render());
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
    const query = this.search.value.trim().toLowerCase();
    this.entries = [...NODE_ENTRIES.filter((e) => !e.when || e.when(this.store)), ...trayEntries(this.store)];
    const shown = this.entries.filter((e) => !query || `${e.title} ${e.category} ${e.type} ${e.hint}`.toLowerCase().includes(query));
    const groups = new Map();
    for (const entry of shown) {
      if (!groups.has(entry.category)) groups.set(entry.category, []);
      groups.get(entry.category).push(entry);
    }
    const names = [...groups.keys()].sort((a, b) => (ORDER.indexOf(a) + 99) % 99 - (ORDER.indexOf(b) + 99) % 99);
    let html = '';
    for (const name of names) {
      html += `<div class="fs-tray-group"><div class="fs-tray-category">${escapeHtml(name)}</div>`;
      for (const entry of groups.get(name)) {
        html += `<div class="fs-tray-item${this.store.readOnly ? ' disabled' : ''}" role="listitem" data-key="${escapeHtml(entry.key)}" title="${escapeHtml(entry.hint)}">${icon(entry.type)}<span>${escapeHtml(entry.title)}</span></div>`;
      }
      html += '</div>';
    }
    this.list.innerHTML = html || '<div class="fs-empty">No card matches.</div>';
  }
}
