// The flow editor page: reads the boot data the server rendered, builds the panels and wires
// them together, and owns the keyboard shortcuts (Botpress: Keyboard Shortcuts).

import { Store, clone, copyNodes } from './store.js';
import { Canvas, GEOMETRY } from './canvas.js';
import { CardDrag } from './drag.js';
import { Tray, TrayPopover } from './tray.js';
import { Completion } from './completion.js';
import { VariablePicker } from './varpicker.js';
import { Inspector } from './inspector.js';
import { Explorer } from './explorer.js';
import { ProblemsPanel } from './problems.js';
import { Saver, api } from './save.js';
import { Find } from './find.js';
import { Versions } from './versions.js';
import { TablesPanel } from './tables.js';
import { KnowledgePanel } from './knowledge.js';
import { Prefs, applyTheme } from './prefs.js';
import { Layout } from './layout.js';
import { cardTitle } from './cards.js';
import { installEmptyCanvasHint } from './hint.js';
import { contextMenu, form, toast } from './dialogs.js';
import { openAgents } from './agents.js';
import { bind as bindShortcuts, provide, shortcutsTable } from './shortcuts.js';

const boot = JSON.parse(document.getElementById('fs-boot').textContent);
const base = `/bots/${boot.bot.id}/editor/`;
const urls = {
  draft: `${base}draft`, problems: `${base}problems`, layout: `${base}layout`, publish: `${base}publish`, versions: `${base}versions`,
  versionsBase: `${base}versions/`, diff: `${base}diff`, export: `${base}export`, import: `${base}import`,
};
const $ = (selector) => document.querySelector(selector);

const prefs = new Prefs();
applyTheme(prefs.get('theme'));

const store = new Store({
  document: boot.draft.document, revision: boot.draft.revision, catalogue: boot.catalogue, reservedFlows: boot.reservedFlows,
});
store.readOnly = !boot.can.change;
document.body.classList.toggle('fs-readonly', store.readOnly);

// Before the canvas: the panels take their remembered sizes first, the canvas the rest.
const layout = new Layout(prefs);
const canvas = new Canvas(store, { container: $('#fs-canvas'), minimap: $('#fs-minimap'), prefs, fitPadding: () => layout.fitPadding() });
const drag = new CardDrag(store, canvas);
const completion = new Completion(store, boot.writtenTypes);
const picker = new VariablePicker(store, { written: boot.writtenTypes, variableTypes: boot.variableTypes });
const saver = new Saver(store, urls);
const problems = new ProblemsPanel(store, $('#fs-problems'), { navigate });
// Before the inspector: its knowledge base pickers read the Knowledge tab's list.
const knowledge = new KnowledgePanel({
  list: $('#fs-knowledge'), view: $('#fs-kb-view'), botId: boot.bot.id, readOnly: store.readOnly,
  tables: () => store.doc.tables || [],
});
const inspector = new Inspector(store, $('#fs-inspector'), {
  completion, picker, defs: boot.schemaDefs, canvas, llm: boot.llm, triggerTypes: boot.triggerTypes,
  knowledgeBases: () => knowledge.names(),
});
const explorer = new Explorer(store, $('#fs-explorer'), {
  variableTypes: boot.variableTypes, navigate, configUrl: `/bots/${boot.bot.id}/config/`,
});
const tray = new Tray(store, drag, $('#fs-tray'));
const trayPopover = new TrayPopover(store, canvas);
installEmptyCanvasHint(store, $('.fs-canvas-wrap'));
const find = new Find(store, canvas, { navigate });
const versions = new Versions(store, $('#fs-versions'), {
  urls, saver, problems, can: boot.can, onReload: (data) => reload(data),
});

const tables = new TablesPanel({
  list: $('#fs-tables'), view: $('#fs-table-view'), botId: boot.bot.id, readOnly: store.readOnly, saver,
  // After the API changed the draft's tables: take the server's draft, as after a conflict.
  reloadDraft: () => saver.resolve('theirs'),
});

function reload(data) {
  store.load(data.document, data.revision);
  problems.set(data.problems);
  versions.refresh();
}

// ---- problems, save state --------------------------------------------------------------------
let started = false;
problems.addEventListener('change', (e) => {
  canvas.setProblems(e.detail, { render: started });
  inspector.setProblems(e.detail);
  const errors = problems.errors.length;
  const badge = $('#fs-problems-badge');
  badge.textContent = errors ? `${errors} error${errors > 1 ? 's' : ''}` : (problems.warnings.length ? `${problems.warnings.length} warning${problems.warnings.length > 1 ? 's' : ''}` : 'No problems');
  badge.dataset.level = errors ? 'error' : (problems.warnings.length ? 'warning' : 'ok');
  $('#fs-publish').title = errors ? 'Fix the errors in the problems panel before publishing' : 'Publish the draft as a new version';
  $('#fs-publish').classList.toggle('blocked', errors > 0);
});
saver.addEventListener('problems', (e) => problems.set(e.detail));

