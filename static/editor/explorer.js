// The explorer (left panel): flows with folders and the reserved flows, variables of every
// scope, and the library lists.

import { NAME_PATTERN, callersOf, clone, renameFlow, renameVariable, variableUsages } from './store.js';
import { escapeHtml } from './cards.js';
import { confirm, contextMenu, form, toast } from './dialogs.js';

const FLOW_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const RESERVED_HELP = {
  error: 'Runs when a card fails (code throws, bad expression, loop guard).',
  timeout: 'Runs when the inactivity timeout fires on an active conversation.',
  conversation_end: 'Runs when a conversation reaches an End node.',
};
const LIBRARY = [
  ['intents', 'Intents'], ['entities', 'Entities'], ['schemas', 'Schemas'],
  ['tables', 'Tables'], ['knowledgeBases', 'Knowledge bases'], ['hooks', 'Hooks'],
];

// Which library lists the editor edits (key -> singular), the rest are listed as imported.
const LIBRARY_EDITABLE = { intents: 'intent', entities: 'entity', hooks: 'hook' };
// docs/hooks-and-triggers.md: when each hook type runs and what it may change.
const HOOK_TYPES = [
  ['before_incoming', 'Before incoming: before NLU; change event, or return false to drop it'],
  ['after_incoming', 'After incoming: after NLU, before the dialog; change or drop the event'],
  ['before_outgoing', 'Before outgoing: each reply; change outgoingEvent.payload, or return false to drop it'],
  ['after_turn', 'After turn: sees event and outgoing; for analytics and axios calls'],
];
const LIBRARY_NAME = /^[A-Za-z0-9 _.-]{1,64}$/;
const SYSTEM_ENTITIES = ['email', 'url', 'phone', 'money', 'percentage', 'datetime', 'number'];
const MIN_UTTERANCES = 10;

function libraryTag(key, item) {
  if (key === 'intents') return `${(item.utterances || []).length} utt.`;
  if (key === 'hooks') return `${item.type || ''}${item.enabled === false ? ' (off)' : ''}`;
  return item.type || '';
}

function libraryHint(key, item) {
  if (key === 'intents') return item.description || (item.utterances || []).slice(0, 3).join(' · ');
  if (key === 'hooks') return item.description || (item.code || '').split('\n')[0];
  if (item.type === 'pattern') return item.pattern || '';
  return (item.values || []).map((v) => v.name).join(', ');
}

/** "value: synonym, synonym" lines -> [{name, synonyms}] (blank lines skipped). */
export function parseEntityValues(text) {
  const values = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const at = line.indexOf(':');
    const name = (at >= 0 ? line.slice(0, at) : line).trim();
    const synonyms = at >= 0 ? [...new Set(line.slice(at + 1).split(',').map((s) => s.trim()).filter(Boolean))] : [];
    values.push({ name, synonyms });
  }
  return values;
}

function showEntityValues(values) {
  return (values || []).map((v) => (v.synonyms && v.synonyms.length ? `${v.name}: ${v.synonyms.join(', ')}` : v.name)).join('\n');
}

function parseDefault(type, text) {
  if (text === '' || text === undefined) return { value: undefined };
  try {
    if (type === 'number') {
      const n = Number(text);
      if (Number.isNaN(n)) return { error: 'Not a number' };
      return { value: n };
    }
    if (type === 'boolean') {
      if (text !== 'true' && text !== 'false') return { error: 'true or false' };
      return { value: text === 'true' };
    }
    if (type === 'object' || type === 'array' || type === 'schema') {
      const v = JSON.parse(text);
      if (type === 'array' && !Array.isArray(v)) return { error: 'A JSON list, e.g. ["a", "b"]' };
      if (type === 'object' && (typeof v !== 'object' || v === null || Array.isArray(v))) return { error: 'A JSON object, e.g. {"a": 1}' };
      return { value: v };
    }
  } catch (err) {
    return { error: `Not valid JSON: ${err.message}` };
  }
  return { value: text };
}

