// The editor's one source of truth: the bot document (draft + layout), what is selected,
// and the undo history. Every panel reads from here and changes it only through
// `store.change()`, which records an undo step and tells the autosave what kind of change
// it was (logic, layout or both).

import { registerCardIcons } from './cards.js';

const HISTORY_LIMIT = 200;
const COALESCE_MS = 1200;

// Trigger nodes hold no cards either (docs/bot-format.md): their `trigger` says when they start.
export const CARDLESS_KINDS = ['start', 'entry', 'exit', 'end', 'trigger'];
export const UNTARGETABLE_KINDS = ['start', 'entry', 'trigger'];
export const NO_NEXT_KINDS = ['exit', 'end'];
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function randomSuffix() {
  return Math.random().toString(36).slice(2, 8).padEnd(6, '0');
}

function logicPart(doc) {
  const { layout, ...logic } = doc;
  return logic;
}

export class Store extends EventTarget {
  constructor({ document, revision, catalogue, reservedFlows }) {
    super();
    this.doc = document;
    this.doc.layout = this.doc.layout || {};
    this.revision = revision;
    this.catalogue = new Map(catalogue.map((entry) => [entry.type, entry]));
    registerCardIcons(catalogue);
    this.reservedFlows = reservedFlows;
    this.flowName = this.flows().some((f) => f.name === 'main') ? 'main' : (this.flows()[0] || {}).name;
    this.selection = { nodes: [], card: null, edge: null };
    this.readOnly = false;
    this.undoStack = [];
    this.redoStack = [];
    this.lastStep = null;
    this.snapshot = this.takeSnapshot();
  }

  // ---- reading ----------------------------------------------------------------------------
  flows() { return Array.isArray(this.doc.flows) ? this.doc.flows : []; }
  flow(name = this.flowName) { return this.flows().find((f) => f.name === name) || null; }
  nodes(flowName = this.flowName) { const f = this.flow(flowName); return f && Array.isArray(f.nodes) ? f.nodes : []; }
  node(id, flowName = this.flowName) { return this.nodes(flowName).find((n) => n.id === id) || null; }
  cards(node) { return Array.isArray(node.cards) ? node.cards : []; }
  position(nodeId, flowName = this.flowName) {
    const pos = (this.doc.layout[flowName] || {})[nodeId];
    return Array.isArray(pos) ? pos : null;
  }
  isCustom(flowName) { return !this.reservedFlows.includes(flowName); }

  /** {flow, node, card, index} for a card id anywhere in the bot (ids are bot-wide unique). */
  findCard(cardId) {
    for (const flow of this.flows()) {
      for (const node of flow.nodes || []) {
        const index = this.cards(node).findIndex((c) => c.id === cardId);
        if (index >= 0) return { flow, node, card: node.cards[index], index };
      }
    }
    return null;
  }

  allCardIds() {
    const ids = new Set();
    for (const flow of this.flows()) for (const node of flow.nodes || []) for (const card of this.cards(node)) ids.add(card.id);
    return ids;
  }

  transitionsOf(card) { return (this.catalogue.get(card.type) || {}).transitions || []; }

  newCardId(type) {
    const ids = this.allCardIds();
    let id;
    do { id = `${type}-${randomSuffix()}`; } while (ids.has(id));
    return id;
  }

  newNodeId(flowName = this.flowName, base = 'node') {
    const ids = new Set(this.nodes(flowName).map((n) => n.id));
    let i = 1;
    while (ids.has(`${base}${i}`)) i += 1;
    return `${base}${i}`;
  }

  /** A new card of `type` with its required fields given a starting value. */
  newCard(type, extra = {}) {
    const card = { id: this.newCardId(type), type };
    const entry = this.catalogue.get(type);
    for (const [name, prop] of Object.entries((entry && entry.schema.properties) || {})) {
      if (name === 'id' || name === 'type') continue;
      if (prop.default !== undefined && prop.default !== null) card[name] = clone(prop.default);
    }
    if (type === 'capture') Object.assign(card, { capture: 'raw', variable: '', prompt: '' });
    return Object.assign(card, extra);
  }

