// The Knowledge tab (docs/editor.md "Knowledge", docs/knowledge.md): the bot's knowledge bases
// by folder in the left panel; one KB's sources, their indexing status and "try a query" over
// the canvas. Everything goes through the REST API (studio/api/knowledge.py), so the tab shows
// what the API checks, in its words.
//
// KBs are not in the draft (like table rows, they belong to the bot): nothing here touches
// the draft or autosave. While a source is queued, parsing or embedding the tab asks the API
// again every POLL_MS; it stops once every source is ready or failed, or the tab is left.

import { api } from './save.js';
import { escapeHtml } from './cards.js';
import { confirm, form, toast } from './dialogs.js';
import { errorOf } from './tables.js';

const POLL_MS = 1000;
export const STATUS = {
  queued: 'Queued', parsing: 'Parsing', embedding: 'Embedding', ready: 'Ready', failed: 'Failed',
};
const SETTLED = new Set(['ready', 'failed']);
const KINDS = { document: 'Document', url: 'Web page', sitemap: 'Sitemap', text: 'Text', table: 'Table' };
// The suffixes the API reads (flows/knowledge.py FORMATS): checked here first so a wrong file
// is named at once, without sending 50 MB to hear it.
const SUFFIXES = ['.pdf', '.docx', '.html', '.htm', '.md', '.markdown', '.txt'];
// The request fields a dialog shows, and the words for them in a message.
const FIELD_WORDS = {
  name: 'Name', folder: 'Folder', description: 'Description', url: 'URL', text: 'Text', file: 'File',
  kind: 'Kind', sources: 'Sources', query: 'Query', knowledgeBases: 'Knowledge bases', limit: 'Passages', table: 'Table',
};

/** The REST call, or when the server cannot be reached, a failed answer saying so (status 0)
    instead of a rejected promise: a poll that fails tries again, a click says why. */
async function call(url, options) {
  try { return await api(url, options); } catch { return { ok: false, status: 0, data: null }; }
}

export function settled(kb) { return kb.sources.every((s) => SETTLED.has(s.status)); }

/** "Name: must be …" from the API's details (their path names the field), else its message. */
export function plainError(response) {
  if (response.status === 0) return { message: 'The server could not be reached; check the connection and try again.', fields: {} };
  const { message, details } = errorOf(response);
  if (!details.length) return { message, fields: {} };
  const fields = {};
  for (const d of details) {
    const field = (/^\$\.(\w+)/.exec(d.path) || [])[1] || '';
    if (!fields[field]) fields[field] = d.message;
  }
  const first = details[0];
  const field = (/^\$\.(\w+)/.exec(first.path) || [])[1];
  return { message: field && FIELD_WORDS[field] ? `${FIELD_WORDS[field]}: ${first.message}` : message, fields };
}

/** "handbook.pdf, page 2", "Orders, row 12": a passage's source and where in it. */
export function citationText(hit) {
  const at = hit.page ? `, page ${hit.page}` : (hit.row ? `, row ${hit.row}` : '');
  return `${hit.sourceName}${at}${hit.location ? `, ${hit.location}` : ''}`;
}

