// Find (Ctrl/Cmd+F): search flows, nodes, cards (every text field), variables and library
// entries across the whole bot. Results say where they are; Enter or a click jumps there,
// and matches in the open flow are highlighted on the canvas.

import { cardTitle, escapeHtml } from './cards.js';

function strings(value) {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  if (typeof value === 'number') return [String(value)];
  return [];
}

function snippet(text, query) {
  const at = text.toLowerCase().indexOf(query);
  if (at < 0) return escapeHtml(text.slice(0, 80));
  const start = Math.max(0, at - 30);
  const end = Math.min(text.length, at + query.length + 40);
  return `${start ? '…' : ''}${escapeHtml(text.slice(start, at))}<mark>${escapeHtml(text.slice(at, at + query.length))}</mark>${escapeHtml(text.slice(at + query.length, end))}${end < text.length ? '…' : ''}`;
}

/** Every match of `query` in the bot: [{kind, label, where, snippet, location}]. */
export function search(store, rawQuery) {
  const query = rawQuery.trim().toLowerCase();
  if (!query) return [];
  const out = [];
  const hit = (text) => typeof text === 'string' && text.toLowerCase().includes(query);
  for (const flow of store.flows()) {
    if (hit(flow.name) || hit(flow.description) || hit(flow.folder)) {
      out.push({ kind: 'flow', label: flow.name, where: flow.folder ? `folder ${flow.folder}` : 'flow', snippet: snippet(hit(flow.name) ? flow.name : (flow.description || flow.folder), query), location: { flow: flow.name } });
    }
    for (const v of flow.variables || []) {
      if (hit(v.name) || hit(v.description)) out.push({ kind: 'variable', label: `workflow.${v.name}`, where: flow.name, snippet: snippet(v.name, query), location: { flow: flow.name, variable: v.name } });
    }
    for (const node of flow.nodes || []) {
      if (hit(node.id) || hit(node.name)) {
        out.push({ kind: 'node', label: node.name || node.id, where: flow.name, snippet: snippet(hit(node.name) ? node.name : node.id, query), location: { flow: flow.name, node: node.id } });
      } else if (hit(node.instructions)) {
        out.push({ kind: 'node', label: node.name || node.id, where: flow.name, snippet: snippet(node.instructions, query), location: { flow: flow.name, node: node.id, field: 'instructions' } });
      }
      for (const card of store.cards(node)) {
        const title = cardTitle(store, card);
        const texts = [title, card.type, card.id, ...strings(Object.fromEntries(Object.entries(card).filter(([k]) => k !== 'id' && k !== 'type')))];
        const text = texts.find(hit);
        if (text !== undefined) {
          out.push({ kind: 'card', label: title, where: `${flow.name} › ${node.name || node.id}`, snippet: snippet(text, query), location: { flow: flow.name, node: node.id, card: card.id } });
        }
      }
    }
  }
  for (const v of store.doc.variables || []) {
    if (hit(v.name) || hit(`${v.scope}.${v.name}`)) out.push({ kind: 'variable', label: `${v.scope}.${v.name}`, where: `${v.scope} variable`, snippet: snippet(v.name, query), location: { variable: v.name, scope: v.scope } });
  }
  for (const c of store.doc.config || []) {
    if (hit(c.name)) out.push({ kind: 'variable', label: `env.${c.name}`, where: 'configuration', snippet: snippet(c.name, query), location: { variable: c.name, scope: 'env' } });
  }
  for (const key of ['intents', 'entities', 'schemas']) {
    for (const item of store.doc[key] || []) {
      if (hit(item.name)) out.push({ kind: key.replace(/s$/, '').replace(/ie$/, 'y'), label: item.name, where: 'library', snippet: snippet(item.name, query), location: { library: key } });
    }
  }
  return out.slice(0, 200);
}

export class Find {
  constructor(store, canvas, { navigate }) {
    this.store = store;
    this.canvas = canvas;
    this.navigate = navigate;
    this.dialog = document.createElement('div');
    this.dialog.className = 'fs-find';
    this.dialog.hidden = true;
    this.dialog.setAttribute('role', 'dialog');
    this.dialog.setAttribute('aria-label', 'Find');
    this.dialog.innerHTML = '<input type="search" class="fs-input fs-find-input" placeholder="Find flows, nodes, cards, text, variables" aria-label="Find">'
      + '<div class="fs-find-count fs-muted"></div><ul class="fs-find-results" role="listbox"></ul>';
    document.body.append(this.dialog);
    this.input = this.dialog.querySelector('input');
    this.list = this.dialog.querySelector('ul');
    this.count = this.dialog.querySelector('.fs-find-count');
    this.input.addEventListener('input', () => this.update());
    this.input.addEventListener('keydown', (e) => this.keydown(e));
    this.list.addEventListener('click', (e) => {
      const li = e.target.closest('li[data-index]');
      if (li) this.go(Number(li.dataset.index));
    });
    store.addEventListener('change', () => { if (!this.dialog.hidden) this.update(); });
  }

  open(query = null) {
    this.dialog.hidden = false;
    if (query !== null) this.input.value = query;
    this.input.focus();
    this.input.select();
    this.update();
  }

  close() {
    this.dialog.hidden = true;
    this.canvas.setHits({ nodes: new Set(), cards: new Set() });
  }

  update() {
    this.results = search(this.store, this.input.value);
    this.active = 0;
    const q = this.input.value.trim();
    this.count.textContent = q ? `${this.results.length} result${this.results.length === 1 ? '' : 's'}` : '';
    this.list.innerHTML = this.results.map((r, i) => `<li role="option" data-index="${i}" class="${i === 0 ? 'active' : ''}">`
      + `<span class="fs-find-kind">${escapeHtml(r.kind)}</span><span class="fs-find-label">${escapeHtml(r.label)}</span>`
      + `<span class="fs-find-where">${escapeHtml(r.where)}</span><span class="fs-find-snippet">${r.snippet}</span></li>`).join('');
    const nodes = new Set();
    const cards = new Set();
    for (const r of this.results) {
      if (r.location.flow !== this.store.flowName) continue;
      if (r.location.card) cards.add(r.location.card);
      else if (r.location.node) nodes.add(r.location.node);
    }
    this.canvas.setHits({ nodes, cards });
  }

  keydown(e) {
    if (e.key === 'Escape') { e.preventDefault(); this.close(); return; }
    if (!this.results || !this.results.length) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      this.active = (this.active + (e.key === 'ArrowDown' ? 1 : this.results.length - 1)) % this.results.length;
      [...this.list.children].forEach((li, i) => li.classList.toggle('active', i === this.active));
      this.list.children[this.active].scrollIntoView({ block: 'nearest' });
    } else if (e.key === 'Enter') {
      e.preventDefault();
      this.go(this.active);
    }
  }

  go(index) {
    const result = this.results[index];
    if (!result) return;
    this.navigate(result.location);
    this.update();
  }
}
