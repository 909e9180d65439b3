// The variable picker of variable-path fields (a Capture card's "Variable", an AI card's
// "Store the answer in"...): a list under the field of the variables the field may name, by
// scope and with their types, filtered as you type, and "Create variable <scope.name>" when
// the typed path is not declared yet. Creating asks for the type (suggested from what the
// card stores), then declares the variable and fills the field as one undo step.
//
// Which scopes a field takes comes from its schema's pattern (`^(workflow|user|...)\.`, the
// engine's VARIABLE_REF), so a field is never offered a scope its card would refuse.

import { escapeHtml } from './cards.js';
import { NAME_PATTERN } from './store.js';
import { UNDECLARED_SCOPES, declarationOf, undeclaredPaths, writtenBy } from './completion.js';
import { form } from './dialogs.js';

// Scopes a builder can declare a variable in (docs/bot-format.md, "Variables").
export const DECLARABLE_SCOPES = ['workflow', 'user', 'bot'];
const ALL_SCOPES = ['workflow', 'user', 'bot', 'session', 'conversation'];
const SCOPE_HELP = {
  workflow: 'this flow only', user: 'follows the user across conversations', bot: 'shared by everyone',
  session: 'this conversation, until it ends', conversation: 'this conversation',
};

/** The scopes a variable-path field takes, read from its schema's pattern. */
export function scopesOf(schema) {
  const match = /^\^\(([a-z|]+)\)\\\./.exec((schema && schema.pattern) || '');
  return match ? match[1].split('|') : ALL_SCOPES;
}

/** The picker's entries for what is typed: [{kind: 'use'|'create', path, type, scope, detail}]. */
export function pickerEntries(store, written, scopes, typed, flowName = store.flowName) {
  const query = typed.trim().toLowerCase();
  const out = [];
  for (const scope of scopes) {
    let list = [];
    if (scope === 'workflow') list = ((store.flow(flowName) || {}).variables || []).map((v) => ({ name: v.name, type: v.type }));
    else if (scope === 'user' || scope === 'bot') list = (store.doc.variables || []).filter((v) => v.scope === scope).map((v) => ({ name: v.name, type: v.type }));
    else if (UNDECLARED_SCOPES.includes(scope)) {
      list = undeclaredPaths(store, written).filter((p) => p.path.startsWith(`${scope}.`)).map((p) => ({ name: p.path.split('.')[1], type: p.type }));
    }
    for (const v of list) {
      const path = `${scope}.${v.name}`;
      if (query && !path.toLowerCase().includes(query)) continue;
      out.push({ kind: 'use', path, scope, type: v.type || '', detail: SCOPE_HELP[scope] || scope });
    }
  }
  // Create: a typed scope.name not declared yet, or a bare name in each scope that declares.
  const typedPath = typed.trim();
  const creatable = scopes.filter((s) => DECLARABLE_SCOPES.includes(s));
  const candidates = [];
  const dotted = /^([a-z]+)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(typedPath);
  if (dotted && creatable.includes(dotted[1]) && NAME_PATTERN.test(dotted[2])) candidates.push([dotted[1], dotted[2]]);
  else if (NAME_PATTERN.test(typedPath)) for (const scope of creatable) candidates.push([scope, typedPath]);
  for (const [scope, name] of candidates) {
    if (declarationOf(store, scope, name, flowName)) continue;
    out.push({ kind: 'create', path: `${scope}.${name}`, scope, name, type: '', detail: SCOPE_HELP[scope] });
  }
  return out;
}

export class VariablePicker {
  constructor(store, { written, variableTypes }) {
    this.store = store;
    this.written = written;
    this.variableTypes = variableTypes || [];
    this.menu = document.createElement('ul');
    this.menu.className = 'fs-varpicker';
    this.menu.setAttribute('role', 'listbox');
    this.menu.setAttribute('aria-label', 'Variables');
    this.menu.hidden = true;
    document.body.append(this.menu);
    this.menu.addEventListener('mousedown', (e) => {
      const li = e.target.closest('li[data-index]');
      if (!li) return;
      e.preventDefault();
      this.choose(Number(li.dataset.index));
    });
  }

  /**
   * Picker on a text input. `options`: scopes (allowed), card() (the card now, for the
   * suggested type), pick(path) (write the field), create(path, declaration) (declare and
   * write the field in one step).
   */
  attach(input, options) {
    input.setAttribute('autocomplete', 'off');
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    // On focus every choice shows (the current value marked); typing filters.
    input.addEventListener('focus', () => this.open(input, options, ''));
    input.addEventListener('input', () => this.open(input, options, input.value));
    input.addEventListener('keydown', (e) => this.keydown(e));
    input.addEventListener('blur', () => setTimeout(() => { if (this.state && this.state.input === input) this.close(); }, 120));
  }

