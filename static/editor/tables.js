// The Tables tab (docs/tables.md "In the editor"): the bot's tables in the left panel, one
// table's rows as a grid over the canvas. Everything goes through the REST API
// (studio/api/tables.py), so the grid shows what the API checks, errors with their paths.
//
// Definitions live in the draft: before changing one the editor saves what it has, and after
// it reloads the draft, so autosave never writes an older list of tables over the new one.
// Rows are not in the draft and change without touching it.

import { api } from './save.js';
import { escapeHtml } from './cards.js';
import { confirm, contextMenu, form, toast } from './dialogs.js';

const PAGE = 50;
const TYPES = ['string', 'number', 'boolean', 'date', 'object'];
// The filter builder's rules (studio inventory §5.3 "UI filters") and the operator each writes.
export const RULES = [
  ['$eq', 'is equal to'], ['$ne', 'is not equal to'], ['$lt', 'less than'], ['$lte', 'less than or equal to'],
  ['$gt', 'greater than'], ['$gte', 'greater than or equal to'], ['$in', 'in'], ['$nin', 'not in'],
  ['null', 'is null'], ['notnull', 'is not null'],
];
const SYSTEM = [['id', 'number'], ['createdAt', 'date'], ['updatedAt', 'date']];

/** The API's error body ({"error": {"message", "details": [{path, message}]}}) as text and paths. */
export function errorOf(response) {
  const error = (response.data && response.data.error) || {};
  const message = error.message || (response.data ? 'The request was refused' : `The server did not answer (HTTP ${response.status})`);
  return { message, details: Array.isArray(error.details) ? error.details : [] };
}

/** A cell's text as typed, read as its column's type; throws with a plain message. */
export function parseCell(type, text) {
  const t = text.trim();
  if (t === '') return null;
  if (type === 'number') {
    const n = Number(t);
    if (!Number.isFinite(n)) throw new Error(`"${t}" is not a number`);
    return n;
  }
  if (type === 'boolean') {
    if (/^(true|yes|1)$/i.test(t)) return true;
    if (/^(false|no|0)$/i.test(t)) return false;
    throw new Error(`"${t}" is not true or false`);
  }
  if (type === 'object') {
    try { return JSON.parse(t); } catch (e) { throw new Error('not valid JSON'); }
  }
  return text;
}

