// The problems panel: the server's validation of the whole draft (errors block publishing)
// and the editor's warnings. Each entry names where it is; clicking it opens that flow and
// selects the node or card, with the field in the inspector. A problem may carry fixes
// ({label, patch}: JSON Patch on the bot file); its button applies the patch as one undoable
// change, which the autosave then stores like any other edit.

import { escapeHtml } from './cards.js';
import { toast } from './dialogs.js';
import { plainMessage } from './field_messages.js';

// A field's validator message in the words its field shows (field_messages.js); others as written.
function panelMessage(p) {
  const plain = p.location.field ? plainMessage(p.message) : null;
  return plain && plain.rule ? plain.text : p.message;
}

/** Apply JSON Patch operations (add, remove, replace, test) to `doc` in place; throws when a
 * test fails or a path is missing, before anything changed when run on a copy first. */
export function applyPatch(doc, patch) {
  for (const op of patch) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    let parent = doc;
    for (const part of parts) {
      if (parent === null || typeof parent !== 'object' || !(part in parent)) throw new Error(`${op.path} is gone`);
      parent = parent[part];
    }
    const isList = Array.isArray(parent);
    const has = parent !== null && typeof parent === 'object' && last in parent;
    if (op.op === 'test') {
      if (!has || JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw new Error(`${op.path} changed`);
    } else if (op.op === 'remove') {
      if (!has) throw new Error(`${op.path} is gone`);
      if (isList) parent.splice(Number(last), 1); else delete parent[last];
    } else if (op.op === 'replace' || op.op === 'add') {
      if (op.op === 'replace' && !has) throw new Error(`${op.path} is gone`);
      const value = JSON.parse(JSON.stringify(op.value));
      if (isList && op.op === 'add') parent.splice(last === '-' ? parent.length : Number(last), 0, value);
      else parent[isList ? Number(last) : last] = value;
    } else {
      throw new Error(`unsupported operation ${op.op}`);
    }
  }
  return doc;
}

export class ProblemsPanel extends EventTarget {
  constructor(store, root, { navigate }) {
    super();
    this.store = store;
    this.root = root;
    this.navigate = navigate;
    this.problems = [];
    root.addEventListener('click', (e) => {
      const fixButton = e.target.closest('[data-fix]');
      if (fixButton) {
        const [problem, fix] = fixButton.dataset.fix.split(':').map(Number);
        // Until the save brings fresh problems, the applied fix (and its siblings) are stale.
        if (this.applyFix(this.problems[problem].fixes[fix])) {
          fixButton.parentElement.querySelectorAll('button').forEach((b) => { b.disabled = true; });
        }
        return;
      }
      const row = e.target.closest('[data-problem]');
      if (!row) return;
      const problem = this.problems[Number(row.dataset.problem)];
      this.navigate({ ...problem.location, problem });
    });
  }

  applyFix(fix) {
    try {
      applyPatch(JSON.parse(JSON.stringify(this.store.doc)), fix.patch);
    } catch (error) {
      toast(`Could not apply the fix: the draft changed since it was checked (${error.message}).`, 'error', 6000);
      return false;
    }
    return this.store.change(fix.label, (doc) => applyPatch(doc, fix.patch));
  }

  get errors() { return this.problems.filter((p) => p.severity === 'error'); }
  get warnings() { return this.problems.filter((p) => p.severity === 'warning'); }

  set(problems) {
    this.problems = problems || [];
    this.render();
    this.dispatchEvent(new CustomEvent('change', { detail: this.problems }));
  }

  describe(location, path = '') {
    const parts = [];
    // Library problems: "intent track_order › utterances" rather than a bare section name.
    const library = /^\$\.(intents|entities)\[(\d+)\](?:\.(\w+))?/.exec(path);
    if (library) {
      const entry = (this.store.doc[library[1]] || [])[Number(library[2])];
      parts.push(`${library[1] === 'intents' ? 'intent' : 'entity'} ${entry && entry.name ? entry.name : library[2]}`);
      if (library[3]) parts.push(library[3]);
      return parts.join(' › ');
    }
    if (location.flow) parts.push(location.flow);
    if (location.node) {
      const node = this.store.node(location.node, location.flow);
      parts.push(node && node.name && node.name !== node.id ? node.name : location.node);
    }
    if (location.card) {
      const found = this.store.findCard(location.card);
      const entry = found && this.store.catalogue.get(found.card.type);
      parts.push(entry ? entry.title : location.card);
    }
    if (location.variable) parts.push(`variable ${location.variable}`);
    if (location.field) parts.push(location.field);
    if (!parts.length) parts.push(location.section === 'bot' ? 'bot' : location.section);
    return parts.join(' › ');
  }

  /** Before the first answer from the server: say so rather than "no problems". */
  checking() {
    this.root.innerHTML = '<header class="fs-section-head"><h2>Problems</h2></header><p class="fs-muted fs-pad">Checking the draft…</p>';
  }

  render() {
    const errors = this.errors.length;
    const warnings = this.warnings.length;
    const head = `<header class="fs-section-head"><h2>Problems</h2><span class="fs-count ${errors ? 'error' : ''}" data-testid="error-count">${errors} error${errors === 1 ? '' : 's'}</span>`
      + `<span class="fs-count ${warnings ? 'warning' : ''}">${warnings} warning${warnings === 1 ? '' : 's'}</span></header>`;
    if (!this.problems.length) {
      this.root.innerHTML = `${head}<p class="fs-muted fs-pad">No problems: the draft can be published.</p>`;
      return;
    }
    const rows = this.problems.map((p, i) => `<li><button type="button" class="fs-problem ${p.severity}" data-problem="${i}" title="${escapeHtml(p.path)}">`
      + `<span class="fs-problem-icon" aria-label="${p.severity}">${p.severity === 'error' ? '✕' : '!'}</span>`
      + `<span class="fs-problem-where">${escapeHtml(this.describe(p.location, p.path))}</span>`
      + `<span class="fs-problem-message">${escapeHtml(panelMessage(p))}</span></button>`
      + (p.fixes && p.fixes.length && !this.store.readOnly
        ? `<div class="fs-problem-fixes">${p.fixes.map((fix, f) => `<button type="button" class="fs-button small fs-mutating" data-fix="${i}:${f}">${escapeHtml(fix.label)}</button>`).join('')}</div>`
        : '')
      + '</li>').join('');
    this.root.innerHTML = `${head}<ul class="fs-problem-list">${rows}</ul>`;
  }
}
