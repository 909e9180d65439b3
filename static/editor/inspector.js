// The inspector: a form for whatever is selected. Card forms are generated from the card's
// JSON Schema (the same schema the validator uses, built from the card registry) plus a
// hint per field saying which strings are templates, JavaScript, variables or node ids.
// Fields check themselves as you type; the server's problems for the card show under the
// field they concern.

import { CARDLESS_KINDS, NAME_PATTERN, UNTARGETABLE_KINDS, callersOf, clone, setTransition } from './store.js';
import { cardTitle, escapeHtml } from './cards.js';
import { patternMessage, showCheck, showServerProblems as showFieldProblems } from './field_messages.js';
import { declareVariable, scopesOf } from './varpicker.js';
import { toast } from './dialogs.js';

const LONG_TEXT = new Set(['text', 'prompt', 'message', 'validationMessage', 'retryMessage', 'confirmCancelMessage', 'instructions']);
// A template field of an AI card that is read as a whole text, not one line.
const LONG_TEMPLATES = new Set(['input', 'condition']);

// The autonomous node's own fields (flows/botfile/schema.py, node), in the order the
// inspector shows them. Its cards are its tools; `next` is drawn like any node's.
const AUTONOMOUS_FIELDS = {
  instructions: {
    schema: { type: 'string', minLength: 1 }, editor: 'template', required: true, label: 'Instructions',
    hint: 'What the model is to do, as a system prompt; {{ }} inserts variables. The node\'s cards are the tools it may call.',
  },
  maxIterations: { schema: { type: 'integer', minimum: 1, maximum: 50, default: 10 }, label: 'Max iterations', hint: 'The most model calls in one turn (1 to 50).' },
  model: { schema: { type: 'string' }, label: 'Model', hint: 'A model id or a label of the workspace\'s models (Fast, Best); empty for the bot\'s default.' },
  temperature: { schema: { type: 'number', minimum: 0, maximum: 2 }, label: 'Temperature', hint: '0 to 2; empty for the provider\'s default.' },
  maxTokens: { schema: { type: 'integer', minimum: 1, maximum: 100000 }, label: 'Max tokens', hint: 'The most tokens one answer may use; empty for the provider\'s default.' },
  useMemory: { schema: { type: 'boolean', default: false }, label: 'Use memory', hint: 'Send the conversation\'s summary and last turns too.' },
  mcpServers: { schema: { type: 'array', items: { type: 'string' } }, label: 'MCP servers', hint: 'Names of MCP servers whose tools it may also call, one per line.' },
  transitions: { schema: { type: 'array', items: { type: 'string' } }, label: 'Other nodes it may go to', hint: 'Node ids besides its next node that the model may transition to, one per line.' },
};

const TRIGGER_LABELS = { conversation_started: 'Conversation started', event: 'Custom event', state_expired: 'A state expired',
  webhook: 'A webhook is called', schedule: 'On a schedule' };
const TRIGGER_HELP = {
  conversation_started: 'Runs when a channel opens the conversation (the webchat widget starting), before the user writes.',
  event: 'Runs when a custom event arrives (Chat API createEvent, the webchat page\'s sendEvent); its payload is event.payload.',
  state_expired: 'Runs when a state of the state API expires; event.payload.state is that state.',
  webhook: 'Runs when the trigger\'s URL is POSTed to with its secret (URL and secret: REST API, /webhook-triggers of the bot); the JSON body is event.payload.',
  schedule: 'Runs at each due time of the cron expression, once, in a new conversation; event.payload.scheduledFor is the due time.',
};
// Fields that belong to one trigger type only: dropped when the type changes.
const TRIGGER_ONLY = { eventType: 'event', auth: 'webhook', cron: 'schedule', timezone: 'schedule' };

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "3 nodes, 1 workflow variable, 2 user variables, 0 bot variables": every declaration the flow reads counts. */
export function flowCounts(store, flow) {
  const bot = store.doc.variables || [];
  return [plural((flow.nodes || []).length, 'node'), plural((flow.variables || []).length, 'workflow variable'),
    plural(bot.filter((v) => v.scope === 'user').length, 'user variable'),
    plural(bot.filter((v) => v.scope === 'bot').length, 'bot variable')].join(', ');
}