function cellText(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// ---- the filter builder: a group is {join: '$and'|'$or', items: [rule | group]} ------------------
function ruleFilter(rule, types) {
  const type = types[rule.column] || 'string';
  if (rule.op === 'null') return { [rule.column]: { $exists: false } };
  if (rule.op === 'notnull') return { [rule.column]: { $exists: true } };
  if (rule.op === '$in' || rule.op === '$nin') {
    const values = rule.value.split(',').map((v) => parseCell(type, v)).filter((v) => v !== null);
    return { [rule.column]: { [rule.op]: values } };
  }
  return { [rule.column]: { [rule.op]: parseCell(type, rule.value) } };
}

export function groupFilter(group, types) {
  const parts = group.items.map((item) => (item.items ? groupFilter(item, types) : ruleFilter(item, types)))
    .filter((f) => f && Object.keys(f).length);
  if (!parts.length) return null;
  if (parts.length === 1) return parts[0];
  return { [group.join]: parts };
}

export class TablesPanel {
  constructor({ list, view, botId, readOnly, saver, reloadDraft }) {
    this.list = list;
    this.view = view;
    this.base = `/api/v1/bots/${botId}/tables`;
    this.readOnly = readOnly;
    this.saver = saver;
    this.reloadDraft = reloadDraft;
    this.tables = [];
    this.current = null;   // the open table's definition
    this.page = { rows: [], total: 0, offset: 0 };
    this.filter = null;    // the applied filter, as JSON
    this.builder = { join: '$and', items: [] };
    this.manual = false;
    this.focus = { row: 0, col: 0 };
    this.list.addEventListener('click', (e) => this.onListClick(e));
    this.view.addEventListener('click', (e) => this.onViewClick(e));
    this.view.addEventListener('dblclick', (e) => {
      const cell = e.target.closest('td[data-col]');
      if (cell) this.edit(cell);
    });
    this.view.addEventListener('keydown', (e) => this.onKey(e));
    this.view.addEventListener('contextmenu', (e) => this.onContextMenu(e));
    this.view.addEventListener('change', (e) => this.onBuilderChange(e));
    this.view.addEventListener('input', (e) => this.onBuilderChange(e));
  }

  url(...parts) { return [this.base, ...parts.map(encodeURIComponent)].join('/'); }

  // ---- the list --------------------------------------------------------------------------
  async show() {
    this.view.hidden = !this.current;
    await this.loadList();
  }

  hide() { this.view.hidden = true; }

  async loadList() {
    const response = await api(this.base);
    if (!response.ok) { this.list.innerHTML = '<p class="fs-muted">Could not load the tables.</p>'; return; }
    this.tables = response.data.tables;
    this.maxRows = response.data.maxRows;
    this.renderList();
  }

  renderList() {
    const add = this.readOnly ? '' : '<button type="button" class="fs-icon-button" data-action="new-table" title="Create a table">+ Table</button>';
    const items = this.tables.map((t) => `<li><button type="button" class="fs-table-item${this.current && this.current.name === t.name ? ' active' : ''}" data-table="${escapeHtml(t.name)}">`
      + `<span class="fs-table-name">${escapeHtml(t.name)}</span><span class="fs-muted">${t.rows} rows</span></button></li>`).join('');
    this.list.innerHTML = `<div class="fs-section-head"><h2>Tables</h2>${add}</div>`
      + (items ? `<ul class="fs-table-list">${items}</ul>` : '<p class="fs-muted fs-empty-note">No tables yet. A table keeps records the bot reads and writes with the table cards and from Execute Code.</p>');
  }

  async onListClick(e) {
    const action = e.target.closest('[data-action]');
    if (action && action.dataset.action === 'new-table') { this.createTable(); return; }
    const item = e.target.closest('[data-table]');
    if (item) this.open(item.dataset.table);
  }

  /** Saves the editor's pending changes first, so the draft the API changes is current. */
  async definitionChange(request) {
    if (this.saver.dirty()) await this.saver.flush();
    const response = await request();
    if (response.ok) await this.reloadDraft();
    return response;
  }

  /** The create and edit form: a name and the columns, one per line. */
  definitionForm({ title, submit, intro = '', table = null, send }) {
    const columnsText = table ? table.columns.map((c) => `${c.name}: ${c.type}${c.searchable ? ' searchable' : ''}`).join('\n') : '';
    return form({
      title, submit, intro,
      fields: [
        { name: 'name', label: 'Name', placeholder: 'Orders', value: table ? table.name : '', hint: 'Letters, digits and _; code sees it as NameTable.' },
        { name: 'columns', label: 'Columns', type: 'textarea', rows: 6, value: columnsText, placeholder: 'item: string searchable\nqty: number\nshipped: boolean',
          hint: `One per line: name: ${TYPES.join(' | ')}, "searchable" for a string column to search in. id, createdAt and updatedAt are added.` },
      ],
      validate: async (v) => {
        const columns = [];
        for (const [i, line] of v.columns.split('\n').entries()) {
          if (!line.trim()) continue;
          const m = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*:\s*(\w+)\s*(searchable)?\s*$/.exec(line);
          if (!m || !TYPES.includes(m[2])) return { columns: `Line ${i + 1}: write name: type, the type one of ${TYPES.join(', ')}` };
          const kept = table && table.columns.find((c) => c.name === m[1]);
          const column = { name: m[1], type: m[2] };
          if (m[3]) column.searchable = true;
          if (kept && kept.description) column.description = kept.description;
          columns.push(column);
        }
        const body = { name: v.name.trim(), columns };
        if (table && table.description) body.description = table.description;
        const response = await this.definitionChange(() => send(body));
        if (response.ok) { this.created = response.data.name; return null; }
        const { message, details } = errorOf(response);
        const byField = {};
        for (const d of details) {
          const field = d.path.startsWith('$.columns') ? 'columns' : 'name';
          byField[field] = byField[field] ? byField[field] : `${d.path}: ${d.message}`;
        }
        return Object.keys(byField).length ? byField : { name: message };
      },
    });
  }

  async createTable() {
    const values = await this.definitionForm({
      title: 'New table', submit: 'Create', send: (body) => api(this.base, { method: 'POST', body }),
    });
    if (values) { await this.loadList(); await this.open(this.created); }
  }

  async editTable() {
    const old = this.current;
    const values = await this.definitionForm({
      title: `Edit ${old.name}`, submit: 'Save', table: old,
      intro: 'A new name renames the table with its rows. A column whose type changes, or that you remove, loses its values in every row.',
      send: (body) => api(this.url(old.name), { method: 'PUT', body }),
    });
    if (!values) return;
    await this.loadList();
    await this.open(this.created);
  }

  async deleteTable() {
    const t = this.current;
    if (!await confirm({ title: `Delete ${t.name}`, message: `Delete the table ${t.name} and its ${t.rows} rows? Cards that use it will show a problem.`, submit: 'Delete table', danger: true })) return;
    const response = await this.definitionChange(() => api(this.url(t.name), { method: 'DELETE' }));
    if (!response.ok) { this.message(errorOf(response).message); return; }
    toast(`Table ${t.name} deleted`);
    this.close();
    await this.loadList();
  }

  // ---- the grid --------------------------------------------------------------------------
  columns() {
    return [['id', 'number', true], ...this.current.columns.map((c) => [c.name, c.type, false]),
      ['createdAt', 'date', true], ['updatedAt', 'date', true]];
  }

  types() {
    const out = Object.fromEntries(SYSTEM);
    for (const c of this.current.columns) out[c.name] = c.type;
    return out;
  }

  async open(name) {
    this.current = this.tables.find((t) => t.name === name) || null;
    if (!this.current) return;
    this.filter = null;
    this.builder = { join: '$and', items: [] };
    this.manual = false;
    this.page.offset = 0;
    this.focus = { row: 0, col: 0 };
    this.view.hidden = false;
    this.renderList();
    this.renderShell();
    await this.load();
  }

  close() {
    this.current = null;
    this.view.hidden = true;
    this.renderList();
  }

  renderShell() {
    const t = this.current;
    const write = this.readOnly ? ' disabled' : '';
    this.view.innerHTML = `
      <div class="fs-table-toolbar">
        <h2 class="fs-table-title">${escapeHtml(t.name)}</h2>
        <span class="fs-muted" data-role="count"></span>
        <span class="fs-spacer"></span>
        <button type="button" class="fs-button small" data-action="add-row"${write}>Add record</button>
        <button type="button" class="fs-button small" data-action="edit-table"${write} title="Rename the table, add, change or remove columns">Edit columns</button>
        <button type="button" class="fs-button small danger" data-action="delete-table"${write}>Delete table</button>
        <button type="button" class="fs-button small" data-action="toggle-filter" aria-expanded="false">Filter</button>
        <button type="button" class="fs-button small" data-action="import"${write}>Import CSV</button>
        <a class="fs-button small" data-action="export" href="${this.url(t.name, 'export')}" download="${escapeHtml(t.name)}.csv">Export CSV</a>
        <button type="button" class="fs-icon-button" data-action="close" title="Close the table" aria-label="Close the table">×</button>
        <input type="file" accept=".csv,text/csv" data-role="csv-file" hidden>
      </div>
      <div class="fs-filter-builder" data-role="filter" hidden></div>
      <div class="fs-table-message" data-role="message" role="alert" hidden></div>
      <div class="fs-grid-wrap"><table class="fs-grid" role="grid" aria-label="Rows of ${escapeHtml(t.name)}"></table></div>
      <div class="fs-table-pager">
        <button type="button" class="fs-button small" data-action="prev">Previous</button>
        <span data-role="range"></span>
        <button type="button" class="fs-button small" data-action="next">Next</button>
      </div>`;
    this.view.querySelector('[data-role=csv-file]').addEventListener('change', (e) => this.importCsv(e.target));
  }

  message(text, details = [], kind = 'error') {
    const box = this.view.querySelector('[data-role=message]');
    if (!text) { box.hidden = true; box.innerHTML = ''; return; }
    box.hidden = false;
    box.dataset.kind = kind;
    box.innerHTML = `<strong>${escapeHtml(text)}</strong>`
      + (details.length ? `<ul>${details.map((d) => `<li><code>${escapeHtml(d.path)}</code> ${escapeHtml(d.message)}</li>`).join('')}</ul>` : '')
      + '<button type="button" class="fs-icon-button" data-action="dismiss" aria-label="Dismiss">×</button>';
  }

  async load() {
    const body = { limit: PAGE, offset: this.page.offset };
    if (this.filter) body.filter = this.filter;
    const response = await api(this.url(this.current.name, 'rows', 'find'), { method: 'POST', body });
    if (!response.ok) {
      const { message, details } = errorOf(response);
      this.message(message, details);
      return false;
    }
    this.page = response.data;
    this.renderRows();
    return true;
  }

  renderRows() {
    const columns = this.columns();
    const head = `<thead><tr>${columns.map(([name, type]) => `<th scope="col" title="${type}">${escapeHtml(name)}<span class="fs-col-type">${type}</span></th>`).join('')}</tr></thead>`;
    const body = this.page.rows.map((row, r) => `<tr data-row-id="${row.id}">${columns.map(([name, type, system], c) => (
      `<td data-col="${escapeHtml(name)}" data-type="${type}" data-r="${r}" data-c="${c}" tabindex="-1"${system ? ' data-system' : ''}>${escapeHtml(cellText(row[name]))}</td>`)).join('')}</tr>`).join('');
    const empty = this.page.rows.length ? '' : `<tbody><tr><td colspan="${columns.length}" class="fs-muted fs-grid-empty">${this.filter ? 'No rows match the filter.' : 'No rows yet: add a record or import a CSV file.'}</td></tr></tbody>`;
    this.view.querySelector('.fs-grid').innerHTML = head + (empty || `<tbody>${body}</tbody>`);
    const { total, offset } = this.page;
    const shown = this.page.rows.length;
    this.view.querySelector('[data-role=count]').textContent = `${total} ${total === 1 ? 'row' : 'rows'}${this.filter ? ' match' : ''}`;
    this.view.querySelector('[data-role=range]').textContent = shown ? `${offset + 1}–${offset + shown} of ${total}` : `0 of ${total}`;
    this.view.querySelector('[data-action=prev]').disabled = offset === 0;
    this.view.querySelector('[data-action=next]').disabled = offset + shown >= total;
    const t = this.tables.find((x) => x.name === this.current.name);
    if (t && !this.filter) { t.rows = total; this.renderList(); }
  }

  cell(r, c) { return this.view.querySelector(`td[data-r="${r}"][data-c="${c}"]`); }

  moveFocus(r, c) {
    const rows = this.page.rows.length;
    const cols = this.columns().length;
    if (!rows) return;
    this.focus = { row: Math.max(0, Math.min(rows - 1, r)), col: Math.max(0, Math.min(cols - 1, c)) };
    const cell = this.cell(this.focus.row, this.focus.col);
    this.view.querySelectorAll('td.focused').forEach((el) => el.classList.remove('focused'));
    cell.classList.add('focused');
    cell.focus();
  }

  onKey(e) {
    // The grid's keys are its own: the canvas's shortcuts (Delete removes the selected node,
    // arrows) must not act on a flow the builder cannot see. Ctrl/Cmd ones stay global.
    if (!e.ctrlKey && !e.metaKey) e.stopPropagation();
    const input = e.target.closest('input.fs-cell-input');
    if (input) {
      if (e.key === 'Enter') { e.preventDefault(); this.commit(input); }
      else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); this.cancelEdit(input); }
      return;
    }
    const cell = e.target.closest('td[data-col]');
    if (!cell) return;
    const r = Number(cell.dataset.r);
    const c = Number(cell.dataset.c);
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[e.key]) { e.preventDefault(); this.moveFocus(r + moves[e.key][0], c + moves[e.key][1]); }
    else if (e.key === 'Enter') { e.preventDefault(); this.edit(cell); }
    else if (e.key === 'Escape') { e.preventDefault(); cell.blur(); cell.classList.remove('focused'); }
  }

  edit(cell) {
    if (this.readOnly || cell.hasAttribute('data-system') || cell.querySelector('input')) return;
    const row = this.page.rows[Number(cell.dataset.r)];
    const value = cellText(row[cell.dataset.col]);
    cell.classList.add('editing');
    cell.innerHTML = `<input class="fs-cell-input" aria-label="${escapeHtml(cell.dataset.col)}" value="${escapeHtml(value)}" spellcheck="false">`;
    const input = cell.querySelector('input');
    input.addEventListener('blur', () => { if (input.isConnected && !input.dataset.done) this.commit(input); });
    input.focus();
    input.select();
  }

  cancelEdit(input) {
    input.dataset.done = '1';
    const cell = input.closest('td');
    const row = this.page.rows[Number(cell.dataset.r)];
    cell.classList.remove('editing');
    cell.textContent = cellText(row[cell.dataset.col]);
    this.moveFocus(Number(cell.dataset.r), Number(cell.dataset.c));
  }

  async commit(input) {
    if (input.dataset.done) return;
    input.dataset.done = '1';
    const cell = input.closest('td');
    const r = Number(cell.dataset.r);
    const row = this.page.rows[r];
    const column = cell.dataset.col;
    let value;
    try { value = parseCell(cell.dataset.type, input.value); } catch (err) {
      this.message(`${column}: ${err.message}`);
      delete input.dataset.done;
      input.focus();
      return;
    }
    if (cellText(value) === cellText(row[column])) { this.cancelEdit(input); return; }
    const response = await api(this.url(this.current.name, 'rows', String(row.id)), { method: 'PATCH', body: { values: { [column]: value } } });
    if (!response.ok) {
      const { message, details } = errorOf(response);
      this.message(message, details);
      delete input.dataset.done;
      input.focus();
      return;
    }
    this.message('');
    this.page.rows[r] = response.data;
    cell.classList.remove('editing');
    this.renderRows();
    this.moveFocus(r, Number(cell.dataset.c));
  }

  onContextMenu(e) {
    if (e.target.closest('.fs-grid th')) {
      e.preventDefault();
      contextMenu(e.clientX, e.clientY, [{ label: 'Edit columns', action: () => this.editTable(), disabled: this.readOnly }]);
      return;
    }
    const cell = e.target.closest('td[data-col]');
    if (!cell) return;
    e.preventDefault();
    const row = this.page.rows[Number(cell.dataset.r)];
    contextMenu(e.clientX, e.clientY, [
      { label: 'Edit cell', action: () => this.edit(cell), disabled: this.readOnly || cell.hasAttribute('data-system') },
      { label: 'Delete record', danger: true, disabled: this.readOnly, action: () => this.deleteRow(row) },
    ]);
  }

  async deleteRow(row) {
    if (!await confirm({ title: 'Delete record', message: `Delete record ${row.id}? This cannot be undone.`, submit: 'Delete', danger: true })) return;
    const response = await api(this.url(this.current.name, 'rows', String(row.id)), { method: 'DELETE' });
    if (!response.ok && response.status !== 204) { this.message(errorOf(response).message); return; }
    toast(`Record ${row.id} deleted`);
    if (this.page.rows.length === 1 && this.page.offset > 0) this.page.offset = Math.max(0, this.page.offset - PAGE);
    await this.load();
  }

  async addRow() {
    const fields = this.current.columns.map((c) => (c.type === 'boolean'
      ? { name: c.name, label: `${c.name} (boolean)`, type: 'select', options: [['', '—'], ['true', 'true'], ['false', 'false']], value: '' }
      : { name: c.name, label: `${c.name} (${c.type})`, type: c.type === 'object' ? 'textarea' : 'text', placeholder: c.type === 'date' ? '2026-12-04' : '' }));
    const values = await form({
      title: `New record in ${this.current.name}`, fields, submit: 'Add',
      validate: async (v) => {
        const row = {};
        for (const c of this.current.columns) {
          try {
            const parsed = parseCell(c.type, v[c.name] || '');
            if (parsed !== null) row[c.name] = parsed;
          } catch (err) { return { [c.name]: err.message }; }
        }
        const response = await api(this.url(this.current.name, 'rows'), { method: 'POST', body: { rows: [row] } });
        if (response.ok) { this.added = response.data.rows[0]; return null; }
        const { message, details } = errorOf(response);
        const out = {};
        for (const d of details) {
          const m = /^\$\.rows\[0\]\.(\w+)/.exec(d.path);
          if (m && this.current.columns.some((c) => c.name === m[1])) out[m[1]] = d.message;
        }
        return Object.keys(out).length ? out : { [fields[0] ? fields[0].name : 'x']: message };
      },
    });
    if (!values) return;
    toast(`Record ${this.added.id} added`);
    this.page.offset = Math.max(0, Math.floor(this.page.total / PAGE) * PAGE);
    await this.load();
  }

  // ---- CSV -------------------------------------------------------------------------------
  async importCsv(input) {
    const file = input.files[0];
    input.value = '';
    if (!file) return;
    const text = await file.text();
    const response = await api(this.url(this.current.name, 'import'), { method: 'POST', body: { csv: text } });
    if (!response.ok) {
      const { message, details } = errorOf(response);
      // `$.csv[3].price` is line 3 of the file, column price: say it so.
      this.message(message, details.map((d) => {
        const m = /^\$\.csv\[(\d+)\](?:\.(.+))?$/.exec(d.path);
        return m ? { path: m[2] ? `line ${m[1]}, ${m[2]}` : `line ${m[1]}`, message: d.message } : d;
      }));
      return;
    }
    this.message(`Imported ${response.data.inserted} rows from ${file.name}`, [], 'ok');
    this.page.offset = 0;
    await this.load();
  }

  // ---- the filter builder ----------------------------------------------------------------
  renderBuilder() {
    const box = this.view.querySelector('[data-role=filter]');
    const columns = this.columns().map(([name]) => name);
    const rule = (item, path) => `<div class="fs-filter-rule" data-path="${path}">
        <select class="fs-input" data-part="column" aria-label="Column">${columns.map((c) => `<option${c === item.column ? ' selected' : ''}>${escapeHtml(c)}</option>`).join('')}</select>
        <select class="fs-input" data-part="op" aria-label="Condition">${RULES.map(([op, label]) => `<option value="${op}"${op === item.op ? ' selected' : ''}>${label}</option>`).join('')}</select>
        <input class="fs-input" data-part="value" aria-label="Value" value="${escapeHtml(item.value)}"${['null', 'notnull'].includes(item.op) ? ' hidden' : ''} placeholder="${['$in', '$nin'].includes(item.op) ? 'a, b, c' : 'value'}">
        <button type="button" class="fs-icon-button" data-action="remove-rule" aria-label="Remove the rule">×</button></div>`;
    const group = (g, path) => `<div class="fs-filter-group" data-path="${path}">
        <select class="fs-input" data-part="join" aria-label="Match">${[['$and', 'AND'], ['$or', 'OR']].map(([v, l]) => `<option value="${v}"${v === g.join ? ' selected' : ''}>${l}</option>`).join('')}</select>
        ${g.items.map((item, i) => (item.items ? group(item, `${path}.${i}`) : rule(item, `${path}.${i}`))).join('')}
        <div class="fs-filter-actions"><button type="button" class="fs-button small" data-action="add-rule" data-group="${path}">+ Rule</button>
        ${path === 'root' ? '<button type="button" class="fs-button small" data-action="add-group" data-group="root">+ Group</button>' : '<button type="button" class="fs-icon-button" data-action="remove-rule" aria-label="Remove the group">×</button>'}</div></div>`;
    const manual = `<textarea class="fs-input fs-filter-json" data-role="filter-json" rows="6" spellcheck="false" aria-label="Filter JSON">${escapeHtml(JSON.stringify(this.manualText(), null, 2))}</textarea>`;
    box.innerHTML = (this.manual ? manual : group(this.builder, 'root'))
      + `<div class="fs-filter-actions"><button type="button" class="fs-button small primary" data-action="apply-filter">Apply filter</button>
         <button type="button" class="fs-button small" data-action="clear-filter">Clear</button>
         <button type="button" class="fs-button small" data-action="manual" aria-pressed="${this.manual}">${this.manual ? 'Use the builder' : 'Edit manually'}</button></div>`;
  }

  manualText() {
    try { return groupFilter(this.builder, this.types()) || {}; } catch (e) { return this.filter || {}; }
  }

  at(path) {
    let node = this.builder;
    for (const i of path.split('.').slice(1)) node = node.items[Number(i)];
    return node;
  }

  onBuilderChange(e) {
    const part = e.target.dataset && e.target.dataset.part;
    if (!part) return;
    const holder = e.target.closest('[data-path]');
    const node = this.at(holder.dataset.path);
    node[part] = e.target.value;
    if (part === 'op' && e.type === 'change') this.renderBuilder();
  }

  async onViewClick(e) {
    const button = e.target.closest('[data-action]');
    if (!button || button.disabled) return;
    const action = button.dataset.action;
    if (action === 'export') return;
    if (action === 'close') this.close();
    else if (action === 'dismiss') this.message('');
    else if (action === 'add-row') this.addRow();
    else if (action === 'edit-table') this.editTable();
    else if (action === 'delete-table') this.deleteTable();
    else if (action === 'import') this.view.querySelector('[data-role=csv-file]').click();
    else if (action === 'prev' || action === 'next') {
      this.page.offset = Math.max(0, this.page.offset + (action === 'next' ? PAGE : -PAGE));
      await this.load();
    } else if (action === 'toggle-filter') {
      const box = this.view.querySelector('[data-role=filter]');
      box.hidden = !box.hidden;
      button.setAttribute('aria-expanded', String(!box.hidden));
      if (!box.hidden) this.renderBuilder();
    } else if (action === 'add-rule') {
      this.at(button.dataset.group).items.push({ column: this.current.columns[0] ? this.current.columns[0].name : 'id', op: '$eq', value: '' });
      this.renderBuilder();
    } else if (action === 'add-group') {
      this.builder.items.push({ join: '$or', items: [{ column: this.current.columns[0] ? this.current.columns[0].name : 'id', op: '$eq', value: '' }] });
      this.renderBuilder();
    } else if (action === 'remove-rule') {
      const path = button.closest('[data-path]').dataset.path.split('.');
      const index = Number(path.pop());
      this.at(path.join('.')).items.splice(index, 1);
      this.renderBuilder();
    } else if (action === 'manual') {
      // Back to the builder, the rules are as they were; a filter applied from the JSON stays applied.
      this.manual = !this.manual;
      this.renderBuilder();
    } else if (action === 'clear-filter') {
      this.builder = { join: '$and', items: [] };
      this.filter = null;
      this.page.offset = 0;
      this.message('');
      this.renderBuilder();
      await this.load();
    } else if (action === 'apply-filter') {
      let filter;
      try {
        filter = this.manual ? JSON.parse(this.view.querySelector('[data-role=filter-json]').value || '{}')
          : groupFilter(this.builder, this.types());
      } catch (err) {
        this.message(this.manual ? `The filter is not valid JSON: ${err.message}` : err.message);
        return;
      }
      const previous = [this.filter, this.page.offset];
      this.filter = filter && Object.keys(filter).length ? filter : null;
      this.page.offset = 0;
      if (await this.load()) this.message('');
      else [this.filter, this.page.offset] = previous;
    }
  }
}