  open(input, options, typed) {
    if (this.store.readOnly || input.disabled) return;
    const entries = pickerEntries(this.store, this.written, options.scopes, typed).slice(0, 30);
    const current = entries.findIndex((e) => e.kind === 'use' && e.path === input.value);
    this.state = { input, options, entries, active: Math.max(0, current) };
    if (!entries.length) {
      this.menu.innerHTML = `<li class="fs-varpicker-empty">No variable yet. Type a name (e.g. ${escapeHtml(options.scopes[0] || 'workflow')}.answer) to create one.</li>`;
    } else {
      let html = '';
      let group = null;
      entries.forEach((entry, i) => {
        const head = entry.kind === 'create' ? 'create' : entry.scope;
        if (head !== group) {
          group = head;
          html += `<li class="fs-varpicker-group" role="presentation">${escapeHtml(head === 'create' ? 'New variable' : head[0].toUpperCase() + head.slice(1))}</li>`;
        }
        html += `<li role="option" data-index="${i}" data-kind="${entry.kind}" data-path="${escapeHtml(entry.path)}" class="${i === this.state.active ? 'active' : ''}">`
          + (entry.kind === 'create'
            ? `<span class="fs-varpicker-path">Create variable <strong>${escapeHtml(entry.path)}</strong></span><span class="fs-varpicker-type">${escapeHtml(entry.detail)}</span>`
            : `<span class="fs-varpicker-path">${escapeHtml(entry.path)}</span><span class="fs-varpicker-type">${escapeHtml(entry.type)}</span>`)
          + '</li>';
      });
      this.menu.innerHTML = html;
    }
    const rect = input.getBoundingClientRect();
    Object.assign(this.menu.style, { left: `${rect.left}px`, top: `${rect.bottom + 2}px`, width: `${Math.max(rect.width, 260)}px` });
    this.menu.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }

  keydown(e) {
    if (this.menu.hidden || !this.state || !this.state.entries.length) return;
    const { entries } = this.state;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      this.state.active = (this.state.active + (e.key === 'ArrowDown' ? 1 : entries.length - 1)) % entries.length;
      this.menu.querySelectorAll('li[data-index]').forEach((li) => li.classList.toggle('active', Number(li.dataset.index) === this.state.active));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      e.stopPropagation();
      this.choose(this.state.active);
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      this.close();
    }
  }

  async choose(index) {
    const { input, options, entries } = this.state;
    const entry = entries[index];
    this.close();
    if (!entry) return;
    if (entry.kind === 'use') {
      input.value = entry.path;
      options.pick(entry.path);
      return;
    }
    const declaration = await this.askType(entry, options);
    if (!declaration) { input.focus(); return; }
    input.value = entry.path;
    options.create(entry.path, declaration);
  }

  /** The declaration to add: {scope, name, type}, its type chosen in a small dialog. */
  async askType(entry, options) {
    const card = options.card ? options.card() : null;
    const stored = writtenBy(this.written, card);
    const suggested = stored && this.variableTypes.includes(stored.type) ? stored.type : 'string';
    const fields = stored && stored.fields ? ` (fields ${Object.keys(stored.fields).join(', ')})` : '';
    const values = await form({
      title: `Create variable ${entry.path}`,
      submit: 'Create variable',
      intro: stored ? `<p>This card stores ${escapeHtml(stored.type === 'object' ? `an object${fields}` : `a ${stored.type}`)}.</p>` : '',
      fields: [
        { name: 'type', label: 'Type', type: 'select', value: suggested, options: this.variableTypes.filter((t) => !['enum', 'pattern', 'schema'].includes(t)).map((t) => [t, t]),
          hint: entry.scope === 'workflow' ? `Declared on the flow ${this.store.flowName}.` : `Declared on the bot (${entry.scope} scope).` },
      ],
    });
    if (!values) return null;
    return { scope: entry.scope, name: entry.name, type: values.type };
  }

  close() {
    if (this.state && this.state.input) this.state.input.setAttribute('aria-expanded', 'false');
    this.menu.hidden = true;
    this.state = null;
  }
}

/** Add a declaration to the document (inside store.change). */
export function declareVariable(store, flowName, { scope, name, type }) {
  if (scope === 'workflow') {
    const flow = store.flow(flowName);
    flow.variables = flow.variables || [];
    if (!flow.variables.some((v) => v.name === name)) flow.variables.push({ name, type, input: false, output: false });
    return;
  }
  store.doc.variables = store.doc.variables || [];
  if (!store.doc.variables.some((v) => v.scope === scope && v.name === name)) store.doc.variables.push({ scope, name, type });
}