function showDefault(value) {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export class Explorer {
  constructor(store, root, { variableTypes, navigate, configUrl = '' }) {
    this.store = store;
    this.configUrl = configUrl; // the bot's Configuration variables page, where values are set
    this.root = root;
    this.variableTypes = variableTypes;
    this.navigate = navigate;
    this.collapsed = new Set();
    root.addEventListener('click', (e) => this.onClick(e));
    root.addEventListener('contextmenu', (e) => {
      const row = e.target.closest('[data-flow], [data-variable], [data-folder]');
      if (!row) return;
      e.preventDefault();
      this.menuFor(row, e.clientX, e.clientY);
    });
    store.addEventListener('change', (e) => { if (e.detail.logic || e.detail.flowChanged || e.detail.loaded) this.render(); });
    this.render();
  }

  render() {
    const store = this.store;
    const mutating = store.readOnly ? ' disabled' : '';
    const customs = store.flows().filter((f) => store.isCustom(f.name));
    const folders = new Map();
    for (const folder of store.doc.folders || []) folders.set(folder, []);
    const loose = [];
    for (const flow of customs) {
      if (flow.folder) { if (!folders.has(flow.folder)) folders.set(flow.folder, []); folders.get(flow.folder).push(flow); } else loose.push(flow);
    }
    const flowRow = (flow, extra = '') => `<li><button type="button" class="fs-tree-item${flow.name === store.flowName ? ' active' : ''}" data-flow="${escapeHtml(flow.name)}" title="${escapeHtml(flow.description || flow.name)}">`
      + `<span class="fs-tree-label">${escapeHtml(flow.name)}</span>${extra}</button></li>`;
    let flowsHtml = '';
    const main = store.flow('main');
    if (main) flowsHtml += flowRow(main, '<span class="fs-tag">main</span>');
    for (const [folder, flows] of [...folders.entries()].sort()) {
      const closed = this.collapsed.has(folder);
      flowsHtml += `<li class="fs-folder"><button type="button" class="fs-tree-item fs-folder-name" data-folder="${escapeHtml(folder)}" aria-expanded="${!closed}">`
        + `<span class="fs-caret">${closed ? '▸' : '▾'}</span><span class="fs-tree-label">${escapeHtml(folder)}</span><span class="fs-count">${flows.length}</span></button>`;
      if (!closed) flowsHtml += `<ul>${flows.sort((a, b) => a.name.localeCompare(b.name)).map((f) => flowRow(f)).join('') || '<li class="fs-empty">Empty folder</li>'}</ul>`;
      flowsHtml += '</li>';
    }
    flowsHtml += loose.sort((a, b) => a.name.localeCompare(b.name)).map((f) => flowRow(f)).join('');
    let reservedHtml = '';
    for (const name of store.reservedFlows.filter((n) => n !== 'main')) {
      const flow = store.flow(name);
      reservedHtml += flow
        ? flowRow(flow, '<span class="fs-tag">reserved</span>')
        : `<li><button type="button" class="fs-tree-item fs-muted" data-add-reserved="${name}"${mutating} title="${escapeHtml(RESERVED_HELP[name])}"><span class="fs-tree-label">${escapeHtml(name)}</span><span class="fs-tag">+ add</span></button></li>`;
    }
    const flow = store.flow();
    const varRow = (scope, v) => `<li><button type="button" class="fs-tree-item" data-variable="${escapeHtml(v.name)}" data-scope="${scope}" title="${escapeHtml(v.description || '')}">`
      + `<span class="fs-tree-label">${escapeHtml(v.name)}</span><span class="fs-var-type">${escapeHtml(v.type || '')}</span>`
      + `${v.input ? '<span class="fs-tag">in</span>' : ''}${v.output ? '<span class="fs-tag">out</span>' : ''}</button></li>`;
    const scopeList = (title, scope, list) => `<div class="fs-subhead">${escapeHtml(title)}</div><ul class="fs-tree" data-scope-list="${scope}">`
      + (list.length ? list.map((v) => varRow(scope, v)).join('') : '<li class="fs-empty">None</li>') + '</ul>';
    const botVars = store.doc.variables || [];
    this.root.innerHTML = `
      <section class="fs-explorer-section" aria-label="Flows">
        <header class="fs-section-head"><h2>Flows</h2>
          <button type="button" class="fs-icon-button" data-action="add-folder" title="Add folder"${mutating}>+ Folder</button>
          <button type="button" class="fs-icon-button" data-action="add-flow" title="Add flow"${mutating}>+ Flow</button></header>
        <ul class="fs-tree">${flowsHtml}</ul>
        <div class="fs-subhead">Reserved</div><ul class="fs-tree">${reservedHtml}</ul>
      </section>
      <section class="fs-explorer-section" aria-label="Variables">
        <header class="fs-section-head"><h2>Variables</h2>
          <button type="button" class="fs-icon-button" data-action="add-variable" title="Add variable"${mutating}>+ Variable</button></header>
        ${scopeList(`Workflow (${flow ? flow.name : ''})`, 'workflow', (flow && flow.variables) || [])}
        ${scopeList('User', 'user', botVars.filter((v) => v.scope === 'user'))}
        ${scopeList('Bot', 'bot', botVars.filter((v) => v.scope === 'bot'))}
        <div class="fs-subhead">Configuration <button type="button" class="fs-icon-button small" data-action="add-config" title="Add configuration variable"${mutating}>+</button></div>
        <ul class="fs-tree">${(store.doc.config || []).map((c) => `<li><button type="button" class="fs-tree-item" data-variable="${escapeHtml(c.name)}" data-scope="env" title="${escapeHtml(c.description || 'Value set through the REST API (config/NAME/draft|production)')}"><span class="fs-tree-label">${escapeHtml(c.name)}</span><span class="fs-var-type">env</span></button></li>`).join('') || '<li class="fs-empty">None</li>'}</ul>
      </section>`;
    this.renderLibrary();
  }

  renderLibrary() {
    const target = document.querySelector('#fs-library');
    if (!target) return;
    if (!this.libraryBound) {
      this.libraryBound = true;
      target.addEventListener('click', (e) => this.onLibraryClick(e));
      target.addEventListener('contextmenu', (e) => {
        const row = e.target.closest('[data-library-entry]');
        if (!row) return;
        e.preventDefault();
        this.libraryMenu(row, e.clientX, e.clientY);
      });
    }
    const mutating = this.store.readOnly ? ' disabled' : '';
    target.innerHTML = LIBRARY.map(([key, title]) => {
      // Knowledge bases live in the database, not the draft (docs/bot-format.md): the draft's
      // list is always empty, so the section points at the tab that edits them.
      if (key === 'knowledgeBases') {
        return `<section class="fs-explorer-section" aria-label="${title}" data-library-section="${key}"><header class="fs-section-head"><h2>${title}</h2></header>`
          + '<p class="fs-pad"><button type="button" class="fs-link-button" data-open-tab="knowledge">Open the Knowledge tab</button> to add knowledge bases and their sources.</p></section>';
      }
      const items = this.store.doc[key] || [];
      const editable = LIBRARY_EDITABLE[key];
      const add = editable ? `<button type="button" class="fs-icon-button" data-action="add-${editable}" title="Add ${editable}"${mutating}>+ ${editable[0].toUpperCase()}${editable.slice(1)}</button>` : '';
      const row = (item) => (editable
        ? `<li><button type="button" class="fs-tree-item" data-library="${key}" data-library-entry="${escapeHtml(item.name)}" title="${escapeHtml(libraryHint(key, item))}">`
          + `<span class="fs-tree-label">${escapeHtml(item.name)}</span><span class="fs-var-type">${escapeHtml(libraryTag(key, item))}</span></button></li>`
        : `<li class="fs-tree-item static"><span class="fs-tree-label">${escapeHtml(item.name)}</span></li>`);
      return `<section class="fs-explorer-section" aria-label="${title}" data-library-section="${key}"><header class="fs-section-head"><h2>${title}</h2><span class="fs-count">${items.length}</span>${add}</header>`
        + `<ul class="fs-tree">${items.map(row).join('') || '<li class="fs-empty">None</li>'}</ul></section>`;
    }).join('') + '<p class="fs-muted fs-pad">Click an intent, entity or hook to edit, rename or delete it. The other lists come with imported bot files and are kept as they are.</p>';
  }

  onLibraryClick(e) {
    const button = e.target.closest('button');
    if (!button || button.disabled) return;
    if (button.dataset.openTab) { document.querySelector(`[data-left-tab="${button.dataset.openTab}"]`)?.click(); return; }
    if (button.dataset.libraryEntry !== undefined) { this.libraryMenu(button, e.clientX, e.clientY); return; }
    if (button.dataset.action === 'add-intent') this.editIntent(null);
    else if (button.dataset.action === 'add-entity') this.editEntity(null);
    else if (button.dataset.action === 'add-hook') this.editHook(null);
  }

  libraryMenu(row, x, y) {
    const key = row.dataset.library;
    const name = row.dataset.libraryEntry;
    const ro = this.store.readOnly;
    const edit = key === 'intents' ? () => this.editIntent(name)
      : key === 'hooks' ? () => this.editHook(name) : () => this.editEntity(name);
    contextMenu(x, y, [
      { label: 'Edit…', action: edit, disabled: ro },
      { label: 'Rename…', action: () => this.renameLibraryEntry(key, name), disabled: ro },
      '-',
      { label: 'Delete…', action: () => this.deleteLibraryEntry(key, name), danger: true, disabled: ro },
    ]);
  }

  onClick(e) {
    const button = e.target.closest('button');
    if (!button || button.disabled) return;
    if (button.dataset.flow) { this.navigate({ flow: button.dataset.flow }); return; }
    if (button.dataset.folder) {
      const f = button.dataset.folder;
      if (this.collapsed.has(f)) this.collapsed.delete(f); else this.collapsed.add(f);
      this.render();
      return;
    }
    if (button.dataset.addReserved) { this.addReservedFlow(button.dataset.addReserved); return; }
    if (button.dataset.variable) { this.menuFor(button, e.clientX, e.clientY); return; }
    const action = button.dataset.action;
    if (action === 'add-flow') this.addFlow();
    else if (action === 'add-folder') this.addFolder();
    else if (action === 'add-variable') this.editVariable(null);
    else if (action === 'add-config') this.addConfig();
  }

  menuFor(row, x, y) {
    if (row.dataset.folder) {
      const name = row.dataset.folder;
      const holds = this.store.flows().filter((f) => f.folder === name).length;
      contextMenu(x, y, [
        { label: 'New flow here…', action: () => this.addFlow(name), disabled: this.store.readOnly },
        '-',
        { label: holds ? 'Delete folder (move its flows out first)' : 'Delete folder', action: () => this.deleteFolder(name), danger: true, disabled: this.store.readOnly || holds > 0 || !(this.store.doc.folders || []).includes(name) },
      ]);
      return;
    }
    if (row.dataset.flow) {
      const name = row.dataset.flow;
      const custom = this.store.isCustom(name);
      contextMenu(x, y, [
        { label: 'Open', action: () => this.navigate({ flow: name }) },
        { label: 'Rename…', action: () => this.renameFlow(name), disabled: !custom || this.store.readOnly },
        { label: 'Move to folder…', action: () => this.moveFlow(name), disabled: !custom || this.store.readOnly },
        '-',
        { label: 'Delete…', action: () => this.deleteFlow(name), disabled: name === 'main' || this.store.readOnly, danger: true },
      ]);
    } else if (row.dataset.variable) {
      const { scope, variable } = row.dataset;
      contextMenu(x, y, scope === 'env'
        ? [{ label: 'Delete…', action: () => this.deleteVariable('env', variable), danger: true, disabled: this.store.readOnly }]
        : [
          { label: 'Edit…', action: () => this.editVariable({ scope, name: variable }), disabled: this.store.readOnly },
          { label: 'Find usages', action: () => this.navigate({ find: `${scope}.${variable}` }) },
          '-',
          { label: 'Delete…', action: () => this.deleteVariable(scope, variable), danger: true, disabled: this.store.readOnly },
        ]);
    }
  }

  // ---- flows -------------------------------------------------------------------------------
  flowNameProblem(name, except = null) {
    if (!FLOW_NAME.test(name)) return '1 to 64 letters, digits, _ or -';
    if (this.store.reservedFlows.includes(name)) return `${name} is a reserved flow name`;
    if (name !== except && this.store.flow(name)) return `A flow named ${name} exists already`;
    return null;
  }

  async addFlow(folder = '') {
    const folders = this.allFolders();
    const values = await form({
      title: 'New flow',
      fields: [
        { name: 'name', label: 'Name', placeholder: 'e.g. checkout' },
        { name: 'folder', label: 'Folder', type: 'select', value: folder, options: [['', '(none)'], ...folders.map((f) => [f, f])] },
      ],
      submit: 'Add flow',
      validate: (v) => { const p = this.flowNameProblem(v.name.trim()); return p ? { name: p } : null; },
    });
    if (!values) return;
    const name = values.name.trim();
    this.store.change(`Add flow ${name}`, (doc) => {
      const flow = { name, variables: [], nodes: [{ id: 'entry', kind: 'entry', next: 'exit' }, { id: 'exit', kind: 'exit' }] };
      if (values.folder) flow.folder = values.folder;
      doc.flows.push(flow);
      doc.layout[name] = { entry: [0, 0], exit: [480, 0] };
    });
    this.navigate({ flow: name });
  }

  addReservedFlow(name) {
    this.store.change(`Add ${name} flow`, (doc) => {
      doc.flows.push({ name, variables: [], nodes: [{ id: 'entry', kind: 'entry', next: 'node1' }, { id: 'node1', kind: 'standard', name: 'node1', cards: [], next: null }] });
      doc.layout[name] = { entry: [0, 0], node1: [360, 0] };
    });
    this.navigate({ flow: name });
  }

  /** Every folder: the bot file's `folders` (kept while empty) and those flows name. */
  allFolders() {
    return [...new Set([...(this.store.doc.folders || []), ...this.store.flows().map((f) => f.folder).filter(Boolean)])].sort();
  }

  async addFolder() {
    const values = await form({
      title: 'New folder', fields: [{ name: 'name', label: 'Folder name' }], submit: 'Add folder',
      validate: (v) => {
        const name = v.name.trim();
        if (!name) return { name: 'Give the folder a name' };
        if (name.length > 100) return { name: 'At most 100 characters' };
        if (this.allFolders().includes(name)) return { name: `A folder named ${name} exists already` };
        return null;
      },
    });
    if (!values) return;
    const name = values.name.trim();
    // Kept in the bot file (`folders`), so the empty folder survives a reload and an export.
    this.store.change(`Add folder ${name}`, (doc) => { doc.folders = [...(doc.folders || []), name]; });
    toast('Folder added. Move flows into it from their menu or the inspector.');
  }

  deleteFolder(name) {
    this.store.change(`Delete folder ${name}`, (doc) => { doc.folders = (doc.folders || []).filter((f) => f !== name); });
  }

  async renameFlow(oldName) {
    const values = await form({
      title: `Rename flow ${oldName}`, fields: [{ name: 'name', label: 'New name', value: oldName }], submit: 'Rename',
      intro: 'Workflow cards that call it are updated.',
      validate: (v) => { const p = this.flowNameProblem(v.name.trim(), oldName); return p ? { name: p } : null; },
    });
    if (!values || values.name.trim() === oldName) return;
    const newName = values.name.trim();
    const wasOpen = this.store.flowName === oldName;
    this.store.change(`Rename flow ${oldName}`, () => {
      renameFlow(this.store, oldName, newName);
      if (wasOpen) this.store.flowName = newName;
    });
    if (wasOpen) this.navigate({ flow: newName, force: true });
  }

  async moveFlow(name) {
    const folders = this.allFolders();
    const values = await form({
      title: `Move ${name}`, submit: 'Move',
      fields: [{ name: 'folder', label: 'Folder', type: 'select', value: this.store.flow(name).folder || '', options: [['', '(none)'], ...folders.map((f) => [f, f])] }],
    });
    if (!values) return;
    this.store.change(`Move flow ${name}`, () => {
      const flow = this.store.flow(name);
      if (values.folder) flow.folder = values.folder; else delete flow.folder;
    });
  }

  async deleteFlow(name) {
    const callers = callersOf(this.store, name);
    const message = callers.length
      ? `<p><strong>${callers.length} Workflow card${callers.length > 1 ? 's call' : ' calls'} this flow</strong> (${callers.map((c) => escapeHtml(`${c.flow} › ${c.node}`)).join(', ')}); they will show an error until you change them.</p>`
      : `<p>Delete the flow <strong>${escapeHtml(name)}</strong> and all its nodes?</p>`;
    if (!await confirm({ title: `Delete flow ${name}?`, message, submit: 'Delete flow', danger: true })) return;
    if (this.store.flowName === name) this.navigate({ flow: 'main' });
    this.store.change(`Delete flow ${name}`, (doc) => {
      doc.flows = doc.flows.filter((f) => f.name !== name);
      delete doc.layout[name];
    });
  }

  // ---- variables -----------------------------------------------------------------------------
  variableList(scope) {
    if (scope === 'workflow') return this.store.flow().variables || (this.store.flow().variables = []);
    if (scope === 'env') return this.store.doc.config || [];
    return (this.store.doc.variables || []).filter((v) => v.scope === scope);
  }

  async editVariable(existing) {
    const store = this.store;
    const flow = store.flow();
    const original = existing ? clone(this.variableList(existing.scope).find((v) => v.name === existing.name)) : null;
    const custom = store.isCustom(flow.name);
    const schemas = (store.doc.schemas || []).map((s) => s.name);
    const values = await form({
      title: existing ? `Edit ${existing.scope}.${existing.name}` : 'New variable',
      submit: existing ? 'Save' : 'Add',
      fields: [
        { name: 'scope', label: 'Scope', type: 'select', value: existing ? existing.scope : 'workflow',
          options: existing ? [[existing.scope, existing.scope]] : [['workflow', `Workflow (${flow.name})`], ['user', 'User'], ['bot', 'Bot']],
          hint: 'Workflow: this flow only. User: follows the user across conversations. Bot: shared by everyone.' },
        { name: 'name', label: 'Name', value: original ? original.name : '', placeholder: 'e.g. firstName' },
        { name: 'type', label: 'Type', type: 'select', value: original ? original.type : 'string', options: this.variableTypes.map((t) => [t, t]) },
        { name: 'values', label: 'Allowed values', value: original && original.values ? original.values.join(', ') : '', hint: 'Comma-separated', showWhen: (v) => v.type === 'enum' },
        { name: 'pattern', label: 'Pattern (regular expression)', value: original ? original.pattern || '' : '', showWhen: (v) => v.type === 'pattern' },
        { name: 'schema', label: 'Schema', type: 'select', value: original ? original.schema || '' : '', options: [['', '(choose)'], ...schemas.map((s) => [s, s])], showWhen: (v) => v.type === 'schema' },
        { name: 'default', label: 'Default value', value: original ? showDefault(original.default) : '', hint: 'Optional. Numbers, true/false, or JSON for objects and lists.' },
        { name: 'description', label: 'Description', value: original ? original.description || '' : '' },
        { name: 'input', label: 'Input (callers pass a value)', type: 'checkbox', value: original ? original.input : false, showWhen: (v) => v.scope === 'workflow' && custom },
        { name: 'output', label: 'Output (callers can read it)', type: 'checkbox', value: original ? original.output : false, showWhen: (v) => v.scope === 'workflow' && custom },
      ],
      validate: (v) => {
        const errors = {};
        const name = v.name.trim();
        if (!NAME_PATTERN.test(name)) errors.name = 'A letter or _ then letters, digits or _ (at most 64)';
        else if ((!original || original.name !== name) && this.variableList(v.scope).some((x) => x.name === name)) errors.name = `${v.scope}.${name} exists already`;
        if (v.type === 'enum' && !v.values.split(',').map((s) => s.trim()).filter(Boolean).length) errors.values = 'List at least one value';
        if (v.type === 'pattern') { try { new RegExp(v.pattern); } catch (err) { errors.pattern = err.message; } if (!v.pattern) errors.pattern = 'Required'; }
        if (v.type === 'schema' && !v.schema) errors.schema = 'Choose a schema';
        const parsed = parseDefault(v.type, v.default);
        if (parsed.error) errors.default = parsed.error;
        return errors;
      },
    });
    if (!values) return;
    const name = values.name.trim();
    const decl = { name, type: values.type };
    if (values.type === 'enum') decl.values = [...new Set(values.values.split(',').map((s) => s.trim()).filter(Boolean))];
    if (values.type === 'pattern') decl.pattern = values.pattern;
    if (values.type === 'schema') decl.schema = values.schema;
    const parsed = parseDefault(values.type, values.default);
    if (parsed.value !== undefined) decl.default = parsed.value;
    if (values.description) decl.description = values.description;
    const scope = values.scope;
    if (scope === 'workflow') { decl.input = Boolean(values.input && custom); decl.output = Boolean(values.output && custom); }
    const flowName = flow.name;
    store.change(existing ? `Edit variable ${name}` : `Add variable ${name}`, (doc) => {
      if (original && original.name !== name) renameVariable(store, scope, original.name, name, flowName);
      if (scope === 'workflow') {
        const list = store.flow(flowName).variables = store.flow(flowName).variables || [];
        const at = list.findIndex((x) => x.name === name);
        if (at >= 0) list[at] = decl; else list.push(decl);
      } else {
        doc.variables = doc.variables || [];
        const at = doc.variables.findIndex((x) => x.scope === scope && x.name === name);
        const full = { scope, ...decl };
        if (at >= 0) doc.variables[at] = full; else doc.variables.push(full);
      }
    });
    if (original && original.name !== name) toast(`Renamed ${scope}.${original.name} to ${scope}.${name} everywhere it was used.`);
  }

  async deleteVariable(scope, name) {
    const usages = variableUsages(this.store, scope, name, this.store.flowName);
    const where = usages.slice(0, 8).map((u) => escapeHtml(`${u.flow} › ${u.node}`)).join(', ');
    const message = usages.length
      ? `<p class="fs-warning"><strong>${scope}.${escapeHtml(name)} is used in ${usages.length} place${usages.length > 1 ? 's' : ''}</strong>: ${where}${usages.length > 8 ? '…' : ''}. Those references will show as problems.</p>`
      : `<p>${scope}.${escapeHtml(name)} is not used anywhere.</p>`;
    if (!await confirm({ title: `Delete ${scope}.${name}?`, message, submit: 'Delete variable', danger: true })) return;
    const flowName = this.store.flowName;
    this.store.change(`Delete variable ${name}`, (doc) => {
      if (scope === 'workflow') { const f = this.store.flow(flowName); f.variables = (f.variables || []).filter((v) => v.name !== name); }
      else if (scope === 'env') doc.config = (doc.config || []).filter((c) => c.name !== name);
      else doc.variables = (doc.variables || []).filter((v) => !(v.scope === scope && v.name === name));
    });
  }

  async addConfig() {
    const values = await form({
      title: 'New configuration variable', submit: 'Add',
      intro: `Only the name lives in the bot; its values are secrets, one for the emulator (draft) and one for published versions (production), set on the bot's <a href="${escapeHtml(this.configUrl)}" target="_blank" rel="noopener">Configuration variables</a> page (or the REST API, <code>PUT /api/v1/bots/{bot}/config/NAME/draft</code> or <code>/production</code>). Code reads it as <code>env.NAME</code>.`,
      fields: [{ name: 'name', label: 'Name', placeholder: 'e.g. PAYMENTS_KEY' }, { name: 'description', label: 'Description' }],
      validate: (v) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v.name.trim())) return { name: 'Letters, digits and _; not starting with a digit' };
        if ((this.store.doc.config || []).some((c) => c.name === v.name.trim())) return { name: 'Exists already' };
        return null;
      },
    });
    if (!values) return;
    this.store.change(`Add configuration variable ${values.name}`, (doc) => {
      doc.config = doc.config || [];
      const entry = { name: values.name.trim() };
      if (values.description) entry.description = values.description;
      doc.config.push(entry);
    });
  }

  // ---- library: intents and entities ---------------------------------------------------------
  libraryList(key) { return this.store.doc[key] || []; }

  libraryNameProblem(key, name, except = null) {
    if (!LIBRARY_NAME.test(name)) return '1 to 64 letters, digits, spaces, _, - or .';
    if (key === 'intents' && name === 'none') return 'none is reserved (it means no intent matched)';
    if (key === 'entities' && SYSTEM_ENTITIES.includes(name)) return `${name} is a system entity`;
    if (name !== except && this.libraryList(key).some((x) => x.name === name)) return `${key === 'hooks' ? 'A' : 'An'} ${LIBRARY_EDITABLE[key]} named ${name} exists already`;
    return null;
  }

  /** Rename an entry and the cards that name it (Intent cards' intent, Capture cards' entity). */
  renameLibraryReferences(key, oldName, newName) {
    if (key === 'hooks') return; // nothing refers to a hook by name
    const field = key === 'intents' ? 'intent' : 'entity';
    const type = key === 'intents' ? 'intent' : 'capture';
    for (const flow of this.store.flows()) for (const node of flow.nodes || []) for (const card of this.store.cards(node)) {
      if (card.type === type && card[field] === oldName) card[field] = newName;
    }
  }

  saveLibraryEntry(key, oldName, entry, label) {
    this.store.change(label, (doc) => {
      doc[key] = doc[key] || [];
      const at = oldName === null ? -1 : doc[key].findIndex((x) => x.name === oldName);
      if (at >= 0) doc[key][at] = entry; else doc[key].push(entry);
      if (oldName !== null && oldName !== entry.name) this.renameLibraryReferences(key, oldName, entry.name);
    });
  }

  async editIntent(name) {
    const original = name === null ? null : clone(this.libraryList('intents').find((x) => x.name === name));
    const values = await form({
      title: original ? `Edit intent ${original.name}` : 'New intent',
      submit: original ? 'Save' : 'Add intent',
      wide: true,
      fields: [
        { name: 'name', label: 'Name', value: original ? original.name : '', placeholder: 'e.g. track_order' },
        { name: 'description', label: 'Description', value: original ? original.description || '' : '' },
        { name: 'utterances', label: 'Utterances', type: 'textarea', rows: 12, value: original ? (original.utterances || []).join('\n') : '',
          placeholder: 'where is my order\ntrack my package', hint: `One example per line, at most 280 characters each; at least ${MIN_UTTERANCES} to publish.` },
      ],
      validate: (v) => {
        const errors = {};
        const p = this.libraryNameProblem('intents', v.name.trim(), original && original.name);
        if (p) errors.name = p;
        const lines = v.utterances.split('\n').map((s) => s.trim()).filter(Boolean);
        if (!lines.length) errors.utterances = 'Write at least one utterance';
        return errors;
      },
    });
    if (!values) return;
    const entry = { name: values.name.trim(), description: values.description.trim(),
      utterances: [...new Set(values.utterances.split('\n').map((s) => s.trim()).filter(Boolean))] };
    this.saveLibraryEntry('intents', original ? original.name : null, entry, original ? `Edit intent ${entry.name}` : `Add intent ${entry.name}`);
  }

  async editHook(name) {
    const original = name === null ? null : clone(this.libraryList('hooks').find((x) => x.name === name));
    const values = await form({
      title: original ? `Edit hook ${original.name}` : 'New hook',
      submit: original ? 'Save' : 'Add hook',
      wide: true,
      fields: [
        { name: 'name', label: 'Name', value: original ? original.name : '', placeholder: 'e.g. send-user-analytics' },
        { name: 'type', label: 'Runs', type: 'select', options: HOOK_TYPES, value: original ? original.type : 'before_incoming' },
        { name: 'code', label: 'Code', type: 'textarea', rows: 12, value: original ? original.code || '' : '',
          placeholder: "if (event.payload.text === 'ping') return false;",
          hint: 'JavaScript with event, user, session, bot, conversation, env, axios and console. Errors are logged; the turn goes on.' },
        { name: 'enabled', label: 'Enabled', type: 'checkbox', value: original ? original.enabled !== false : true },
        { name: 'description', label: 'Description', value: original ? original.description || '' : '' },
      ],
      validate: (v) => {
        const errors = {};
        const p = this.libraryNameProblem('hooks', v.name.trim(), original && original.name);
        if (p) errors.name = p;
        return errors;
      },
    });
    if (!values) return;
    const entry = { name: values.name.trim(), type: values.type, code: values.code };
    if (!values.enabled) entry.enabled = false;
    if (values.description.trim()) entry.description = values.description.trim();
    this.saveLibraryEntry('hooks', original ? original.name : null, entry, original ? `Edit hook ${entry.name}` : `Add hook ${entry.name}`);
  }

  async editEntity(name) {
    const original = name === null ? null : clone(this.libraryList('entities').find((x) => x.name === name));
    const type = original ? original.type : 'list';
    const values = await form({
      title: original ? `Edit entity ${original.name}` : 'New entity',
      submit: original ? 'Save' : 'Add entity',
      wide: true,
      fields: [
        { name: 'name', label: 'Name', value: original ? original.name : '', placeholder: 'e.g. airport' },
        { name: 'description', label: 'Description', value: original ? original.description || '' : '' },
        { name: 'type', label: 'Type', type: 'select', value: type, options: [['list', 'List (values with synonyms)'], ['pattern', 'Pattern (regular expression)']] },
        { name: 'values', label: 'Values', type: 'textarea', rows: 8, value: original && original.type === 'list' ? showEntityValues(original.values) : '',
          placeholder: 'SFO: San Francisco, SF\nBOM: Mumbai', hint: 'One value per line: value: synonym, synonym', showWhen: (v) => v.type === 'list' },
        { name: 'fuzzy', label: 'Fuzzy matching', type: 'select', value: original && original.fuzzy ? original.fuzzy : 'medium', showWhen: (v) => v.type === 'list',
          options: [['strict', 'Strict (no typo)'], ['medium', 'Medium (one typo in words of 4+ letters)'], ['loose', 'Loose (two typos)']] },
        { name: 'pattern', label: 'Pattern (regular expression)', value: original && original.type === 'pattern' ? original.pattern || '' : '', placeholder: '[A-Z]{3}-[0-9]{4}', showWhen: (v) => v.type === 'pattern' },
        { name: 'ignoreCase', label: 'Ignore case', type: 'checkbox', value: original ? original.ignoreCase : false, showWhen: (v) => v.type === 'pattern' },
        { name: 'sensitive', label: 'Sensitive (masked in traces and logs)', type: 'checkbox', value: original ? original.sensitive : false, showWhen: (v) => v.type === 'pattern' },
      ],
      validate: (v) => {
        const errors = {};
        const p = this.libraryNameProblem('entities', v.name.trim(), original && original.name);
        if (p) errors.name = p;
        if (v.type === 'list') {
          const list = parseEntityValues(v.values);
          if (!list.length) errors.values = 'List at least one value';
          else if (list.some((x) => !x.name)) errors.values = 'Every line needs a value before the colon';
          else if (new Set(list.map((x) => x.name)).size !== list.length) errors.values = 'A value is listed twice';
        } else {
          if (!v.pattern) errors.pattern = 'Required';
          else { try { new RegExp(v.pattern); } catch (err) { errors.pattern = err.message; } }
        }
        return errors;
      },
    });
    if (!values) return;
    const entry = values.type === 'list'
      ? { name: values.name.trim(), description: values.description.trim(), type: 'list', fuzzy: values.fuzzy, values: parseEntityValues(values.values) }
      : { name: values.name.trim(), description: values.description.trim(), type: 'pattern', pattern: values.pattern, ignoreCase: Boolean(values.ignoreCase), sensitive: Boolean(values.sensitive) };
    this.saveLibraryEntry('entities', original ? original.name : null, entry, original ? `Edit entity ${entry.name}` : `Add entity ${entry.name}`);
  }

  async renameLibraryEntry(key, oldName) {
    const kind = LIBRARY_EDITABLE[key];
    const values = await form({
      title: `Rename ${kind} ${oldName}`, submit: 'Rename',
      intro: `Cards that name this ${kind} are updated.`,
      fields: [{ name: 'name', label: 'New name', value: oldName }],
      validate: (v) => { const p = this.libraryNameProblem(key, v.name.trim(), oldName); return p ? { name: p } : null; },
    });
    if (!values || values.name.trim() === oldName) return;
    const entry = clone(this.libraryList(key).find((x) => x.name === oldName));
    entry.name = values.name.trim();
    this.saveLibraryEntry(key, oldName, entry, `Rename ${kind} ${oldName}`);
  }

  libraryUsages(key, name) {
    if (key === 'hooks') return [];
    const field = key === 'intents' ? 'intent' : 'entity';
    const type = key === 'intents' ? 'intent' : 'capture';
    const out = [];
    for (const flow of this.store.flows()) for (const node of flow.nodes || []) for (const card of this.store.cards(node)) {
      if (card.type === type && card[field] === name) out.push(`${flow.name} › ${node.id}`);
    }
    return out;
  }

  async deleteLibraryEntry(key, name) {
    const kind = LIBRARY_EDITABLE[key];
    const usages = this.libraryUsages(key, name);
    const message = usages.length
      ? `<p class="fs-warning"><strong>${usages.length} card${usages.length > 1 ? 's name' : ' names'} this ${kind}</strong> (${usages.slice(0, 8).map(escapeHtml).join(', ')}); they will show an error until you change them.</p>`
      : `<p>Delete the ${kind} <strong>${escapeHtml(name)}</strong>?</p>`;
    if (!await confirm({ title: `Delete ${kind} ${name}?`, message, submit: `Delete ${kind}`, danger: true })) return;
    this.store.change(`Delete ${kind} ${name}`, (doc) => { doc[key] = (doc[key] || []).filter((x) => x.name !== name); });
  }
}
