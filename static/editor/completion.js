// Variable completion in text fields: typing `{{` or `@` (and, in JavaScript fields, the
// start of a scope name) opens a list of the variables in scope; arrows pick, Enter or Tab
// inserts, Escape closes.

import { escapeHtml } from './cards.js';

// What the engine puts in `event` (docs/engine.md), always readable.
const EVENT_PATHS = [
  ['event.preview', 'string', 'text of the last user message'],
  ['event.payload', 'object', 'the last event\'s payload'],
  ['event.type', 'string', 'the last event\'s type'],
  ['event.userId', 'string', 'the user\'s id'],
  ['event.conversationId', 'string', 'the conversation\'s id'],
  ['event.channel', 'string', 'the channel it came on'],
  ['event.nlu', 'object', 'intent and entities of the message'],
  ['event.nlu.intent', 'object', 'the intent the message means'],
  ['event.nlu.entities', 'array', 'entities found in the message'],
];
// The error flow's event.error (docs/bot-format.md, reserved flows).
const ERROR_PATHS = [
  ['event.error', 'object', 'the failure: message, flow, node, card'],
  ['event.error.message', 'string', 'what went wrong'],
  ['event.error.flow', 'string', 'the flow of the failing card'],
  ['event.error.node', 'string', 'its node'],
  ['event.error.card', 'string', 'its card'],
];
// Scopes nothing declares: what cards store there (a variable field, code assigning to it)
// is what a card can read back.
export const UNDECLARED_SCOPES = ['session', 'conversation', 'turn'];
const CODE_ASSIGNED = /(?<![\w$.])(session|conversation|turn|workflow|user|bot)\s*\.\s*([A-Za-z_$][\w$]*)\s*(?:=(?!=)|\+=|-=|\+\+|--)/g;

/** What `card` stores in its variable: {type, fields} or null (studio/editor/catalogue.py, written_types). */
export function writtenBy(written, card) {
  if (!written || !card) return null;
  if (card.type === 'capture') return (written.capture || {})[card.capture || 'raw'] || null;
  return (written.cards || {})[card.type] || null;
}

function everyCard(store, flowName = null) {
  const out = [];
  for (const flow of store.flows()) {
    if (flowName && flow.name !== flowName) continue;
    for (const node of flow.nodes || []) for (const card of store.cards(node)) out.push({ flow, card });
  }
  return out;
}

/**
 * The fields of the object at `path` (`user.name`): from its declaration (a schema with
 * properties) or from what the cards storing into it write (a Person capture: first, last).
 * {field: type}, empty when nothing says.
 */
export function fieldsOf(store, written, path, flowName = store.flowName) {
  const [scope, name] = path.split('.');
  const fields = {};
  const decl = declarationOf(store, scope, name, flowName);
  if (decl && decl.type === 'schema') {
    const named = (store.doc.schemas || []).find((s) => s.name === decl.schema);
    for (const [key, spec] of Object.entries(((named && named.schema) || {}).properties || {})) fields[key] = (spec && spec.type) || 'any';
  }
  for (const { card } of everyCard(store, scope === 'workflow' ? flowName : null)) {
    if (card.variable !== path) continue;
    const w = writtenBy(written, card);
    if (w && w.fields) Object.assign(fields, w.fields);
  }
  return fields;
}

/** The declaration of scope.name (workflow: of `flowName`), or null. */
export function declarationOf(store, scope, name, flowName = store.flowName) {
  if (scope === 'workflow') return ((store.flow(flowName) || {}).variables || []).find((v) => v.name === name) || null;
  if (scope === 'user' || scope === 'bot') return (store.doc.variables || []).find((v) => v.scope === scope && v.name === name) || null;
  if (scope === 'env') return (store.doc.config || []).find((c) => c.name === name) || null;
  return null;
}