const SAVE_LABELS = {
  saved: 'All changes saved', pending: 'Unsaved changes', saving: 'Saving…', conflict: 'Conflict',
  offline: 'Offline, retrying…', error: 'Not saved', readonly: 'Read only',
};
saver.addEventListener('state', (e) => {
  const { state, message, currentRevision, changes } = e.detail;
  const el = $('#fs-save-state');
  el.dataset.state = state;
  el.textContent = SAVE_LABELS[state] || state;
  el.title = message || '';
  const banner = $('#fs-conflict');
  banner.hidden = state !== 'conflict';
  if (state === 'conflict') {
    banner.dataset.revision = currentRevision;
    banner.querySelector('.fs-conflict-text').textContent = `Someone else saved this bot meanwhile (revision ${currentRevision}`
      + `${changes ? `: ${changes}` : ''}). Your last changes are not saved.`;
  }
  if (state === 'error') toast(`Not saved: ${message}`, 'error', 8000);
});
$('#fs-conflict').addEventListener('click', async (e) => {
  const button = e.target.closest('button[data-choice]');
  if (!button) return;
  const revision = Number($('#fs-conflict').dataset.revision);
  await saver.resolve(button.dataset.choice, revision);
});
if (store.readOnly) saver.setState('readonly');

// ---- navigation ------------------------------------------------------------------------------
function showPanel(name, open = true) {
  document.body.classList.toggle(`fs-hide-${name}`, !open);
  setTimeout(() => canvas.graph.resize(), 0);
}

function leftTab(tab) {
  for (const el of document.querySelectorAll('[data-left-tab]')) el.setAttribute('aria-selected', el.dataset.leftTab === tab ? 'true' : 'false');
  for (const id of ['explorer', 'library', 'versions', 'tables', 'knowledge']) $(`#fs-${id}`).hidden = id !== tab;
  if (tab === 'tables') tables.show(); else tables.hide();
  if (tab === 'knowledge') knowledge.show(); else knowledge.hide();
  showPanel('left', true);
}

function flash(el) {
  if (!el) return;
  el.classList.remove('fs-flash');
  void el.offsetWidth; // restart the animation
  el.classList.add('fs-flash');
  el.scrollIntoView({ block: 'nearest' });
}

function navigate(location) {
  if (location.find !== undefined) { find.open(location.find); return; }
  if (location.library || ['intents', 'entities'].includes(location.section)) {
    leftTab('library');
    const at = /^\$\.(intents|entities)\[(\d+)\]/.exec((location.problem && location.problem.path) || '');
    const entry = at && (store.doc[at[1]] || [])[Number(at[2])];
    if (entry) flash(document.querySelector(`#fs-library [data-library="${at[1]}"][data-library-entry="${CSS.escape(entry.name)}"]`));
    return;
  }
  if (location.section === 'tables') {
    // A table definition's problem: the Tables tab, that table open when it still parses.
    leftTab('tables');
    const at = /^\$\.tables\[(\d+)\]/.exec((location.problem && location.problem.path) || '');
    const entry = at && (store.doc.tables || [])[Number(at[1])];
    if (entry && entry.name) tables.loadList().then(() => tables.open(entry.name));
    return;
  }
  if (location.flow && location.flow !== store.flowName) store.openFlow(location.flow);
  if (location.variable) {
    leftTab('explorer');
    const scope = location.scope || 'workflow';
    flash(document.querySelector(`#fs-explorer [data-scope="${scope}"][data-variable="${CSS.escape(location.variable)}"]`));
    return;
  }
  if (location.node && store.node(location.node)) {
    canvas.focusNode(location.node, { card: location.card && store.findCard(location.card) ? location.card : null });
    showPanel('right', true);
    if (location.field) {
      const field = document.querySelector(`#fs-inspector [data-field-wrap="${CSS.escape(location.field)}"]`);
      if (field) { flash(field); field.querySelector('input, textarea, select')?.focus(); }
    }
    return;
  }
  if (location.flow) store.select({});
}

$('#fs-rail').addEventListener('click', (e) => {
  const button = e.target.closest('[data-left-tab]');
  if (!button) return;
  const open = !document.body.classList.contains('fs-hide-left');
  if (open && button.getAttribute('aria-selected') === 'true') showPanel('left', false);
  else leftTab(button.dataset.leftTab);
});

