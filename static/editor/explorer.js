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
  constructor(store, root, { variableTypes, navigate }) {
    this.store = store;
    this.root = root;
    this.variableTypes = variableTypes;
    this.navigate = navigate;
    this.emptyFolders = new Set();
    this.collapsed = new Set();
    root.addEventListener('click', (e) => this.onClick(e));
    root.addEventListener('contextmenu', (e) => {
      const row = e.target.closest('[data-flow], [data-variable]');
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
    for (const folder of this.emptyFolders) folders.set(folder, []);
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
        <ul class="fs-tree">${(store.doc.config || []).map((c) => `<li><button type="button" class="fs-tree-item" data-variable="${escapeHtml(c.name)}" data-scope="env" title="${escapeHtml(c.description || 'Value set on the bot dashboard')}"><span class="fs-tree-label">${escapeHtml(c.name)}</span><span class="fs-var-type">env</span></button></li>`).join('') || '<li class="fs-empty">None</li>'}</ul>
      </section>`;
    this.renderLibrary();
  }

  renderLibrary() {
    const target = document.querySelector('#fs-library');
    if (!target) return;
    target.innerHTML = LIBRARY.map(([key, title]) => {
      const items = this.store.doc[key] || [];
      return `<section class="fs-explorer-section"><header class="fs-section-head"><h2>${title}</h2><span class="fs-count">${items.length}</span></header>`
        + `<ul class="fs-tree">${items.map((item) => `<li class="fs-tree-item static"><span class="fs-tree-label">${escapeHtml(item.name)}</span></li>`).join('') || '<li class="fs-empty">None</li>'}</ul></section>`;
    }).join('') + '<p class="fs-muted fs-pad">Library entries come with imported bot files; they are listed here and kept as they are.</p>';
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
    const folders = [...new Set([...this.store.flows().map((f) => f.folder).filter(Boolean), ...this.emptyFolders])];
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
    if (values.folder) this.emptyFolders.delete(values.folder);
    this.navigate({ flow: name });
  }

  addReservedFlow(name) {
    this.store.change(`Add ${name} flow`, (doc) => {
      doc.flows.push({ name, variables: [], nodes: [{ id: 'entry', kind: 'entry', next: 'node1' }, { id: 'node1', kind: 'standard', name: 'node1', cards: [], next: null }] });
      doc.layout[name] = { entry: [0, 0], node1: [360, 0] };
    });
    this.navigate({ flow: name });
  }

  async addFolder() {
    const values = await form({
      title: 'New folder', fields: [{ name: 'name', label: 'Folder name' }], submit: 'Add folder',
      validate: (v) => (v.name.trim() ? null : { name: 'Give the folder a name' }),
    });
    if (!values) return;
    this.emptyFolders.add(values.name.trim());
    this.render();
    toast('Folder added. Move flows into it from their menu or the inspector.');
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
    const folders = [...new Set([...this.store.flows().map((f) => f.folder).filter(Boolean), ...this.emptyFolders])];
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
      intro: 'Only the name lives in the bot; its value is a secret set on the bot\'s dashboard. Code reads it as env.NAME.',
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
}