  // ---- changing ---------------------------------------------------------------------------
  takeSnapshot() {
    return { logic: JSON.stringify(logicPart(this.doc)), layout: JSON.stringify(this.doc.layout), flowName: this.flowName };
  }

  /**
   * Apply `mutate(doc)` as one undoable step. `coalesce` merges quick repeats of the same
   * step (typing in one field) into one undo entry.
   */
  change(label, mutate, { coalesce = null } = {}) {
    if (this.readOnly) return false;
    const before = this.snapshot;
    mutate(this.doc);
    this.doc.layout = this.doc.layout || {};
    const after = this.takeSnapshot();
    const logic = after.logic !== before.logic;
    const layout = after.layout !== before.layout;
    if (!logic && !layout) return false;
    const now = Date.now();
    const last = this.lastStep;
    if (!(coalesce && last && last.coalesce === coalesce && now - last.at < COALESCE_MS && this.undoStack.length)) {
      this.undoStack.push({ label, snapshot: before });
      if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
    }
    this.lastStep = { coalesce, at: now };
    this.redoStack = [];
    this.snapshot = after;
    this.emit({ logic, layout, label });
    return true;
  }

  restoreSnapshot(target, from, to) {
    const current = this.snapshot;
    from.pop();
    to.push({ label: target.label, snapshot: current });
    const doc = JSON.parse(target.snapshot.logic);
    doc.layout = JSON.parse(target.snapshot.layout);
    this.doc = doc;
    if (this.flow(target.snapshot.flowName)) this.flowName = target.snapshot.flowName;
    if (!this.flow(this.flowName)) this.flowName = 'main';
    this.snapshot = this.takeSnapshot();
    this.lastStep = null;
    this.pruneSelection();
    this.emit({ logic: current.logic !== this.snapshot.logic, layout: current.layout !== this.snapshot.layout,
      label: target.label, history: true, flowChanged: true });
  }

  undo() {
    const step = this.undoStack[this.undoStack.length - 1];
    if (!step || this.readOnly) return false;
    this.restoreSnapshot(step, this.undoStack, this.redoStack);
    return true;
  }

  redo() {
    const step = this.redoStack[this.redoStack.length - 1];
    if (!step || this.readOnly) return false;
    this.restoreSnapshot(step, this.redoStack, this.undoStack);
    return true;
  }

  /** Replace the whole document (a reload after a conflict, a restore, an import). */
  load(document, revision) {
    this.doc = document;
    this.doc.layout = this.doc.layout || {};
    this.revision = revision;
    if (!this.flow(this.flowName)) this.flowName = this.flow('main') ? 'main' : (this.flows()[0] || {}).name;
    this.undoStack = [];
    this.redoStack = [];
    this.lastStep = null;
    this.snapshot = this.takeSnapshot();
    this.pruneSelection();
    this.emit({ logic: false, layout: false, loaded: true, flowChanged: true });
  }

  emit(detail) {
    this.dispatchEvent(new CustomEvent('change', { detail }));
  }

  // ---- navigation and selection -----------------------------------------------------------
  openFlow(name) {
    if (!this.flow(name) || name === this.flowName) return;
    this.flowName = name;
    this.selection = { nodes: [], card: null, edge: null };
    this.snapshot.flowName = name;
    this.emit({ logic: false, layout: false, flowChanged: true });
    this.dispatchEvent(new CustomEvent('select'));
  }

  select({ nodes = [], card = null, edge = null } = {}) {
    this.selection = { nodes, card, edge };
    this.dispatchEvent(new CustomEvent('select'));
  }

