// Publishing, the versions list (author, time, note), restore, the diff of two versions,
// and import/export of the bot file.

import { escapeHtml } from './cards.js';
import { confirm, form, toast } from './dialogs.js';
import { api } from './save.js';

function when(iso) {
  const date = new Date(iso);
  return date.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** The diff of two documents (flows.versions_diff.diff_definitions) as readable lists. */
export function renderDiff(diff) {
  if (!diff || diff.identical) return '<p class="fs-muted">No differences.</p>';
  const out = [];
  const kinds = [['added', 'Added'], ['removed', 'Removed'], ['changed', 'Changed']];
  const label = {
    flows: (f) => `flow <strong>${escapeHtml(f)}</strong>`,
    nodes: (n) => `node <strong>${escapeHtml(n.name || n.id)}</strong> <span class="fs-muted">${escapeHtml(n.kind || '')} in ${escapeHtml(n.flow)}</span>`,
    cards: (c) => `${escapeHtml(c.type || 'card')} card <strong>${escapeHtml(c.id)}</strong> <span class="fs-muted">in ${escapeHtml(c.flow)} › ${escapeHtml(c.node)}${c.from ? ` (moved from ${escapeHtml(c.from.node)})` : ''}</span>`,
  };
  for (const section of ['flows', 'nodes', 'cards']) {
    for (const [kind, title] of kinds) {
      const items = (diff[section] || {})[kind] || [];
      if (!items.length) continue;
      out.push(`<h3>${title} ${section} <span class="fs-count">${items.length}</span></h3><ul class="fs-diff-list">`
        + items.map((item) => `<li class="fs-diff-${kind}">${label[section](item)}`
          + (item.fields ? ` <span class="fs-diff-fields">${item.fields.map(escapeHtml).join(', ')}</span>` : '') + '</li>').join('') + '</ul>');
    }
  }
  const others = Object.entries(diff).filter(([key, value]) => !['flows', 'nodes', 'cards', 'bot', 'counts', 'identical', 'layoutChanged'].includes(key)
    && value && typeof value === 'object' && ['added', 'removed', 'changed'].some((k) => (value[k] || []).length));
  for (const [key, value] of others) {
    const parts = kinds.filter(([k]) => (value[k] || []).length).map(([k, title]) => `${title.toLowerCase()}: ${value[k].map(escapeHtml).join(', ')}`);
    out.push(`<p><strong>${escapeHtml(key)}</strong> ${parts.join('; ')}</p>`);
  }
  if (diff.bot && diff.bot.changed && diff.bot.changed.length) out.push(`<p><strong>Bot</strong> changed: ${diff.bot.changed.map(escapeHtml).join(', ')}</p>`);
  if (diff.layoutChanged) out.push('<p class="fs-muted">Node positions changed.</p>');
  return out.join('') || '<p class="fs-muted">No differences.</p>';
}

export class Versions {
  constructor(store, root, { urls, saver, problems, can, onReload }) {
    this.store = store;
    this.root = root;
    this.urls = urls;
    this.saver = saver;
    this.problems = problems;
    this.can = can;
    this.onReload = onReload;
    this.versions = [];
    root.addEventListener('click', (e) => this.onClick(e));
    root.addEventListener('change', () => this.updateCompare());
  }

  set(versions) {
    this.versions = versions;
    this.render();
  }

  render() {
    const rows = this.versions.map((v) => `<li class="fs-version" data-version="${v.number}">`
      + `<div class="fs-version-head"><label><input type="checkbox" class="fs-compare" value="${v.number}" aria-label="Compare version ${v.number}"> <strong>v${v.number}</strong></label>`
      + `<span class="fs-muted">${escapeHtml(when(v.createdAt))}</span></div>`
      + `<div class="fs-version-meta">${escapeHtml(v.author || 'unknown author')}</div>`
      + (v.note ? `<div class="fs-version-note">${escapeHtml(v.note)}</div>` : '')
      + '<div class="fs-version-actions">'
      + `<button type="button" class="fs-button small" data-action="diff-draft" data-version="${v.number}">Compare with draft</button>`
      + `<a class="fs-button small" href="${this.urls.export}?version=${v.number}" download>Export</a>`
      + `<button type="button" class="fs-button small" data-action="restore" data-version="${v.number}"${this.can.change ? '' : ' disabled'}>Restore</button>`
      + '</div></li>').join('');
    this.root.innerHTML = `<section class="fs-explorer-section"><header class="fs-section-head"><h2>Versions</h2><span class="fs-count">${this.versions.length}</span></header>`
      + '<p class="fs-muted fs-pad">Every publish makes a version. Tick two to compare them.</p>'
      + `<button type="button" class="fs-button small fs-pad-x" data-action="compare" disabled>Compare selected</button>`
      + `<ul class="fs-version-list">${rows || '<li class="fs-empty">Nothing published yet.</li>'}</ul></section>`;
  }

  updateCompare() {
    const picked = [...this.root.querySelectorAll('.fs-compare:checked')];
    this.root.querySelector('[data-action=compare]').disabled = picked.length !== 2;
  }

  onClick(e) {
    const button = e.target.closest('button[data-action]');
    if (!button || button.disabled) return;
    const { action, version } = button.dataset;
    if (action === 'restore') this.restore(Number(version));
    else if (action === 'diff-draft') this.showDiff(version, 'draft');
    else if (action === 'compare') {
      const picked = [...this.root.querySelectorAll('.fs-compare:checked')].map((el) => Number(el.value)).sort((a, b) => a - b);
      this.showDiff(String(picked[0]), String(picked[1]));
    }
  }

  async refresh() {
    const response = await api(this.urls.versions);
    if (response.ok) this.set(response.data.versions);
  }

  async publish() {
    if (!await this.saver.flush()) { toast('Save your changes first (see the save status).', 'error'); return; }
    const errors = this.problems.errors;
    if (errors.length) {
      toast(`Publishing is blocked: ${errors.length} error${errors.length > 1 ? 's' : ''} in the problems panel.`, 'error');
      document.dispatchEvent(new CustomEvent('fs:show-problems'));
      return;
    }
    const warnings = this.problems.warnings.length;
    const values = await form({
      title: 'Publish', submit: 'Publish',
      intro: `<p>Users will talk to this version from their next conversation.${warnings ? ` <span class="fs-warning">${warnings} warning${warnings > 1 ? 's' : ''} remain.</span>` : ''}</p>`,
      fields: [{ name: 'note', label: 'Note', type: 'textarea', placeholder: 'What changed?' }],
    });
    if (!values) return;
    const response = await api(this.urls.publish, { method: 'POST', body: { baseRevision: this.store.revision, note: values.note } });
    if (response.ok) {
      this.set(response.data.versions);
      toast(`Published version ${response.data.version}.`, 'success');
      document.dispatchEvent(new CustomEvent('fs:published', { detail: response.data.version }));
      return;
    }
    const error = response.data ? response.data.error : { message: `HTTP ${response.status}` };
    if (error.code === 'draft_has_errors') this.problems.set(error.details.map((d) => ({ severity: 'error', ...d })));
    toast(error.message, 'error', 8000);
  }

  async restore(number) {
    const ok = await confirm({
      title: `Restore version ${number}?`, submit: 'Restore', danger: true,
      message: '<p>The draft is replaced by this version, including any changes not published yet. You can undo this by restoring a newer version.</p>',
    });
    if (!ok) return;
    await this.saver.flush();
    const response = await api(`${this.urls.versionsBase}${number}/restore`, { method: 'POST' });
    if (!response.ok) { toast(response.data ? response.data.error.message : 'Restore failed', 'error'); return; }
    this.onReload(response.data);
    toast(`Version ${number} restored into the draft.`, 'success');
  }

  async showDiff(from, to) {
    if (to === 'draft') await this.saver.flush();
    const response = await api(`${this.urls.diff}?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    const body = response.ok ? renderDiff(response.data.diff) : `<p class="fs-field-error">${escapeHtml(response.data ? response.data.error.message : `HTTP ${response.status}`)}</p>`;
    await form({ title: `Changes from v${from} to ${to === 'draft' ? 'the draft' : `v${to}`}`, fields: [{ name: 'diff', type: 'html', html: `<div class="fs-diff">${body}</div>` }], submit: 'Close', wide: true });
  }

  async importFile() {
    const values = await form({
      title: 'Import a bot file', submit: 'Import and replace', danger: true,
      intro: '<p>Importing <strong>replaces this bot\'s draft</strong> (flows, variables, library, layout). Published versions are kept.</p>',
      fields: [{ name: 'file', label: 'Bot file (.json)', type: 'file', accept: '.json,application/json' }],
      validate: (v) => (v.file ? null : { file: 'Choose a file' }),
    });
    if (!values) return;
    if (!await this.saver.flush()) { toast('Resolve the save problem first.', 'error'); return; }
    const data = new FormData();
    data.append('file', values.file);
    data.append('baseRevision', String(this.store.revision));
    const response = await api(this.urls.import, { method: 'POST', form: data });
    if (response.ok) {
      this.onReload(response.data);
      toast(`Imported ${values.file.name}.`, 'success');
      return;
    }
    const error = response.data ? response.data.error : { message: `HTTP ${response.status}`, details: [] };
    const list = (error.details || []).map((d) => `<li><code>${escapeHtml(d.path)}</code> ${escapeHtml(d.message)}</li>`).join('');
    await form({ title: 'Import refused', intro: `<p>${escapeHtml(error.message)}</p>${list ? `<ul class="fs-import-problems">${list}</ul>` : ''}`, fields: [], submit: 'Close', wide: true });
  }

  async exportDraft() {
    if (!await this.saver.flush()) { toast('Save your changes first.', 'error'); return; }
    const response = await fetch(this.urls.export, { credentials: 'same-origin' });
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      toast(data ? data.error.message : `Export failed (HTTP ${response.status})`, 'error', 8000);
      return;
    }
    const problems = Number(response.headers.get('X-Bot-File-Problems') || 0);
    if (problems) toast(`Exported as it is: the draft has ${problems} error${problems > 1 ? 's' : ''}, so the file will not import until they are fixed.`, 'error', 8000);
    const blob = await response.blob();
    const disposition = response.headers.get('Content-Disposition') || '';
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || 'bot.bot.json';
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }
}