/** session./conversation./turn. paths some card stores into: [{path, type}]. */
export function undeclaredPaths(store, written) {
  const found = new Map();
  for (const { card } of everyCard(store)) {
    for (const field of ['variable', 'choicesFrom']) {
      const value = card[field];
      if (typeof value !== 'string') continue;
      const [scope, name] = value.split('.');
      if (UNDECLARED_SCOPES.includes(scope) && name) {
        const w = field === 'variable' ? writtenBy(written, card) : null;
        found.set(value, (w && w.type) || found.get(value) || 'any');
      }
    }
    if (card.type === 'code' && typeof card.code === 'string') {
      for (const m of card.code.matchAll(CODE_ASSIGNED)) {
        if (UNDECLARED_SCOPES.includes(m[1]) && !found.has(`${m[1]}.${m[2]}`)) found.set(`${m[1]}.${m[2]}`, 'any');
      }
    }
  }
  return [...found].map(([path, type]) => ({ path, type }));
}

/**
 * Every variable a card in `flowName` can read: [{path, type, detail}]: the flow's own
 * (and the outputs of the flows it calls), user, bot, session, conversation and turn paths
 * cards store into, each object's fields, env, event.
 */
export function variablesInScope(store, flowName, written = null) {
  const out = [];
  const flow = store.flow(flowName);
  const withFields = (path, type, detail) => {
    out.push({ path, type, detail: detail ? `${type} · ${detail}` : type });
    for (const [field, fieldType] of Object.entries(fieldsOf(store, written, path, flowName))) {
      out.push({ path: `${path}.${field}`, type: fieldType, detail: `${fieldType} · field of ${path}` });
    }
  };
  for (const v of (flow && flow.variables) || []) {
    const marks = [v.input ? 'input' : '', v.output ? 'output' : ''].filter(Boolean).join(', ');
    withFields(`workflow.${v.name}`, v.type, marks);
  }
  // Outputs of the flows this one calls land in workflow.<call name>.<output>.
  for (const node of (flow && flow.nodes) || []) {
    for (const card of store.cards(node)) {
      if (card.type !== 'call' || !card.name) continue;
      const callee = store.flow(card.flow);
      out.push({ path: `workflow.${card.name}`, type: 'object', detail: `object · outputs of ${card.flow}` });
      for (const v of (callee && callee.variables) || []) {
        if (v.output) out.push({ path: `workflow.${card.name}.${v.name}`, type: v.type, detail: `${v.type} · output of ${card.flow}` });
      }
    }
  }
  for (const scope of ['user', 'bot']) {
    for (const v of (store.doc.variables || []).filter((x) => x.scope === scope)) withFields(`${scope}.${v.name}`, v.type, scope);
  }
  for (const { path, type } of undeclaredPaths(store, written)) withFields(path, type, `${path.split('.')[0]}, stored by a card`);
  for (const c of store.doc.config || []) out.push({ path: `env.${c.name}`, type: 'string', detail: 'string · configuration' });
  const events = flowName === 'error' ? [...EVENT_PATHS, ...ERROR_PATHS] : EVENT_PATHS;
  for (const [path, type, what] of events) out.push({ path, type, detail: `${type} · ${what}` });
  const seen = new Set();
  return out.filter((item) => (seen.has(item.path) ? false : seen.add(item.path)));
}

/** Entries one level below what is typed: `user.na` offers user.name, `user.name.` its fields. */
export function completionsFor(items, prefix) {
  const depth = Math.max(1, (prefix.match(/\./g) || []).length);
  const lower = prefix.toLowerCase();
  return items.filter((item) => item.path !== prefix && item.path.toLowerCase().startsWith(lower)
    && (item.path.match(/\./g) || []).length <= depth);
}

const TEMPLATE_TRIGGER = /(\{\{\s*|@)([A-Za-z_$][\w$.]*|)$/;
const CODE_TRIGGER = /(^|[^\w$.])((?:workflow|user|bot|env|event|session|conversation|turn)(?:\.[\w$.]*)?)$/;

export class Completion {
  constructor(store, written = null) {
    this.store = store;
    this.written = written;
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
    const items = completionsFor(variablesInScope(this.store, this.store.flowName, this.written), prefix).slice(0, 12);
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
