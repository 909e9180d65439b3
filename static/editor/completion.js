// Variable completion in text fields: typing `{{` or `@` (and, in JavaScript fields, the
// start of a scope name) opens a list of the variables in scope; arrows pick, Enter or Tab
// inserts, Escape closes.

import { escapeHtml } from './cards.js';

const EVENT_PATHS = [
  ['event.preview', 'text of the last user message'],
  ['event.payload', 'the last event\'s payload'],
  ['event.type', 'the last event\'s type'],
  ['event.userId', 'the user\'s id'],
];

/** Every variable a card in `flowName` can read: [{path, detail}]. */
export function variablesInScope(store, flowName) {
  const out = [];
  const flow = store.flow(flowName);
  for (const v of (flow && flow.variables) || []) {
    const marks = [v.input ? 'input' : '', v.output ? 'output' : ''].filter(Boolean).join(', ');
    out.push({ path: `workflow.${v.name}`, detail: `${v.type}${marks ? ` · ${marks}` : ''}` });
  }
  // Outputs of the flows this one calls land in workflow.<call name>.<output>.
  for (const node of (flow && flow.nodes) || []) {
    for (const card of store.cards(node)) {
      if (card.type !== 'call' || !card.name) continue;
      const callee = store.flow(card.flow);
      for (const v of (callee && callee.variables) || []) {
        if (v.output) out.push({ path: `workflow.${card.name}.${v.name}`, detail: `${v.type} · output of ${card.flow}` });
      }
    }
  }
  for (const v of store.doc.variables || []) out.push({ path: `${v.scope}.${v.name}`, detail: `${v.type} · ${v.scope}` });
  for (const c of store.doc.config || []) out.push({ path: `env.${c.name}`, detail: 'configuration' });
  for (const [path, detail] of EVENT_PATHS) out.push({ path, detail });
  return out;
}

const TEMPLATE_TRIGGER = /(\{\{\s*|@)([A-Za-z_$][\w$.]*|)$/;
const CODE_TRIGGER = /(^|[^\w$.])((?:workflow|user|bot|env|event|session)(?:\.[\w$.]*)?)$/;

export class Completion {
  constructor(store) {
    this.store = store;
    this.menu = document.createElement('ul');
    this.menu.className = 'fs-completion';
    this.menu.setAttribute('role', 'listbox');
    this.menu.hidden = true;
    document.body.append(this.menu);
    this.menu.addEventListener('mousedown', (e) => {
      const li = e.target.closest('li');
      if (!li) return;
      e.preventDefault();
      this.accept(Number(li.dataset.index));
    });
  }

  /** Turn completion on for an input or textarea; `mode` is 'template' or 'code'. */
  attach(field, mode) {
    field.setAttribute('autocomplete', 'off');
    field.addEventListener('input', () => this.update(field, mode));
    field.addEventListener('keydown', (e) => this.keydown(e));
    field.addEventListener('blur', () => setTimeout(() => this.close(), 100));
  }

  update(field, mode) {
    const before = field.value.slice(0, field.selectionStart);
    let match = before.match(TEMPLATE_TRIGGER);
    let kind = 'template';
    if (match) kind = match[1] === '@' ? 'at' : 'braces';
    if (!match && mode === 'code') {
      const m = before.match(CODE_TRIGGER);
      if (m) { match = [m[0], m[1], m[2]]; kind = 'code'; }
    }
    if (!match) { this.close(); return; }
    const prefix = match[2];
    const items = variablesInScope(this.store, this.store.flowName)
      .filter((item) => item.path.toLowerCase().startsWith(prefix.toLowerCase()) && item.path !== prefix)
      .slice(0, 12);
    if (!items.length) { this.close(); return; }
    this.state = { field, kind, prefix, items, active: 0 };
    this.menu.innerHTML = items.map((item, i) => `<li role="option" data-index="${i}" class="${i === 0 ? 'active' : ''}">`
      + `<span class="fs-completion-path">${escapeHtml(item.path)}</span><span class="fs-completion-detail">${escapeHtml(item.detail)}</span></li>`).join('');
    const rect = field.getBoundingClientRect();
    Object.assign(this.menu.style, { left: `${rect.left}px`, top: `${rect.bottom + 2}px`, minWidth: `${Math.min(rect.width, 320)}px` });
    this.menu.hidden = false;
  }

  keydown(e) {
    if (this.menu.hidden || !this.state) return;
    const { items } = this.state;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      this.state.active = (this.state.active + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      [...this.menu.children].forEach((li, i) => li.classList.toggle('active', i === this.state.active));
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      e.stopPropagation();
      this.accept(this.state.active);
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      this.close();
    }
  }

  accept(index) {
    const { field, kind, prefix, items } = this.state;
    const item = items[index];
    const caret = field.selectionStart;
    const head = field.value.slice(0, caret - prefix.length);
    let tail = field.value.slice(caret);
    let insert = item.path;
    if (kind === 'braces' && !/^\s*\}\}/.test(tail)) insert += '}}';
    const value = head + insert + tail;
    field.value = value;
    const at = head.length + insert.length;
    field.setSelectionRange(at, at);
    this.close();
    field.dispatchEvent(new Event('input', { bubbles: true }));
    this.close();
  }

  close() {
    this.menu.hidden = true;
    this.state = null;
  }
}