export function humanize(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The non-null alternative of a nullable schema (pydantic writes `X | None` as anyOf). */
function unwrap(prop) {
  if (prop && prop.anyOf) {
    const options = prop.anyOf.filter((s) => s.type !== 'null');
    const nullable = options.length < prop.anyOf.length;
    if (options.length === 1) return { schema: { ...options[0], title: prop.title, default: prop.default }, nullable };
    return { schema: prop, nullable };
  }
  return { schema: prop || {}, nullable: false };
}

function resolve(schema, defs) {
  if (schema && schema.$ref) return defs[schema.$ref.replace('#/$defs/', '')] || {};
  return schema;
}

/** Client-side checks, so a builder sees a mistake before the server does. */
export function checkValue(value, schema, { required = false, nullable = false } = {}) {
  const empty = value === undefined || value === null || value === '';
  if (empty) return required && !nullable ? 'Required' : null;
  if (schema.type === 'string' || typeof value === 'string') {
    if (schema.minLength && String(value).length < schema.minLength) return 'Required';
    if (schema.maxLength && String(value).length > schema.maxLength) return `At most ${schema.maxLength} characters`;
    if (schema.pattern && !new RegExp(schema.pattern).test(String(value))) return patternMessage(schema.pattern);
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    if (typeof value !== 'number' || Number.isNaN(value)) return 'A number';
    if (schema.type === 'integer' && !Number.isInteger(value)) return 'A whole number';
    if (schema.minimum !== undefined && value < schema.minimum) return `At least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `At most ${schema.maximum}`;
  }
  return null;
}

// The model settings every AI card shares come after the card's own fields, as in Botpress.
const LLM_SETTINGS = ['model', 'temperature', 'maxTokens', 'useMemory'];

/**
 * The AI cards' model picker: every model of the workspace's providers, written as a card
 * names it: the label (or id) alone for the bot's provider (settings.llm.provider, else the
 * workspace's default), "provider/label" for the others. `llm` is the page's boot.llm.
 */
export function modelOptions(llm, document) {
  const providers = (llm && llm.providers) || [];
  const chosen = (((document || {}).settings || {}).llm || {}).provider || '';
  const names = providers.map((p) => p.name);
  const primary = chosen ? (names.includes(chosen) ? chosen : '') : (llm && llm.workspaceDefault) || '';
  const options = [];
  for (const provider of providers) {
    for (const model of provider.models) {
      const short = model.label || model.id;
      options.push({
        value: provider.name === primary ? short : `${provider.name}/${short}`,
        text: `${provider.name} · ${model.id}${provider.name === primary && model.default ? ' (default)' : ''}`,
        primary: provider.name === primary,
      });
    }
  }
  options.sort((a, b) => Number(b.primary) - Number(a.primary));
  const fallback = providers.find((p) => p.name === primary);
  const byDefault = fallback && fallback.models.find((m) => m.default);
  let placeholder;
  if (!providers.length) placeholder = 'No LLM provider in this workspace';
  else if (chosen && !primary) placeholder = `The bot names provider ${chosen}, which the workspace does not have`;
  else if (byDefault) placeholder = `Default: ${primary} · ${byDefault.id}`;
  else placeholder = 'Default model of the bot';
  return { options, placeholder, provider: primary };
}

export class Inspector {
  constructor(store, root, { completion, picker, defs, canvas, dialogs, llm, triggerTypes, knowledgeBases }) {
    this.store = store;
    // () -> Promise of the bot's KB names (the Knowledge tab's list; KBs are not in the draft).
    this.knowledgeBases = knowledgeBases || (() => Promise.resolve([]));
    this.picker = picker;
    this.triggerTypes = triggerTypes || ['conversation_started', 'event'];
    this.llm = llm || { providers: [], workspaceDefault: '' };
    this.root = root;
    this.completion = completion;
    this.defs = defs;
    this.canvas = canvas;
    this.dialogs = dialogs;
    this.problems = [];
    this.ownChange = false;
    store.addEventListener('select', () => this.render());
    store.addEventListener('change', () => { if (!this.ownChange) this.render(); });
  }

  change(label, mutate, coalesce) {
    this.ownChange = true;
    try {
      this.store.change(label, mutate, { coalesce });
    } finally {
      this.ownChange = false;
    }
  }

  setProblems(problems) {
    this.problems = problems;
    this.showServerProblems();
  }

  // ---- rendering -------------------------------------------------------------------------
  render() {
    const sel = this.store.selection;
    const focusedField = document.activeElement && this.root.contains(document.activeElement) ? document.activeElement.dataset.field : null;
    this.root.innerHTML = '';
    const found = sel.card ? this.store.findCard(sel.card) : null;
    if (found) this.renderCard(found);
    else if (sel.nodes.length === 1 && this.store.node(sel.nodes[0])) this.renderNode(this.store.node(sel.nodes[0]));
    else if (sel.nodes.length > 1) this.renderMany(sel.nodes);
    else if (sel.edge) this.renderEdge(sel.edge);
    else this.renderFlow();
    if (this.store.readOnly) this.root.querySelectorAll('input, textarea, select, button.fs-mutating').forEach((el) => { el.disabled = true; });
    if (focusedField) {
      const again = this.root.querySelector(`[data-field="${CSS.escape(focusedField)}"]`);
      if (again) again.focus();
    }
    this.showServerProblems();
  }

  section(title, subtitle = '') {
    const el = document.createElement('section');
    el.className = 'fs-inspector-section';
    el.innerHTML = `<header class="fs-inspector-head"><h2>${escapeHtml(title)}</h2>${subtitle ? `<div class="fs-muted">${escapeHtml(subtitle)}</div>` : ''}</header>`;
    this.root.append(el);
    return el;
  }

  field(parent, { name, label, hint = '', required = false }) {
    const wrap = document.createElement('div');
    wrap.className = 'fs-field';
    wrap.dataset.fieldWrap = name;
    const id = `fs-field-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    wrap.innerHTML = `<label for="${id}">${escapeHtml(label)}${required ? ' <span class="fs-required" title="required">*</span>' : ''}</label>`
      + '<div class="fs-field-control"></div>'
      + (hint ? `<div class="fs-field-hint">${escapeHtml(hint)}</div>` : '')
      + '<div class="fs-field-error" role="alert"></div><div class="fs-field-server" role="alert"></div>';
    parent.append(wrap);
    return { wrap, id, control: wrap.querySelector('.fs-field-control'), error: wrap.querySelector('.fs-field-error') };
  }

  showServerProblems() {
    const sel = this.store.selection;
    const byField = new Map([...this.root.querySelectorAll('[data-field-wrap]')].map((wrap) => [wrap, []]));
    const banner = this.root.querySelector('.fs-inspector-problems');
    if (banner) banner.innerHTML = '';
    const mine = this.problems.filter((p) => p.location.flow === this.store.flowName && (
      (sel.card && p.location.card === sel.card)
      || (!sel.card && sel.nodes.length === 1 && p.location.node === sel.nodes[0] && !p.location.card)));
    for (const p of mine) {
      const wrap = p.location.field && this.root.querySelector(`[data-field-wrap="${CSS.escape(p.location.field)}"]`);
      if (wrap) byField.get(wrap)?.push(p);
      else if (banner) banner.insertAdjacentHTML('beforeend', `<div class="fs-problem-inline ${p.severity}">${escapeHtml(p.message)}</div>`);
    }
    // One plain message per field, the check as you type first (field_messages.js).
    for (const [wrap, found] of byField) showFieldProblems(wrap, found);
  }

  // ---- a card ---------------------------------------------------------------------------------
  renderCard({ node, card }) {
    const entry = this.store.catalogue.get(card.type);
    const section = this.section(cardTitle(this.store, card), `${entry ? entry.category : card.type} · in ${node.name || node.id}`);
    section.insertAdjacentHTML('beforeend', `${entry && entry.hint ? `<p class="fs-muted">${escapeHtml(entry.hint)}</p>` : ''}<div class="fs-inspector-problems"></div>`);
    const form = document.createElement('form');
    form.className = 'fs-form';
    form.addEventListener('submit', (e) => e.preventDefault());
    section.append(form);
    const schema = entry ? entry.schema : { properties: {} };
    const required = new Set(schema.required || []);
    const transitions = new Set(entry ? entry.transitions : []);
    const rank = (name) => {
      if (entry?.category !== 'AI') return 0;
      if (transitions.has(name)) return 2;
      return LLM_SETTINGS.includes(name) ? 1 : 0;
    };
    const fields = Object.entries(schema.properties || {}).sort(([a], [b]) => rank(a) - rank(b));
    for (const [name, prop] of fields) {
      if (name === 'id' || name === 'type') continue;
      const editor = (entry && entry.editors[name]) || '';
      this.cardField(form, card, name, prop, editor, required.has(name));
    }
    const actions = document.createElement('div');
    actions.className = 'fs-form-actions';
    actions.innerHTML = `<span class="fs-muted fs-mono">${escapeHtml(card.id)}</span><button type="button" class="fs-button danger fs-mutating" data-action="delete-card">Delete card</button>`;
    actions.querySelector('[data-action=delete-card]').addEventListener('click', () => {
      this.store.select({ nodes: [node.id], card: card.id });
      this.canvas.deleteSelection();
    });
    section.append(actions);
  }

  setCardField(card, name, value, coalesce = true) {
    const cardId = card.id;
    this.change(`Edit ${humanize(name).toLowerCase()}`, () => {
      const found = this.store.findCard(cardId);
      if (!found) return;
      if (value === undefined) delete found.card[name];
      else found.card[name] = value;
    }, coalesce ? `card:${cardId}:${name}` : null);
  }

  /** A datalist of the workspace's models on an AI card's model field (free text still works). */
  modelPicker(f, input) {
    const { options, placeholder } = modelOptions(this.llm, this.store.doc);
    const list = document.createElement('datalist');
    list.id = `${f.id}-models`;
    list.innerHTML = options.map((o) => `<option value="${escapeHtml(o.value)}">${escapeHtml(o.text)}</option>`).join('');
    input.setAttribute('list', list.id);
    input.placeholder = placeholder;
    input.autocomplete = 'off';
    f.control.append(list);
  }

  /**
   * One field of a card's form, by its schema. `card` holds the value; for a node's own
   * fields it is the node and `owner` says how to write it: {set(field, value, coalesce), label, hint}.
   */
  cardField(form, card, name, prop, editor, required, owner = null) {
    const { schema: raw, nullable } = unwrap(prop);
    const schema = resolve(raw, this.defs);
    const put = owner ? owner.set : (field, v, coalesce) => this.setCardField(card, field, v, coalesce);
    const label = owner?.label || (name === 'onFailure' ? 'On failure go to' : (name === 'next' ? 'When true go to' : humanize(name)));
    const hint = owner?.hint ?? ({
      variable: 'Where the answer is stored, e.g. workflow.size',
      inputs: '', condition: editor === 'expression' ? 'JavaScript, e.g. workflow.total > 100' : '', name: 'Outputs land in workflow.<name>.<output>',
      choicesFrom: 'A variable holding a list of choices', options: 'JSON object of type-specific options',
    }[name] || prop.description || '');
    const f = this.field(form, { name, label, hint, required: required && !nullable });
    const value = card[name];
    const validate = (v) => showCheck(f.wrap, checkValue(v, schema, { required, nullable }));

    if (editor === 'node') {
      const select = this.nodeSelect(f.id, value, (target) => {
        this.change('Connect', () => setTransition(this.store, this.store.findCard(card.id).node.id, `${card.id}:${name}`, target));
      });
      select.dataset.field = name;
      f.control.append(select);
      return;
    }
    if (editor === 'flow') {
      const select = document.createElement('select');
      select.id = f.id;
      select.className = 'fs-input';
      select.dataset.field = name;
      const flows = this.store.flows().filter((fl) => this.store.isCustom(fl.name));
      select.innerHTML = (value ? '' : '<option value="">Choose a flow</option>')
        + flows.map((fl) => `<option value="${escapeHtml(fl.name)}"${fl.name === value ? ' selected' : ''}>${escapeHtml(fl.name)}</option>`).join('');
      select.addEventListener('change', () => { put(name, select.value, false); this.render(); });
      f.control.append(select);
      validate(value);
      return;
    }
    if (editor === 'table') {
      const select = document.createElement('select');
      select.id = f.id;
      select.className = 'fs-input';
      select.dataset.field = name;
      const tables = (Array.isArray(this.store.doc.tables) ? this.store.doc.tables : []).map((t) => t && t.name).filter(Boolean);
      select.innerHTML = (value ? '' : '<option value="">Choose a table</option>')
        + tables.map((t) => `<option value="${escapeHtml(t)}"${t === value ? ' selected' : ''}>${escapeHtml(t)}</option>`).join('')
        + (value && !tables.includes(value) ? `<option value="${escapeHtml(value)}" selected>${escapeHtml(value)} (missing)</option>` : '');
      select.addEventListener('change', () => { put(name, select.value, false); this.render(); });
      f.control.append(select);
      validate(value);
      return;
    }
    if (editor === 'knowledgeBases') {
      this.knowledgeBasesField(f, card, name, put);
      return;
    }
    if (editor === 'inputs') {
      this.inputsField(f, card);
      return;
    }
    if (schema.enum) {
      const select = document.createElement('select');
      select.id = f.id;
      select.className = 'fs-input';
      select.dataset.field = name;
      select.innerHTML = schema.enum.map((option) => `<option value="${escapeHtml(option)}"${option === (value ?? schema.default) ? ' selected' : ''}>${escapeHtml(humanize(String(option)))}</option>`).join('');
      select.addEventListener('change', () => put(name, select.value, false));
      f.control.append(select);
      return;
    }
    if (schema.type === 'boolean') {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.id = f.id;
      box.dataset.field = name;
      box.checked = Boolean(value ?? schema.default);
      box.addEventListener('change', () => put(name, box.checked, false));
      f.control.append(box);
      f.wrap.classList.add('fs-field-inline');
      return;
    }
    if (schema.type === 'integer' || schema.type === 'number') {
      const input = document.createElement('input');
      input.type = 'number';
      input.id = f.id;
      input.className = 'fs-input';
      input.dataset.field = name;
      if (schema.minimum !== undefined) input.min = schema.minimum;
      if (schema.maximum !== undefined) input.max = schema.maximum;
      input.step = schema.type === 'integer' ? '1' : 'any';
      input.value = value ?? '';
      input.placeholder = schema.default !== undefined && schema.default !== null ? String(schema.default) : '';
      input.addEventListener('input', () => {
        const v = input.value === '' ? (nullable ? null : undefined) : Number(input.value);
        validate(v);
        put(name, v);
      });
      f.control.append(input);
      validate(value);
      return;
    }
    if (schema.type === 'array') {
      this.arrayField(f, card, name, schema, nullable, validate, put);
      return;
    }
    if (schema.type === 'object') {
      this.jsonField(f, card, name, value, nullable, put);
      return;
    }
    // An object or one template that gives one (a table card's filter and values): JSON
    // that parses to an object is stored as the object, anything else as the template text.
    if (Array.isArray(schema.type) && schema.type.includes('object') && schema.type.includes('string')) {
      this.jsonField(f, card, name, value, nullable, put, { allowString: true });
      return;
    }
    // Strings: templates, JavaScript, variable paths, plain text.
    const long = LONG_TEXT.has(name) || editor === 'code' || (card.type === 'comment' && name === 'text')
      || (LONG_TEMPLATES.has(name) && editor === 'template');
    const input = document.createElement(long ? 'textarea' : 'input');
    if (!long) input.type = 'text';
    input.id = f.id;
    input.className = `fs-input${editor === 'code' || editor === 'expression' ? ' fs-mono' : ''}`;
    input.dataset.field = name;
    if (long) input.rows = editor === 'code' ? 10 : (name === 'instructions' ? 6 : 3);
    input.value = value ?? '';
    input.spellcheck = !(editor === 'code' || editor === 'expression' || editor === 'variable');
    input.addEventListener('input', () => {
      const v = input.value === '' && nullable ? null : input.value;
      validate(v);
      put(name, v);
    });
    if (editor === 'code' || editor === 'expression') {
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Tab' && editor === 'code' && !e.shiftKey && !this.completion.state) {
          e.preventDefault();
          input.setRangeText('  ', input.selectionStart, input.selectionEnd, 'end');
          input.dispatchEvent(new Event('input'));
        }
      });
    }
    if (editor === 'variable' && this.picker) this.variablePicker(input, card, name, schema, nullable, put, validate);
    else if (editor) this.completion.attach(input, editor === 'code' || editor === 'expression' || editor === 'variable' ? 'code' : 'template');
    // AI cards and the autonomous node (a node's own field: `owner`) pick from the workspace's models.
    if (name === 'model' && !long && (owner || String(card.type).startsWith('ai_'))) this.modelPicker(f, input);
    f.control.append(input);
    validate(value);
  }

  /** The variable picker on a variable-path field; creating a variable is one undo step with the field. */
  variablePicker(input, card, name, schema, nullable, put, validate) {
    const cardId = card.id;
    this.picker.attach(input, {
      scopes: scopesOf(schema),
      card: () => (this.store.findCard(cardId) || {}).card,
      pick: (path) => { validate(path); put(name, path, false); },
      create: (path, declaration) => {
        const flowName = this.store.flowName;
        this.change(`Add variable ${path}`, () => {
          declareVariable(this.store, flowName, declaration);
          const found = this.store.findCard(cardId);
          if (found) found.card[name] = path;
        });
        validate(path);
        toast(`Declared ${path} (${declaration.type}).`);
      },
    });
  }

  nodeSelect(id, value, onChange) {
    const select = document.createElement('select');
    select.id = id;
    select.className = 'fs-input';
    const targets = this.store.nodes().filter((n) => !UNTARGETABLE_KINDS.includes(n.kind));
    select.innerHTML = '<option value="">(nowhere: the conversation ends)</option>'
      + targets.map((n) => `<option value="${escapeHtml(n.id)}"${n.id === value ? ' selected' : ''}>${escapeHtml(n.name && n.name !== n.id ? `${n.name} (${n.id})` : n.id)}</option>`).join('');
    if (value && !targets.some((n) => n.id === value)) select.insertAdjacentHTML('beforeend', `<option value="${escapeHtml(value)}" selected>${escapeHtml(value)} (missing)</option>`);
    select.addEventListener('change', () => onChange(select.value || null));
    return select;
  }

  inputsField(f, card) {
    const callee = this.store.flow(card.flow);
    const inputs = ((callee && callee.variables) || []).filter((v) => v.input);
    if (!callee) { f.control.innerHTML = '<div class="fs-muted">Choose a flow first.</div>'; return; }
    if (!inputs.length) {
      f.control.innerHTML = `<div class="fs-muted">${escapeHtml(callee.name)} takes no inputs. Mark variables as inputs on its Entry node.</div>`;
      return;
    }
    const extra = Object.keys(card.inputs || {}).filter((k) => !inputs.some((v) => v.name === k));
    for (const v of inputs) {
      const row = document.createElement('div');
      row.className = 'fs-subfield';
      row.dataset.fieldWrap = `inputs.${v.name}`;
      const inputId = `fs-input-${v.name}`;
      row.innerHTML = `<label for="${inputId}">${escapeHtml(v.name)} <span class="fs-muted">${escapeHtml(v.type)}</span></label>`;
      const input = document.createElement('input');
      input.type = 'text';
      input.id = inputId;
      input.className = 'fs-input';
      input.dataset.field = `inputs.${v.name}`;
      input.placeholder = v.default !== undefined ? `default: ${JSON.stringify(v.default)}` : 'a value or {{ variable }}';
      input.value = (card.inputs || {})[v.name] ?? '';
      input.addEventListener('input', () => {
        const inputs = { ...(this.store.findCard(card.id).card.inputs || {}) };
        if (input.value === '') delete inputs[v.name];
        else inputs[v.name] = input.value;
        this.setCardField(card, 'inputs', inputs);
      });
      this.completion.attach(input, 'template');
      row.append(input);
      f.control.append(row);
    }
    if (extra.length) {
      f.control.insertAdjacentHTML('beforeend', `<div class="fs-field-error">Not inputs of ${escapeHtml(callee.name)}: ${escapeHtml(extra.join(', '))}</div>`);
    }
  }

  /** A tick box per KB of the bot (none ticked: the card searches all of them); a name the
      card holds that no KB has any more stays ticked, marked missing, until it is unticked. */
  knowledgeBasesField(f, card, name, put) {
    const box = document.createElement('div');
    box.className = 'fs-kb-pick';
    box.id = f.id;
    box.dataset.field = name;
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', f.wrap.querySelector('label')?.textContent || name);
    const value = Array.isArray(card[name]) ? card[name] : [];
    const draw = (names, loaded) => {
      const all = [...names, ...value.filter((v) => !names.includes(v))];
      box.innerHTML = all.map((n) => `<label class="fs-kb-pick-item"><input type="checkbox" value="${escapeHtml(n)}"${value.includes(n) ? ' checked' : ''}> ${escapeHtml(n)}`
        + `${loaded && !names.includes(n) ? ' <span class="fs-warning">(missing)</span>' : ''}</label>`).join('')
        || `<p class="fs-muted">${loaded ? 'No knowledge bases yet: make them in the Knowledge tab.' : 'Loading the knowledge bases…'}</p>`;
    };
    box.addEventListener('change', () => put(name, [...box.querySelectorAll('input:checked')].map((i) => i.value), false));
    draw([], false);
    this.knowledgeBases().then((names) => { if (box.isConnected) draw(names, true); }, (err) => {
      if (box.isConnected) box.innerHTML = `<p class="fs-warning" role="alert">Could not load the knowledge bases: ${escapeHtml(err.message)}</p>`;
    });
    f.control.append(box);
  }

  arrayField(f, card, name, schema, nullable, validate, put) {
    const items = resolve(schema.items || {}, this.defs);
    const value = card[name];
    const simpleStrings = items.type === 'string';
    if (simpleStrings) {
      const area = document.createElement('textarea');
      area.id = f.id;
      area.className = 'fs-input';
      area.rows = 3;
      area.dataset.field = name;
      area.placeholder = 'One per line';
      area.value = (value || []).join('\n');
      area.addEventListener('input', () => {
        const list = area.value.split('\n').map((s) => s.trim()).filter(Boolean);
        put(name, list.length || !nullable ? list : null);
      });
      f.control.append(area);
      return;
    }
    // Lists of small objects (choices, actions): one row of inputs per item.
    const variants = items.anyOf ? items.anyOf.map((s) => resolve(s, this.defs)) : [items];
    const objectSchema = variants.find((s) => s.type === 'object');
    const allowsString = variants.some((s) => s.type === 'string');
    const simple = objectSchema && Object.values(objectSchema.properties || {}).every((p) => {
      const inner = unwrap(p).schema;
      return inner.enum || ['string', 'number', 'integer', 'boolean'].includes(inner.type) || p.anyOf;
    });
    if (!simple) { this.jsonField(f, card, name, value, nullable, put); return; }
    const keys = Object.keys(objectSchema.properties);
    const list = document.createElement('div');
    list.className = 'fs-rows';
    const rows = (value || []).map((item) => (typeof item === 'string' ? { [keys[0]]: item } : { ...item }));
    const current = () => rows.map((row) => {
      const clean = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== '' && v !== undefined && v !== null));
      if (allowsString && Object.keys(clean).length === 1 && clean[keys[0]] !== undefined) return clean[keys[0]];
      return clean;
    });
    const commit = () => {
      const out = current();
      put(name, out.length || !nullable ? out : null);
      validate(out);
    };
    // A row's variable path (an AI Task output's variable) gets the picker; creating is one step.
    const pickVariable = (input, row, key, inner) => {
      const cardId = card.id;
      this.picker.attach(input, {
        scopes: scopesOf(inner),
        card: () => null,
        pick: (path) => { row[key] = path; commit(); },
        create: (path, declaration) => {
          row[key] = path;
          const flowName = this.store.flowName;
          this.change(`Add variable ${path}`, () => {
            declareVariable(this.store, flowName, declaration);
            const found = this.store.findCard(cardId);
            if (found) found.card[name] = current();
          });
          toast(`Declared ${path} (${declaration.type}).`);
        },
      });
    };
    const draw = () => {
      list.innerHTML = '';
      rows.forEach((row, index) => {
        const line = document.createElement('div');
        line.className = 'fs-row';
        for (const key of keys) {
          const inner = unwrap(objectSchema.properties[key]).schema;
          let input;
          if (inner.enum) {
            input = document.createElement('select');
            input.innerHTML = inner.enum.map((o) => `<option${o === row[key] ? ' selected' : ''}>${escapeHtml(o)}</option>`).join('');
            if (row[key] === undefined) row[key] = inner.enum[0];
          } else {
            input = document.createElement('input');
            input.type = 'text';
            input.placeholder = humanize(key);
            input.value = row[key] ?? '';
          }
          input.className = 'fs-input';
          input.setAttribute('aria-label', `${humanize(name)} ${index + 1} ${key}`);
          input.addEventListener(inner.enum ? 'change' : 'input', () => { row[key] = input.value; commit(); });
          if (!inner.enum && this.picker && /^\^\(workflow\|/.test(inner.pattern || '')) pickVariable(input, row, key, inner);
          line.append(input);
        }
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'fs-icon-button fs-mutating';
        remove.title = 'Remove';
        remove.textContent = '×';
        remove.addEventListener('click', () => { rows.splice(index, 1); commit(); draw(); });
        line.append(remove);
        list.append(line);
      });
    };
    draw();
    const add = document.createElement('button');
    add.type = 'button';
    add.className = 'fs-button small fs-mutating';
    add.textContent = `Add ${humanize(name).toLowerCase().replace(/s$/, '')}`;
    add.addEventListener('click', () => { rows.push({}); draw(); list.querySelector('.fs-row:last-child input')?.focus(); });
    f.control.append(list, add);
  }

  jsonField(f, card, name, value, nullable, put = (field, v) => this.setCardField(card, field, v), { allowString = false } = {}) {
    const area = document.createElement('textarea');
    area.id = f.id;
    area.className = 'fs-input fs-mono';
    area.rows = 4;
    area.dataset.field = name;
    area.value = value === undefined || value === null ? '' : (typeof value === 'string' && allowString ? value : JSON.stringify(value, null, 2));
    area.addEventListener('input', () => {
      if (area.value.trim() === '') { f.error.textContent = ''; put(name, nullable ? null : undefined); return; }
      try {
        const parsed = JSON.parse(area.value);
        if (allowString && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) throw new Error('not an object');
        f.error.textContent = '';
        put(name, parsed);
      } catch (err) {
        if (allowString && !area.value.trim().startsWith('{')) { f.error.textContent = ''; put(name, area.value.trim()); return; }
        f.error.textContent = `Not valid JSON: ${err.message}`;
      }
    });
    f.control.append(area);
  }

  // ---- a node ---------------------------------------------------------------------------------
  renderNode(node) {
    const kindLabel = { start: 'Start node', entry: 'Entry node', exit: 'Exit node', end: 'End node', standard: 'Standard node', autonomous: 'Autonomous node', trigger: 'Trigger node' }[node.kind] || node.kind;
    const section = this.section(node.name || node.id, kindLabel);
    section.insertAdjacentHTML('beforeend', '<div class="fs-inspector-problems"></div>');
    const form = document.createElement('form');
    form.className = 'fs-form';
    form.addEventListener('submit', (e) => e.preventDefault());
    section.append(form);
    if (!CARDLESS_KINDS.includes(node.kind) || node.kind === 'trigger') {
      const f = this.field(form, { name: 'name', label: 'Name' });
      const input = document.createElement('input');
      input.id = f.id;
      input.className = 'fs-input';
      input.dataset.field = 'name';
      input.value = node.name || '';
      input.addEventListener('input', () => {
        const nodeId = node.id;
        this.change('Rename node', () => { const n = this.store.node(nodeId); if (input.value) n.name = input.value; else delete n.name; }, `node:${nodeId}:name`);
      });
      f.control.append(input);
    }
    if (node.kind === 'autonomous') this.autonomousFields(form, node);
    if (node.kind === 'trigger') this.triggerFields(form, node);
    const flow = this.store.flow();
    if (node.kind === 'entry' || node.kind === 'exit') {
      const flag = node.kind === 'entry' ? 'input' : 'output';
      const f = this.field(form, {
        name: `${flag}s`, label: node.kind === 'entry' ? 'Input variables' : 'Output variables',
        hint: node.kind === 'entry' ? 'Click a variable to make it an input: callers pass a value for it.' : 'Click a variable to make it an output: callers read it as workflow.<card name>.<variable>.',
      });
      const vars = flow.variables || [];
      if (!vars.length) f.control.innerHTML = '<div class="fs-muted">This flow has no variables yet. Add them in the explorer.</div>';
      for (const v of vars) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = `fs-chip fs-mutating${v[flag] ? ' on' : ''}`;
        button.setAttribute('aria-pressed', v[flag] ? 'true' : 'false');
        button.dataset.variable = v.name;
        button.textContent = `${v.name} · ${v.type}`;
        button.addEventListener('click', () => {
          this.change(`Toggle ${flag}`, () => { const target = this.store.flow().variables.find((x) => x.name === v.name); target[flag] = !target[flag]; });
        });
        f.control.append(button);
      }
    }
    if (!['exit', 'end'].includes(node.kind)) {
      const f = node.kind === 'autonomous'
        ? this.field(form, { name: 'next', label: 'May transition to', hint: 'The node the model may hand the conversation to once its work is done.' })
        : this.field(form, { name: 'next', label: CARDLESS_KINDS.includes(node.kind) ? 'Go to' : 'After the last card go to' });
      const select = this.nodeSelect(f.id, node.next, (target) => this.change('Connect', () => setTransition(this.store, node.id, 'next', target)));
      select.dataset.field = 'next';
      f.control.append(select);
    }
    if (node.kind === 'end') section.insertAdjacentHTML('beforeend', '<p class="fs-muted">Ends the conversation: its variables are cleared and the conversation_end flow runs.</p>');
    const actions = document.createElement('div');
    actions.className = 'fs-form-actions';
    actions.innerHTML = `<span class="fs-muted fs-mono">${escapeHtml(node.id)}</span>`;
    if (!['start', 'entry'].includes(node.kind)) {
      actions.insertAdjacentHTML('beforeend', '<button type="button" class="fs-button danger fs-mutating" data-action="delete-node">Delete node</button>');
      actions.querySelector('[data-action=delete-node]').addEventListener('click', () => { this.store.select({ nodes: [node.id] }); this.canvas.deleteSelection(); });
    }
    section.append(actions);
  }

  autonomousFields(form, node) {
    const nodeId = node.id;
    for (const [name, spec] of Object.entries(AUTONOMOUS_FIELDS)) {
      const set = (field, value, coalesce = true) => this.change(`Edit ${humanize(field).toLowerCase()}`, () => {
        const target = this.store.node(nodeId);
        if (!target) return;
        // An empty field is an omitted one: the engine's default applies.
        if (value === undefined || value === null || value === '' || (Array.isArray(value) && !value.length)) delete target[field];
        else target[field] = value;
      }, coalesce ? `node:${nodeId}:${field}` : null);
      this.cardField(form, node, name, spec.schema, spec.editor || '', Boolean(spec.required), { set, label: spec.label, hint: spec.hint });
    }
  }

  /** A trigger node's `trigger`: its type, the custom event's type, a condition (docs/bot-format.md). */
  triggerFields(form, node) {
    const nodeId = node.id;
    const trigger = node.trigger || {};
    const set = (mutate, label, coalesce = null) => this.change(label, () => {
      const target = this.store.node(nodeId);
      if (!target) return;
      target.trigger = { type: 'conversation_started', ...(target.trigger || {}) };
      mutate(target.trigger);
    }, coalesce);
    const type = this.field(form, { name: 'trigger.type', label: 'Starts when', required: true });
    const select = document.createElement('select');
    select.id = type.id;
    select.className = 'fs-input';
    select.dataset.field = 'trigger.type';
    select.innerHTML = this.triggerTypes.map((t) => `<option value="${escapeHtml(t)}"${t === (trigger.type || 'conversation_started') ? ' selected' : ''}>${escapeHtml(TRIGGER_LABELS[t] || humanize(t))}</option>`).join('');
    select.addEventListener('change', () => {
      set((t) => {
        t.type = select.value;
        for (const [key, only] of Object.entries(TRIGGER_ONLY)) if (only !== select.value) delete t[key];
        if (select.value === 'schedule' && !t.cron) t.cron = '0 9 * * *';
      }, 'Edit trigger type');
      this.render();
    });
    type.control.append(select);
    if ((trigger.type || 'conversation_started') === 'event') {
      this.triggerText(form, set, 'eventType', trigger.eventType, { label: 'Event type', hint: 'The custom event\'s payload.type must equal it; empty: any custom event.', mode: null });
    }
    if (trigger.type === 'webhook') {
      const auth = this.field(form, { name: 'trigger.auth', label: 'Proof of the secret' });
      const pick = document.createElement('select');
      pick.id = auth.id;
      pick.className = 'fs-input';
      pick.dataset.field = 'trigger.auth';
      pick.innerHTML = [['signature', 'HMAC-SHA256 signature of the body'], ['secret', 'The secret in a header']]
        .map(([v, l]) => `<option value="${v}"${v === (trigger.auth || 'signature') ? ' selected' : ''}>${l}</option>`).join('');
      pick.addEventListener('change', () => set((t) => { if (pick.value === 'signature') delete t.auth; else t.auth = pick.value; }, 'Edit trigger auth'));
      auth.control.append(pick);
    }
    if (trigger.type === 'schedule') {
      this.triggerText(form, set, 'cron', trigger.cron, { label: 'Cron', hint: 'Five fields: minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5.', mode: null });
      this.triggerText(form, set, 'timezone', trigger.timezone, { label: 'Time zone', hint: 'An IANA name such as Europe/Paris; empty: UTC.', mode: null });
    }
    this.triggerText(form, set, 'condition', trigger.condition, {
      label: 'Condition', hint: 'JavaScript, e.g. event.payload.amount > 100; empty: always.', mode: 'code',
    });
    form.insertAdjacentHTML('beforeend', `<p class="fs-muted">${escapeHtml(TRIGGER_HELP[trigger.type || 'conversation_started'] || '')}</p>`);
  }

  triggerText(form, set, key, value, { label, hint, mode }) {
    const f = this.field(form, { name: `trigger.${key}`, label, hint });
    const input = document.createElement('input');
    input.type = 'text';
    input.id = f.id;
    input.className = `fs-input${mode === 'code' ? ' fs-mono' : ''}`;
    input.dataset.field = `trigger.${key}`;
    input.spellcheck = false;
    input.value = value || '';
    input.addEventListener('input', () => {
      set((t) => { if (input.value.trim()) t[key] = input.value; else delete t[key]; }, `Edit trigger ${key}`, `trigger:${key}`);
    });
    if (mode) this.completion.attach(input, mode);
    f.control.append(input);
  }

  renderMany(ids) {
    const section = this.section(`${ids.length} nodes selected`);
    section.insertAdjacentHTML('beforeend', '<p class="fs-muted">Ctrl/Cmd+C copies them with their cards; Delete removes them.</p>');
  }

  renderEdge(edgeId) {
    const [, nodeId, port] = edgeId.split('|');
    const node = this.store.node(nodeId);
    const section = this.section('Transition');
    let target = node && node.next;
    let from = node ? (node.name || node.id) : nodeId;
    if (port !== 'next' && node) {
      const [cardId, field] = port.split(':');
      const card = this.store.cards(node).find((c) => c.id === cardId);
      target = card && card[field];
      from = `${from} › ${card ? cardTitle(this.store, card) : cardId}`;
    }
    section.insertAdjacentHTML('beforeend', `<p>From <strong>${escapeHtml(from)}</strong> to <strong>${escapeHtml(target || '')}</strong></p>`
      + '<div class="fs-form-actions"><button type="button" class="fs-button danger fs-mutating" data-action="delete-edge">Delete transition</button></div>');
    section.querySelector('[data-action=delete-edge]').addEventListener('click', () => this.canvas.removeEdge(edgeId));
  }

  // ---- the flow ---------------------------------------------------------------------------------
  renderFlow() {
    const flow = this.store.flow();
    if (!flow) return;
    const custom = this.store.isCustom(flow.name);
    const section = this.section(flow.name, custom ? 'Flow' : 'Reserved flow');
    section.insertAdjacentHTML('beforeend', '<div class="fs-inspector-problems"></div>');
    const form = document.createElement('form');
    form.className = 'fs-form';
    form.addEventListener('submit', (e) => e.preventDefault());
    section.append(form);
    for (const key of ['description', 'folder']) {
      const f = this.field(form, { name: key, label: humanize(key), hint: key === 'folder' ? 'Groups flows in the explorer.' : '' });
      const input = document.createElement(key === 'description' ? 'textarea' : 'input');
      input.id = f.id;
      input.className = 'fs-input';
      input.dataset.field = key;
      input.value = flow[key] || '';
      if (key === 'folder') {
        input.setAttribute('list', 'fs-folders');
        const folders = [...new Set([...(this.store.doc.folders || []), ...this.store.flows().map((fl) => fl.folder).filter(Boolean)])];
        f.control.insertAdjacentHTML('beforeend', `<datalist id="fs-folders">${folders.map((x) => `<option value="${escapeHtml(x)}">`).join('')}</datalist>`);
      }
      input.addEventListener('input', () => {
        const name = flow.name;
        this.change(`Edit flow ${key}`, () => { const fl = this.store.flow(name); if (input.value) fl[key] = input.value; else delete fl[key]; }, `flow:${name}:${key}`);
      });
      f.control.append(input);
    }
    const callers = callersOf(this.store, flow.name);
    const info = document.createElement('p');
    info.className = 'fs-muted';
    info.textContent = `${flowCounts(this.store, flow)}${custom ? `; called by ${callers.length} Workflow card${callers.length === 1 ? '' : 's'}.` : '.'}`;
    section.append(info);
  }
}

export { clone, NAME_PATTERN };