store.addEventListener('change', (e) => {
  if (e.detail.flowChanged) $('#fs-flow-name').textContent = store.flowName;
  $('#fs-undo').disabled = !store.undoStack.length || store.readOnly;
  $('#fs-redo').disabled = !store.redoStack.length || store.readOnly;
});

// ---- canvas interactions -------------------------------------------------------------------------
canvas.addEventListener('cardpointerdown', (e) => {
  const { event, cardId, nodeId } = e.detail;
  const found = store.findCard(cardId);
  drag.start(event, {
    label: found ? cardTitle(store, found.card) : cardId,
    cardId,
    onClick: () => { store.select({ nodes: [nodeId], card: cardId }); canvas.render(); },
  });
});

canvas.addEventListener('contextmenu', (e) => {
  const { clientX, clientY, x, y, node } = e.detail;
  const ro = store.readOnly;
  if (node) {
    const kind = store.node(node)?.kind;
    contextMenu(clientX, clientY, [
      { label: 'Copy', action: copySelection },
      { label: 'Duplicate', action: () => { copySelection(); paste(); }, disabled: ro },
      '-',
      { label: 'Delete', action: () => canvas.deleteSelection(), danger: true, disabled: ro || ['start', 'entry'].includes(kind) },
    ]);
    return;
  }
  const main = store.flowName === 'main';
  const custom = store.isCustom(store.flowName);
  contextMenu(clientX, clientY, [
    { label: 'Standard node', action: () => canvas.addNode('standard', x, y), disabled: ro },
    { label: 'Autonomous node', action: () => canvas.addNode('autonomous', x, y), disabled: ro },
    { label: 'Trigger node', action: () => canvas.addNode('trigger', x, y), disabled: ro },
    { label: 'End node', action: () => canvas.addNode('end', x, y), disabled: ro || !main },
    { label: 'Exit node', action: () => canvas.addNode('exit', x, y), disabled: ro || !custom },
    '-',
    { label: 'Paste', action: () => paste({ x, y }), disabled: ro || !readClipboard() },
    { label: 'Select all', action: () => canvas.selectAll() },
  ]);
});

// ---- clipboard --------------------------------------------------------------------------------------
const CLIPBOARD_KEY = 'flowstudio.clipboard';
let clipboard = null;

function readClipboard() {
  if (clipboard) return clipboard;
  try { return JSON.parse(localStorage.getItem(CLIPBOARD_KEY) || 'null'); } catch (err) { return null; }
}

function copySelection() {
  const ids = store.selection.nodes.filter((id) => !['start', 'entry'].includes(store.node(id)?.kind));
  if (!ids.length) return false;
  const nodes = ids.map((id) => clone(store.node(id)));
  const positions = Object.fromEntries(ids.map((id) => [id, store.position(id) || canvas.graph.getCellById(id)?.getPosition() && [canvas.graph.getCellById(id).getPosition().x, canvas.graph.getCellById(id).getPosition().y]]));
  clipboard = { nodes, positions };
  try { localStorage.setItem(CLIPBOARD_KEY, JSON.stringify(clipboard)); } catch (err) { /* kept in memory only */ }
  toast(`Copied ${ids.length} node${ids.length > 1 ? 's' : ''}.`);
  return true;
}

function paste(at = null) {
  const data = readClipboard();
  if (!data || store.readOnly) return;
  const flowName = store.flowName;
  const nodes = data.nodes.filter((n) => !(n.kind === 'end' && flowName !== 'main') && !(n.kind === 'exit' && flowName === 'main'));
  if (!nodes.length) return;
  const copies = copyNodes(store, nodes, flowName);
  const origin = data.positions[nodes[0].id] || [0, 0];
  const shift = at ? [at.x - origin[0] - GEOMETRY.width / 2, at.y - origin[1]] : [40, 40];
  store.change(`Paste ${copies.length} node${copies.length > 1 ? 's' : ''}`, (doc) => {
    const flow = store.flow(flowName);
    doc.layout[flowName] = doc.layout[flowName] || {};
    copies.forEach((copy, i) => {
      flow.nodes.push(copy);
      const p = data.positions[nodes[i].id] || origin;
      doc.layout[flowName][copy.id] = [Math.round(p[0] + shift[0]), Math.round(p[1] + shift[1])];
    });
  });
  // The next paste lands a little further on, not on top of this one.
  if (!at) {
    for (const id of Object.keys(data.positions)) data.positions[id] = [data.positions[id][0] + 40, data.positions[id][1] + 40];
    clipboard = data;
  }
  store.select({ nodes: copies.map((c) => c.id) });
}