function bytes(n) {
  return n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MB` : `${Math.round(n / 1024)} KB`;
}

function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

function safeHref(url) {
  try { return ['http:', 'https:'].includes(new URL(url).protocol) ? url : null; } catch { return null; }
}

export class KnowledgePanel {
  constructor({ list, view, botId, readOnly, tables = () => [] }) {
    this.list = list;
    this.tables = tables;  // () -> the draft's table definitions, for table sources
    this.view = view;
    this.base = `/api/v1/bots/${botId}/knowledge-bases`;
    this.readOnly = readOnly;
    this.kbs = [];
    this.current = null;  // the open KB's id
    this.visible = false;
    this.timer = null;
    this.list.addEventListener('click', (e) => this.onListClick(e));
    this.view.addEventListener('click', (e) => this.onViewClick(e));
    this.view.addEventListener('submit', (e) => { e.preventDefault(); this.tryQuery(); });
    // The view's keys are its own: Delete on a focused button must not remove the canvas's
    // selected node, nor arrows pan it. Ctrl/Cmd shortcuts stay global.
    this.view.addEventListener('keydown', (e) => {
      if (!e.ctrlKey && !e.metaKey) e.stopPropagation();
      if (e.key === 'Escape' && !e.target.closest('input, textarea, select')) this.close();
    });
    // Documents dropped anywhere on the open KB are uploaded to it.
    this.view.addEventListener('dragover', (e) => {
      if (this.readOnly || !e.dataTransfer?.types?.includes('Files')) return;
      e.preventDefault();
      this.view.classList.add('fs-kb-dropping');
    });
    this.view.addEventListener('dragleave', (e) => { if (e.target === this.view) this.view.classList.remove('fs-kb-dropping'); });
    this.view.addEventListener('drop', (e) => {
      this.view.classList.remove('fs-kb-dropping');
      if (this.readOnly || !e.dataTransfer?.files?.length) return;
      e.preventDefault();
      this.upload([...e.dataTransfer.files]);
    });
  }

  url(...parts) { return [this.base, ...parts.map((p) => encodeURIComponent(String(p)))].join('/'); }

  kb(id = this.current) { return this.kbs.find((k) => k.id === id) || null; }

  /** The bot's KB names, for the inspector's pickers: loaded once, then as this tab last saw them. */
  names() {
    if (!this.namesLoaded) {
      this.namesLoaded = call(this.base).then((r) => {
        if (!r.ok) { this.namesLoaded = null; throw new Error(plainError(r).message); }  // asked again next time
        return r.data.knowledgeBases.map((k) => k.name);
      });
    }
    return this.namesLoaded;
  }

  // ---- the list ----------------------------------------------------------------------------
  async show() {
    this.visible = true;
    this.view.hidden = !this.current;
    await this.loadList();
  }

  hide() {
    this.visible = false;
    this.view.hidden = true;
    clearTimeout(this.timer);
    this.timer = null;
  }

  async loadList() {
    // A poll and a click may overlap: only the answer to the latest request is shown.
    const seq = (this.loadSeq = (this.loadSeq || 0) + 1);
    const response = await call(this.base);
    if (seq !== this.loadSeq) return response.ok;
    if (!response.ok) {
      if (!this.kbs.length) this.list.innerHTML = `<p class="fs-muted fs-empty-note" role="alert">Could not load the knowledge bases: ${escapeHtml(plainError(response).message)}</p>`;
      else { this.message(`Could not refresh the sources: ${plainError(response).message}`); this.refreshFailed = true; }
      this.schedulePoll();  // still indexing: try again
      return false;
    }
    this.kbs = response.data.knowledgeBases;
    if (this.refreshFailed) { this.refreshFailed = false; this.message(''); }
    this.namesLoaded = Promise.resolve(this.kbs.map((k) => k.name));
    this.maxSources = response.data.maxSources;
    this.maxDocumentBytes = response.data.maxDocumentBytes;
    this.sourceKinds = response.data.sourceKinds || [];
    if (this.current && !this.kb()) this.close();
    this.renderList();
    if (this.kb()) this.renderSources();
    this.schedulePoll();
    return true;
  }

  /** Ask again while something is indexing; stop once everything has settled. */
  schedulePoll() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.visible || this.kbs.every(settled)) return;
    this.timer = setTimeout(() => { this.timer = null; this.loadList(); }, POLL_MS);
  }

  renderList() {
    const add = this.readOnly ? '' : '<button type="button" class="fs-icon-button" data-action="new-kb" title="Create a knowledge base">+ KB</button>';
    const folders = new Map();
    for (const kb of [...this.kbs].sort((a, b) => a.folder.localeCompare(b.folder) || a.name.localeCompare(b.name))) {
      if (!folders.has(kb.folder)) folders.set(kb.folder, []);
      folders.get(kb.folder).push(kb);
    }
    const item = (kb) => {
      const failed = kb.sources.filter((s) => s.status === 'failed').length;
      const state = !settled(kb) ? '<span class="fs-kb-dot" data-state="indexing" title="Indexing">indexing</span>'
        : (failed ? `<span class="fs-kb-dot" data-state="failed" title="${failed} source${failed > 1 ? 's' : ''} failed">${failed} failed</span>` : '');
      return `<li><button type="button" class="fs-table-item fs-kb-item${kb.id === this.current ? ' active' : ''}" data-kb="${kb.id}"${kb.id === this.current ? ' aria-current="true"' : ''}>`
        + `<span class="fs-table-name">${escapeHtml(kb.name)}</span><span class="fs-muted">${kb.sources.length} source${kb.sources.length === 1 ? '' : 's'} ${state}</span></button></li>`;
    };
    const groups = [...folders.entries()].map(([folder, kbs]) => (folder
      ? `<h3 class="fs-subhead fs-kb-folder"><span class="fs-muted">Folder</span> ${escapeHtml(folder)}</h3>` : '')
      + `<ul class="fs-table-list">${kbs.map(item).join('')}</ul>`).join('');
    this.list.innerHTML = `<div class="fs-section-head"><h2>Knowledge bases</h2>${add}</div>`
      + (groups || '<p class="fs-muted fs-empty-note">No knowledge bases yet. A knowledge base holds documents, web pages and text the Query Knowledge Bases card answers from.</p>');
  }

  onListClick(e) {
    const action = e.target.closest('[data-action]');
    if (action && action.dataset.action === 'new-kb') { this.createKb(); return; }
    const item = e.target.closest('[data-kb]');
    if (item) this.open(Number(item.dataset.kb));
  }

  /** The create and edit form; `send(body)` is the API call. Field errors go under their field. */
  kbForm({ title, submit, kb = null, send }) {
    return form({
      title, submit,
      fields: [
        { name: 'name', label: 'Name', value: kb ? kb.name : '', placeholder: 'Handbook', hint: 'Letters, digits, spaces, _ . -; cards name the KB by it.' },
        { name: 'folder', label: 'Folder', value: kb ? kb.folder : '', placeholder: 'Support/Billing', hint: 'Optional: folders separated by /. A card may search one folder and the folders under it.' },
        { name: 'description', label: 'Description', type: 'textarea', rows: 3, value: kb ? kb.description : '', placeholder: 'What the KB holds' },
      ],
      validate: async (v) => {
        const response = await send({ name: v.name.trim(), folder: v.folder.trim(), description: v.description });
        if (response.ok) { this.saved = response.data; return null; }
        const { message, fields } = plainError(response);
        const known = Object.fromEntries(Object.entries(fields).filter(([f]) => ['name', 'folder', 'description'].includes(f)));
        return Object.keys(known).length ? known : { name: message };
      },
    });
  }

  async createKb() {
    if (!await this.kbForm({ title: 'New knowledge base', submit: 'Create', send: (body) => call(this.base, { method: 'POST', body }) })) return;
    toast(`Knowledge base ${this.saved.name} created`);
    await this.loadList();
    this.open(this.saved.id);
  }

  async editKb() {
    const kb = this.kb();
    if (!await this.kbForm({ title: `Edit ${kb.name}`, submit: 'Save', kb, send: (body) => call(this.url(kb.id), { method: 'PATCH', body }) })) return;
    await this.loadList();
    this.renderShell();
    this.renderSources();
    this.view.querySelector('.fs-kb-title').focus();
  }

  async deleteKb() {
    const kb = this.kb();
    const sources = `${kb.sources.length} source${kb.sources.length === 1 ? '' : 's'}`;
    if (!await confirm({
      title: `Delete ${kb.name}`, submit: 'Delete knowledge base', danger: true,
      message: `Delete the knowledge base ${escapeHtml(kb.name)} with its ${sources} and their passages? A Query Knowledge Bases card that names it will fail until it names another.`,
    })) return;
    const response = await call(this.url(kb.id), { method: 'DELETE' });
    if (!response.ok) { this.message(plainError(response).message); return; }
    toast(`Knowledge base ${kb.name} deleted`);
    this.close();
    await this.loadList();
  }

  // ---- one KB ------------------------------------------------------------------------------
  open(id) {
    if (!this.kb(id)) return;
    this.current = id;
    this.view.hidden = false;
    this.renderList();
    this.renderShell();
    this.renderSources();
    this.view.querySelector('.fs-kb-title').focus();
  }

  close() {
    this.current = null;
    this.view.hidden = true;
    this.renderList();
    this.list.querySelector('[data-kb]')?.focus();
  }

  renderShell() {
    const kb = this.kb();
    const write = this.readOnly ? ' disabled' : '';
    this.view.innerHTML = `
      <div class="fs-table-toolbar">
        <h2 class="fs-table-title fs-kb-title" tabindex="-1">${escapeHtml(kb.name)}</h2>
        ${kb.folder ? `<span class="fs-tag" title="Folder">in ${escapeHtml(kb.folder)}</span>` : ''}
        <span class="fs-spacer"></span>
        <button type="button" class="fs-button small" data-action="edit-kb"${write} title="Rename it, move it to a folder, describe it">Edit</button>
        <button type="button" class="fs-button small danger" data-action="delete-kb"${write}>Delete</button>
        <button type="button" class="fs-icon-button" data-action="close" title="Close the knowledge base (Escape)" aria-label="Close the knowledge base">×</button>
      </div>
      ${kb.description ? `<p class="fs-kb-description">${escapeHtml(kb.description)}</p>` : ''}
      <div class="fs-table-message" data-role="message" role="alert" hidden></div>
      <div class="fs-kb-body">
        <section class="fs-kb-sources" aria-labelledby="fs-kb-sources-head">
          <div class="fs-kb-section-head">
            <h3 id="fs-kb-sources-head">Sources</h3>
            <span class="fs-muted" data-role="count"></span>
            <span class="fs-spacer"></span>
            <button type="button" class="fs-button small primary" data-action="upload"${write} title="PDF, DOCX, HTML, Markdown or TXT, at most ${bytes(this.maxDocumentBytes || 0)} each; or drop files here">Upload documents</button>
            <button type="button" class="fs-button small" data-action="add-url"${write}>Add web page</button>
            <button type="button" class="fs-button small" data-action="add-sitemap"${write}>Add sitemap</button>
            <button type="button" class="fs-button small" data-action="add-text"${write}>Add text</button>
            ${this.sourceKinds.includes('table') ? `<button type="button" class="fs-button small" data-action="add-table"${write} title="A table's rows as passages">Add table</button>` : ''}
            <input type="file" data-role="files" multiple accept="${SUFFIXES.join(',')}" hidden>
          </div>
          <p class="fs-muted fs-kb-live" data-role="progress" aria-live="polite"></p>
          <div class="fs-kb-grid-wrap"><table class="fs-grid fs-kb-grid" aria-label="Sources of ${escapeHtml(kb.name)}">
            <thead><tr><th scope="col">Source</th><th scope="col">Status</th><th scope="col">Passages</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody></tbody></table></div>
        </section>
        <section class="fs-kb-try" aria-labelledby="fs-kb-try-head">
          <h3 id="fs-kb-try-head">Try a query</h3>
          <form class="fs-kb-query" data-role="query-form">
            <input class="fs-input" name="query" data-role="query" placeholder="Ask what a user would ask" aria-label="Query" autocomplete="off" spellcheck="false" maxlength="2000">
            <select class="fs-input" name="scope" data-role="scope" aria-label="Search in">
              <option value="this">in ${escapeHtml(kb.name)}</option><option value="all">in all knowledge bases</option>
            </select>
            <select class="fs-input" name="limit" data-role="limit" aria-label="Passages">
              ${[3, 5, 10, 20].map((n) => `<option value="${n}"${n === 5 ? ' selected' : ''}>${n} passages</option>`).join('')}
            </select>
            <button type="submit" class="fs-button small primary">Search</button>
          </form>
          <div class="fs-kb-results" data-role="results" aria-live="polite"></div>
        </section>
      </div>`;
    this.view.querySelector('[data-role=files]').addEventListener('change', (e) => {
      const files = [...e.target.files];
      e.target.value = '';
      this.upload(files);
    });
  }

  renderSources() {
    const kb = this.kb();
    const body = this.view.querySelector('.fs-kb-grid tbody');
    if (!kb || !body) return;
    // Re-rendered on every poll: keep the keyboard where it was.
    const active = document.activeElement && body.contains(document.activeElement)
      ? [document.activeElement.dataset.action, document.activeElement.closest('tr')?.dataset.source] : null;
    const write = this.readOnly ? ' disabled' : '';
    body.innerHTML = kb.sources.map((s) => {
      const href = s.url && safeHref(s.url);
      const name = href ? `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${escapeHtml(s.name)}</a>` : escapeHtml(s.name);
      let kind = `${KINDS[s.kind] || escapeHtml(s.kind)}`;
      if (s.kind === 'document' && s.format) kind += ` (${escapeHtml(s.format.toUpperCase())})`;
      if (s.kind === 'table') kind += ` (${s.columns && s.columns.length ? escapeHtml(s.columns.join(', ')) : 'searchable columns'})`;
      const busy = !SETTLED.has(s.status);
      const error = s.status === 'failed' && s.error ? `<div class="fs-kb-error">${escapeHtml(s.error)}</div>` : '';
      return `<tr data-source="${s.id}" data-status="${s.status}">
        <td class="fs-kb-name">${name}<div class="fs-muted fs-kb-kind">${kind}</div></td>
        <td><span class="fs-kb-status" data-status="${s.status}"${s.indexedAt ? ` title="Indexed ${escapeHtml(when(s.indexedAt))}"` : ''}>${busy ? '<span class="fs-kb-spinner" aria-hidden="true"></span>' : ''}${STATUS[s.status] || s.status}</span>${error}</td>
        <td>${s.chunks}</td>
        <td><div class="fs-kb-actions">
          <button type="button" class="fs-button small" data-action="reindex"${write}${busy ? ' disabled' : ''} aria-label="Re-index ${escapeHtml(s.name)}" title="Read the source again; its current passages are served until the new ones are ready">Re-index</button>
          <button type="button" class="fs-button small danger" data-action="delete-source"${write} aria-label="Delete ${escapeHtml(s.name)}">Delete</button>
        </div></td></tr>`;
    }).join('') || '<tr><td colspan="4" class="fs-muted fs-grid-empty">No sources yet: upload documents, or add a web page, a sitemap or text.</td></tr>';
    const count = kb.sources.length;
    this.view.querySelector('[data-role=count]').textContent = `${count} of ${this.maxSources}`;
    const indexing = kb.sources.filter((s) => !SETTLED.has(s.status)).length;
    const failed = kb.sources.filter((s) => s.status === 'failed').length;
    this.view.querySelector('[data-role=progress]').textContent = indexing
      ? `Indexing ${indexing} source${indexing > 1 ? 's' : ''}…`
      : (count ? `All sources indexed${failed ? `; ${failed} failed` : ''}.` : '');
    if (active && active[1]) body.querySelector(`tr[data-source="${active[1]}"] [data-action="${active[0]}"]`)?.focus();
  }

  message(text, kind = 'error') {
    const box = this.view.querySelector('[data-role=message]');
    if (!box) { if (text) toast(text, kind === 'error' ? 'error' : 'info', 8000); return; }
    if (!text) { box.hidden = true; box.innerHTML = ''; return; }
    box.hidden = false;
    box.dataset.kind = kind;
    box.innerHTML = `<strong>${escapeHtml(text)}</strong><button type="button" class="fs-icon-button" data-action="dismiss" aria-label="Dismiss">×</button>`;
  }

  // ---- adding sources ----------------------------------------------------------------------
  /** A new source in the open KB, then the list again (and the polling it starts). */
  async added(response) {
    if (!response.ok) return false;
    const kb = this.kb();
    if (kb) kb.sources.push(response.data);
    this.renderSources();
    await this.loadList();
    return true;
  }

  async upload(files) {
    const kb = this.kb();
    const problems = [];
    let sent = 0;
    for (const [i, file] of files.entries()) {
      const suffix = (/\.[^.]+$/.exec(file.name.toLowerCase()) || [''])[0];
      if (!SUFFIXES.includes(suffix)) { problems.push(`${file.name}: the formats are PDF, DOCX, HTML, Markdown and TXT`); continue; }
      if (this.maxDocumentBytes && file.size > this.maxDocumentBytes) { problems.push(`${file.name}: ${bytes(file.size)}; a document is at most ${bytes(this.maxDocumentBytes)}`); continue; }
      if (!file.size) { problems.push(`${file.name}: the file is empty`); continue; }
      this.view.querySelector('[data-role=progress]').textContent = `Uploading ${file.name}${files.length > 1 ? ` (${i + 1} of ${files.length})` : ''}…`;
      const data = new FormData();
      data.append('file', file, file.name);
      const response = await call(this.url(kb.id, 'sources'), { method: 'POST', form: data });
      if (await this.added(response)) sent += 1;
      else problems.push(`${file.name}: ${response.status === 413 ? 'the file is too large for the server' : plainError(response).fields.file || plainError(response).message}`);
    }
    this.renderSources();
    if (problems.length) this.message(`Not uploaded: ${problems.join('; ')}`);
    else if (sent) { this.message(''); toast(`${sent} document${sent > 1 ? 's' : ''} uploaded; indexing`); }
  }

  async addWeb(kind) {
    const kb = this.kb();
    const sitemap = kind === 'sitemap';
    await form({
      title: sitemap ? 'Add a sitemap' : 'Add a web page', submit: 'Add',
      intro: sitemap ? 'Every page the sitemap lists (at most 200) is fetched and indexed.' : 'The page is fetched when it is indexed, and again when you re-index it.',
      fields: [{ name: 'url', label: sitemap ? 'Sitemap URL' : 'URL', placeholder: sitemap ? 'https://example.com/sitemap.xml' : 'https://example.com/help/returns', hint: 'http or https, at most 350 characters; addresses of the server\'s own network are refused.' }],
      validate: async (v) => {
        const response = await call(this.url(kb.id, 'sources'), { method: 'POST', body: { kind, url: v.url.trim() } });
        if (await this.added(response)) return null;
        const { message, fields } = plainError(response);
        return { url: fields.url || fields.sources || message };
      },
    });
  }

  async addText() {
    const kb = this.kb();
    await form({
      title: 'Add text', submit: 'Add', wide: true,
      fields: [
        { name: 'name', label: 'Name', placeholder: 'Opening hours', hint: 'How citations name it.' },
        { name: 'text', label: 'Text', type: 'textarea', rows: 10, placeholder: 'We open at nine on weekdays…' },
      ],
      validate: async (v) => {
        const response = await call(this.url(kb.id, 'sources'), { method: 'POST', body: { kind: 'text', name: v.name, text: v.text } });
        if (await this.added(response)) return null;
        const { message, fields } = plainError(response);
        const out = {};
        if (fields.name) out.name = fields.name;
        if (fields.text) out.text = fields.text;
        return Object.keys(out).length ? out : { name: fields.sources || message };
      },
    });
  }

  /** A table's rows as passages: the string columns ticked, or none for its searchable ones. */
  async addTable() {
    const kb = this.kb();
    const tables = (this.tables() || []).filter((t) => t && t.name);
    if (!tables.length) { this.message('The bot has no tables yet: make one in the Tables tab first.'); return; }
    const strings = (name) => ((tables.find((t) => t.name === name) || {}).columns || []).filter((c) => c && c.type === 'string');
    const fields = [{ name: 'table', label: 'Table', type: 'select', options: tables.map((t) => [t.name, t.name]), value: tables[0].name }];
    for (const t of tables) {
      for (const c of strings(t.name)) {
        fields.push({ name: `col:${t.name}:${c.name}`, label: `Read ${c.name}${c.searchable ? ' (searchable)' : ''}`, type: 'checkbox', showWhen: (v) => v.table === t.name });
      }
    }
    await form({
      title: 'Add a table', submit: 'Add', fields,
      intro: 'Each row becomes a passage, cited by its row, and is read again when rows change. Tick the string columns to read; none ticked: the table\'s searchable columns.',
      validate: async (v) => {
        const columns = strings(v.table).map((c) => c.name).filter((c) => v[`col:${v.table}:${c}`]);
        const response = await call(this.url(kb.id, 'sources'), { method: 'POST', body: { kind: 'table', table: v.table, columns } });
        if (await this.added(response)) return null;
        const { message, fields: refused } = plainError(response);
        return { table: refused.table || refused.columns || refused.sources || message };
      },
    });
  }

  async reindex(source) {
    const response = await call(this.url(this.current, 'sources', source.id, 'reindex'), { method: 'POST' });
    if (!response.ok) { this.message(plainError(response).message); return; }
    Object.assign(source, response.data);
    this.renderSources();
    await this.loadList();
  }

  async deleteSource(source) {
    if (!await confirm({ title: `Delete ${source.name}`, submit: 'Delete source', danger: true, message: `Delete the source ${escapeHtml(source.name)} and its ${source.chunks} passages? Searches stop finding them at once.` })) return;
    const response = await call(this.url(this.current, 'sources', source.id), { method: 'DELETE' });
    if (!response.ok) { this.message(plainError(response).message); return; }
    toast(`${source.name} deleted`);
    await this.loadList();
  }

  // ---- try a query -------------------------------------------------------------------------
  async tryQuery() {
    const kb = this.kb();
    const box = this.view.querySelector('[data-role=results]');
    const query = this.view.querySelector('[data-role=query]').value;
    if (!query.trim()) { box.innerHTML = '<p class="fs-muted">Type a question first.</p>'; return; }
    const body = { query, limit: Number(this.view.querySelector('[data-role=limit]').value) };
    if (this.view.querySelector('[data-role=scope]').value === 'this') body.knowledgeBases = [kb.name];
    box.innerHTML = '<p class="fs-muted">Searching…</p>';
    const response = await call(`${this.base}/search`, { method: 'POST', body });
    if (!response.ok) { box.innerHTML = `<p class="fs-kb-error" role="alert">${escapeHtml(plainError(response).message)}</p>`; return; }
    const { hits, ms } = response.data;
    const indexing = (body.knowledgeBases ? [kb] : this.kbs).some((k) => !settled(k));
    const note = indexing ? ' Some sources are still indexing; their passages are not searched yet.' : '';
    if (!hits.length) { box.innerHTML = `<p class="fs-muted" data-role="no-hits">No content matched the query.${note}</p>`; return; }
    const ranks = (h) => [
      h.ftsRank ? `full text #${h.ftsRank}` : 'not in full text',
      h.vectorRank ? `meaning #${h.vectorRank}${h.similarity != null ? ` (similarity ${h.similarity.toFixed(2)})` : ''}` : 'not in meaning',
    ].join(' · ');
    box.innerHTML = `<p class="fs-muted">${hits.length} passage${hits.length > 1 ? 's' : ''} in ${Math.round(ms)} ms, best first.${note}</p>`
      + `<ol class="fs-kb-hits">${hits.map((h, i) => `<li class="fs-kb-hit" data-rank="${i + 1}" data-source-name="${escapeHtml(h.sourceName)}">
          <div class="fs-kb-hit-head"><span class="fs-kb-rank">[${i + 1}]</span>
            <span class="fs-kb-cite" data-role="citation">${escapeHtml(citationText(h))}</span>
            <span class="fs-tag">${escapeHtml(h.knowledgeBase)}</span><span class="fs-spacer"></span>
            <span class="fs-kb-score" data-role="score" title="Reciprocal rank fusion of the two rankings">score ${h.score.toFixed(4)}</span></div>
          <div class="fs-muted fs-kb-ranks">${escapeHtml(ranks(h))}</div>
          <p class="fs-kb-text">${escapeHtml(h.text)}</p></li>`).join('')}</ol>`;
  }

  async onViewClick(e) {
    const button = e.target.closest('[data-action]');
    if (!button || button.disabled) return;
    const action = button.dataset.action;
    const row = button.closest('tr[data-source]');
    const source = row && this.kb()?.sources.find((s) => s.id === Number(row.dataset.source));
    if (action === 'close') this.close();
    else if (action === 'dismiss') this.message('');
    else if (action === 'edit-kb') this.editKb();
    else if (action === 'delete-kb') this.deleteKb();
    else if (action === 'upload') this.view.querySelector('[data-role=files]').click();
    else if (action === 'add-url') this.addWeb('url');
    else if (action === 'add-sitemap') this.addWeb('sitemap');
    else if (action === 'add-text') this.addText();
    else if (action === 'add-table') this.addTable();
    else if (action === 'reindex' && source) this.reindex(source);
    else if (action === 'delete-source' && source) this.deleteSource(source);
  }
}
