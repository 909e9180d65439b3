// Autosave. Logic changes are sent as the whole document with the revision it was based on
// (PUT draft); the server answers with the new revision and the problems of the draft, or
// 409 when someone else saved meanwhile: then the editor stops saving and asks. Node moves
// are sent apart (PUT layout) and never create a logic revision.

const DEBOUNCE_MS = 700;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector('input[name=csrfmiddlewaretoken]');
  return input ? input.value : '';
}

export async function api(url, { method = 'GET', body = undefined, form = undefined, keepalive = false } = {}) {
  const headers = { 'X-CSRFToken': csrfToken(), Accept: 'application/json' };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  const response = await fetch(url, { method, headers, body: payload, credentials: 'same-origin', keepalive });
  let data = null;
  const type = response.headers.get('Content-Type') || '';
  if (type.includes('json')) data = await response.json();
  return { ok: response.ok, status: response.status, data };
}

export class Saver extends EventTarget {
  constructor(store, urls) {
    super();
    this.store = store;
    this.urls = urls;
    this.logicVersion = 0;
    this.layoutVersion = 0;
    this.savedLogic = 0;
    this.savedLayout = 0;
    this.state = store.readOnly ? 'readonly' : 'saved';
    this.running = null;
    store.addEventListener('change', (e) => {
      const { logic, layout, loaded } = e.detail;
      if (loaded) { this.savedLogic = this.logicVersion; this.savedLayout = this.layoutVersion; this.setState('saved'); return; }
      if (logic) this.logicVersion += 1;
      if (layout) this.layoutVersion += 1;
      if (logic || layout) this.schedule();
    });
    window.addEventListener('beforeunload', (e) => {
      if (this.dirty()) {
        this.flush({ keepalive: true });
        e.preventDefault();
        e.returnValue = '';
      }
    });
  }

  dirty() { return this.logicVersion !== this.savedLogic || this.layoutVersion !== this.savedLayout; }

  setState(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, ...detail } }));
  }

  schedule() {
    if (this.state === 'conflict' || this.state === 'readonly') return;
    this.setState('pending');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), DEBOUNCE_MS);
  }

  /** Save everything not saved yet; resolves when done (true) or stopped by an error (false). */
  async flush(options = {}) {
    clearTimeout(this.timer);
    if (this.running) { await this.running; if (!this.dirty()) return this.state !== 'conflict'; }
    if (this.state === 'conflict' || this.state === 'readonly') return false;
    if (!this.dirty()) { this.setState('saved'); return true; }
    this.running = this.run(options);
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  async run({ keepalive = false } = {}) {
    this.setState('saving');
    try {
      while (this.dirty()) {
        if (this.logicVersion !== this.savedLogic) {
          const logicAt = this.logicVersion;
          const layoutAt = this.layoutVersion;
          const response = await api(this.urls.draft, {
            method: 'PUT', keepalive, body: { baseRevision: this.store.revision, document: this.store.doc },
          });
          if (!this.handleError(response)) return false;
          this.store.revision = response.data.revision;
          this.savedLogic = logicAt;
          this.savedLayout = layoutAt; // the document carries its layout too
          this.dispatchEvent(new CustomEvent('problems', { detail: response.data.problems }));
        } else {
          const layoutAt = this.layoutVersion;
          const response = await api(this.urls.layout, {
            method: 'PUT', keepalive, body: { baseRevision: this.store.revision, layout: this.store.doc.layout },
          });
          if (!this.handleError(response)) return false;
          this.savedLayout = layoutAt;
        }
      }
      this.setState('saved', { at: new Date() });
      return true;
    } catch (err) {
      this.setState('offline', { message: String(err) });
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), 3000);
      return false;
    }
  }

  handleError(response) {
    if (response.ok) return true;
    const error = (response.data && response.data.error) || { message: `HTTP ${response.status}` };
    if (response.status === 409) {
      this.setState('conflict', { currentRevision: error.currentRevision, message: error.message, changes: error.changes });
    } else if (response.status === 400 && error.code === 'invalid_layout') {
      // A layout the server cannot place means our copy of the draft is behind: save the logic again.
      this.logicVersion += 1;
      return true;
    } else {
      this.setState('error', { message: error.message, details: error.details || [] });
    }
    return false;
  }

  /** After a conflict: take the server's draft (dropping ours) or write ours over it. */
  async resolve(choice, currentRevision) {
    if (choice === 'theirs') {
      const response = await api(this.urls.draft);
      if (!response.ok) { this.setState('error', { message: 'Could not load the latest draft' }); return null; }
      this.store.load(response.data.document, response.data.revision);
      this.dispatchEvent(new CustomEvent('problems', { detail: response.data.problems }));
      this.setState('saved');
      return response.data;
    }
    this.store.revision = currentRevision;
    this.logicVersion += 1;
    this.setState('pending');
    return this.flush();
  }
}