// ---- top bar ---------------------------------------------------------------------------------------
$('#fs-undo').addEventListener('click', () => store.undo());
$('#fs-redo').addEventListener('click', () => store.redo());
$('#fs-find-button').addEventListener('click', () => find.open());
$('#fs-agents').addEventListener('click', () => openAgents(store, { schema: boot.agentsSchema, llm: boot.llm }));
$('#fs-publish').addEventListener('click', () => versions.publish());
$('#fs-problems-badge').addEventListener('click', () => showPanel('bottom', document.body.classList.contains('fs-hide-bottom')));
document.addEventListener('fs:show-problems', () => showPanel('bottom', true));
$('#fs-zoom-in').addEventListener('click', () => canvas.zoom(0.1));
$('#fs-zoom-out').addEventListener('click', () => canvas.zoom(-0.1));
$('#fs-zoom-fit').addEventListener('click', () => canvas.zoom(0));
$('#fs-tray-toggle').addEventListener('click', () => layout.toggleTray());
$('#fs-add').addEventListener('click', (e) => {
  const rect = e.currentTarget.getBoundingClientRect();
  trayPopover.open(rect.left, rect.bottom + 6);
});
document.addEventListener('fs:tray-fold', (e) => layout.toggleTray(e.detail.open));
$('#fs-menu').addEventListener('click', (e) => {
  const rect = e.currentTarget.getBoundingClientRect();
  contextMenu(rect.left, rect.bottom + 4, [
    { label: 'Export bot file', action: () => versions.exportDraft() },
    { label: 'Import bot file…', action: () => versions.importFile(), disabled: store.readOnly },
    '-',
    { label: 'Studio preferences…', action: preferences },
    { label: 'Keyboard shortcuts', action: shortcuts },
  ]);
});

async function preferences() {
  const values = await form({
    title: 'Studio preferences', submit: 'Save',
    fields: [
      { name: 'theme', label: 'Studio theme', type: 'select', value: prefs.get('theme'), options: [['system', 'System (default)'], ['light', 'Light'], ['dark', 'Dark']] },
      { name: 'snapToGrid', label: 'Workflow: snap to grid', type: 'checkbox', value: prefs.get('snapToGrid') },
    ],
  });
  if (!values) return;
  prefs.set('theme', values.theme);
  prefs.set('snapToGrid', values.snapToGrid);
  canvas.setSnap(values.snapToGrid);
}

function shortcuts() {
  form({ title: 'Keyboard shortcuts', fields: [{ name: 'k', type: 'html', html: shortcutsTable() }], submit: 'Close' });
}

// ---- keyboard shortcuts (the table and its binding: shortcuts.js) ---------------------------------
const toggler = (name, hidden) => () => showPanel(name, document.body.classList.contains(hidden));
provide({
  copy: () => copySelection(), // false when nothing is selected: the browser copies the text
  paste: () => { paste(); },
  deleteSelection: () => { canvas.deleteSelection(); },
  undo: () => { store.undo(); },
  redo: () => { store.redo(); },
  find: () => { find.open(); },
  selectAll: () => { canvas.selectAll(); },
  toggleLeft: toggler('left', 'fs-hide-left'),
  toggleInspector: toggler('right', 'fs-hide-right'),
  toggleProblems: toggler('bottom', 'fs-hide-bottom'),
  escape: () => { find.close(); store.select({}); canvas.render(); },
});
bindShortcuts();

// ---- start ------------------------------------------------------------------------------------------
if (boot.draft.problems) problems.set(boot.draft.problems);
else problems.checking();
versions.set(boot.versions);
leftTab('explorer');
// X6 draws synchronously here (canvas.js), so the canvas is complete when render() returns;
// ready is marked at the next frame, once the browser has painted it.
canvas.render({ fresh: true });
started = true;
inspector.render();
$('#fs-flow-name').textContent = store.flowName;
$('#fs-undo').disabled = true;
$('#fs-redo').disabled = true;
requestAnimationFrame(() => {
  document.body.dataset.editorReady = 'true';
  performance.mark('fs-editor-ready');
  if (!boot.draft.problems) {
    api(urls.problems).then((response) => {
      // A save made meanwhile brought fresher problems; these would be older.
      if (response.ok && response.data.revision === store.revision && !saver.dirty()) problems.set(response.data.problems);
    });
  }
});
window.flowEditor = { store, canvas, saver, problems, prefs, layout };