  pruneSelection() {
    const ids = new Set(this.nodes().map((n) => n.id));
    const nodes = this.selection.nodes.filter((id) => ids.has(id));
    const found = this.selection.card && this.findCard(this.selection.card);
    const card = found && found.flow.name === this.flowName ? this.selection.card : null;
    this.selection = { nodes, card, edge: null };
    this.dispatchEvent(new CustomEvent('select'));
  }
}

// ---- operations on the document (each used inside store.change) -------------------------------

export function setTransition(store, nodeId, port, target) {
  const node = store.node(nodeId);
  if (!node) return;
  if (port === 'next') { node.next = target; return; }
  const [cardId, field] = port.split(':');
  const card = store.cards(node).find((c) => c.id === cardId);
  if (card) card[field] = target;
}

/** What a trigger node waits for, in words: "conversation started", "event buy". */
export function triggerSummary(node) {
  const t = node.trigger || {};
  let text = { conversation_started: 'On conversation started', event: 'On custom event', state_expired: 'On state expired',
    webhook: 'On webhook', schedule: 'On schedule' }[t.type] || 'Trigger';
  if (t.type === 'event' && t.eventType) text += ` ${t.eventType}`;
  if (t.type === 'schedule' && t.cron) text += ` ${t.cron}${t.timezone ? ` (${t.timezone})` : ''}`;
  if (t.condition) text += ' (if …)';
  return text;
}

/** Remove nodes from the current flow; transitions into them are cleared. */
export function deleteNodes(store, ids) {
  const flow = store.flow();
  const gone = new Set(ids);
  flow.nodes = flow.nodes.filter((n) => !gone.has(n.id));
  for (const node of flow.nodes) {
    if (gone.has(node.next)) node.next = null;
    for (const card of store.cards(node)) {
      for (const field of store.transitionsOf(card)) if (gone.has(card[field])) card[field] = null;
    }
  }
  const positions = store.doc.layout[flow.name] || {};
  for (const id of ids) delete positions[id];
}

/** Copies of nodes with fresh node and card ids; transitions among them follow the copies. */
export function copyNodes(store, nodes, flowName = store.flowName) {
  const takenNodes = new Set(store.nodes(flowName).map((n) => n.id));
  const takenCards = store.allCardIds();
  const rename = new Map();
  for (const node of nodes) {
    let id = node.id;
    let i = 2;
    const base = node.id.replace(/(-copy)?\d*$/, '') || 'node';
    while (takenNodes.has(id)) { id = `${base}${i}`; i += 1; }
    takenNodes.add(id);
    rename.set(node.id, id);
  }
  const targets = new Set(store.nodes(flowName).map((n) => n.id));
  const remap = (target) => (rename.has(target) ? rename.get(target) : (targets.has(target) ? target : null));
  return nodes.map((node) => {
    const copy = clone(node);
    copy.id = rename.get(node.id);
    if (copy.name && copy.name === node.id) copy.name = copy.id;
    if ('next' in copy && copy.next) copy.next = remap(copy.next);
    for (const card of store.cards(copy)) {
      let id;
      do { id = `${card.type}-${randomSuffix()}`; } while (takenCards.has(id));
      takenCards.add(id);
      card.id = id;
      for (const field of store.transitionsOf(card)) if (card[field]) card[field] = remap(card[field]);
    }
    return copy;
  });
}

/** Every place a variable is referenced: [{flow, node, card, field}]. */
export function variableUsages(store, scope, name, flowName) {
  const pattern = new RegExp(`(^|[^A-Za-z0-9_$.])${scope}\\s*\\.\\s*${name}(?![A-Za-z0-9_$])`);
  const out = [];
  for (const flow of store.flows()) {
    if (scope === 'workflow' && flow.name !== flowName) continue;
    for (const node of flow.nodes || []) {
      // An autonomous node's instructions are a template too.
      if (typeof node.instructions === 'string' && node.instructions.match(pattern)) out.push({ flow: flow.name, node: node.id, field: 'instructions' });
      for (const card of store.cards(node)) {
        for (const [field, value] of Object.entries(card)) {
          if (field === 'id' || field === 'type') continue;
          if (JSON.stringify(value ?? '').match(pattern)) out.push({ flow: flow.name, node: node.id, card: card.id, field });
        }
      }
    }
  }
  if (scope === 'workflow') {
    // An input of a called flow is also used by every Workflow card that passes it.
    for (const flow of store.flows()) for (const node of flow.nodes || []) for (const card of store.cards(node)) {
      if (card.type === 'call' && card.flow === flowName && card.inputs && name in card.inputs) {
        out.push({ flow: flow.name, node: node.id, card: card.id, field: 'inputs' });
      }
    }
  }
  return out;
}

function replaceInStrings(value, pattern, replacement) {
  if (typeof value === 'string') return value.replace(pattern, replacement);
  if (Array.isArray(value)) return value.map((v) => replaceInStrings(v, pattern, replacement));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceInStrings(v, pattern, replacement)]));
  }
  return value;
}

/** Rename a variable and every reference to it (`scope.old` -> `scope.new`, call inputs, outputs). */
export function renameVariable(store, scope, oldName, newName, flowName) {
  const rewrite = (flows, prefix) => {
    const pattern = new RegExp(`(^|[^A-Za-z0-9_$.])(${prefix}\\s*\\.\\s*)${oldName.replace(/\$/g, '\\$')}(?![A-Za-z0-9_$])`, 'g');
    for (const flow of flows) for (const node of flow.nodes || []) {
      if (typeof node.instructions === 'string') node.instructions = node.instructions.replace(pattern, `$1$2${newName}`);
      node.cards = store.cards(node).map((card) => {
        const { id, type, ...fields } = card;
        return { id, type, ...replaceInStrings(fields, pattern, `$1$2${newName}`) };
      });
    }
  };
  if (scope === 'workflow') {
    const flow = store.flow(flowName);
    rewrite([flow], 'workflow');
    const variable = (flow.variables || []).find((v) => v.name === oldName);
    if (variable) variable.name = newName;
    // Callers: the input key on their Workflow cards, and workflow.<call name>.<output>.
    for (const caller of store.flows()) for (const node of caller.nodes || []) for (const card of store.cards(node)) {
      if (card.type !== 'call' || card.flow !== flowName) continue;
      if (card.inputs && oldName in card.inputs) {
        card.inputs = Object.fromEntries(Object.entries(card.inputs).map(([k, v]) => [k === oldName ? newName : k, v]));
      }
      if (card.name) rewrite([caller], `workflow\\s*\\.\\s*${card.name}`);
    }
  } else {
    rewrite(store.flows(), scope === 'env' ? 'env' : scope);
    const list = scope === 'env' ? store.doc.config : store.doc.variables;
    const variable = (list || []).find((v) => v.name === oldName && (scope === 'env' || v.scope === scope));
    if (variable) variable.name = newName;
  }
}

/** Rename a flow; Workflow cards that call it and its layout follow. */
export function renameFlow(store, oldName, newName) {
  const flow = store.flow(oldName);
  flow.name = newName;
  for (const other of store.flows()) for (const node of other.nodes || []) for (const card of store.cards(node)) {
    if (card.type === 'call' && card.flow === oldName) card.flow = newName;
  }
  if (store.doc.layout[oldName]) {
    store.doc.layout[newName] = store.doc.layout[oldName];
    delete store.doc.layout[oldName];
  }
}

/** The Workflow cards that call `flowName`: [{flow, node, card}]. */
export function callersOf(store, flowName) {
  const out = [];
  for (const flow of store.flows()) for (const node of flow.nodes || []) for (const card of store.cards(node)) {
    if (card.type === 'call' && card.flow === flowName) out.push({ flow: flow.name, node: node.id, card: card.id });
  }
  return out;
}
