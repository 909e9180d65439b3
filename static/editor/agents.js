// The Agents dialog: the bot file's `agents.summary`, `agents.policy` and `agents.translator`
// and the bot's model (`settings.llm.provider`, `settings.llm.model`), in one form generated
// from the bot file's schema (boot.agentsSchema) and saved as one undoable change of the
// draft, so it goes through the normal save path and the server's checks.

import { escapeHtml } from './cards.js';
import { form, toast } from './dialogs.js';
import { checkValue, humanize } from './inspector.js';

const AGENTS = ['summary', 'policy', 'translator'];

/** The non-null alternative of a nullable property (pydantic writes `X | None` as anyOf). */
function unwrap(prop) {
  if (prop && prop.anyOf) {
    const options = prop.anyOf.filter((s) => s.type !== 'null');
    return { schema: { ...options[0], title: prop.title, description: prop.description, default: prop.default }, nullable: true };
  }
  return { schema: prop || {}, nullable: false };
}

function agentSchema(defs, agent) {
  const ref = (((defs.agents || {}).properties || {})[agent] || {}).$ref || '';
  return { title: ((defs.agents || {}).properties || {})[agent]?.title || humanize(agent), schema: defs[ref.replace('#/$defs/', '')] || { properties: {} } };
}

function fieldOf(agent, key, prop, current) {
  const { schema, nullable } = unwrap(prop);
  const name = `${agent}.${key}`;
  const label = schema.title || humanize(key);
  const hint = schema.description || '';
  const value = current === undefined ? schema.default : current;
  if (schema.type === 'boolean') return { name, label, type: 'checkbox', value: Boolean(value), hint, schema, nullable };
  if (schema.type === 'array') {
    return { name, label, type: 'textarea', value: (value || []).join('\n'), hint: `${hint} One per line.`.trim(), schema, nullable };
  }
  const long = schema.type === 'string' && (schema.maxLength || 0) > 500;
  return { name, label, type: long ? 'textarea' : 'text', value: value === null || value === undefined ? '' : String(value), hint, schema, nullable };
}

/** A form value back as the schema's type; undefined for "not set" (the default applies). */
function parsed(field, raw) {
  const { schema } = field;
  if (schema.type === 'boolean') return raw;
  if (schema.type === 'array') return raw.split('\n').map((line) => line.trim()).filter(Boolean);
  if (raw.trim() === '') return undefined;
  if (schema.type === 'integer' || schema.type === 'number') return Number(raw.trim());
  return raw;
}

function modelFields(llm, settings) {
  const providers = (llm && llm.providers) || [];
  const chosen = settings.provider || '';
  const fields = [{ type: 'html', name: '_model', html: '<h3>The bot\'s model</h3><p class="fs-field-hint">What AI cards and agents use unless they name their own.</p>' }];
  const providerOptions = [['', `The workspace's default${llm.workspaceDefault ? ` (${llm.workspaceDefault})` : ''}`], ...providers.map((p) => [p.name, p.name])];
  if (chosen && !providers.some((p) => p.name === chosen)) providerOptions.push([chosen, `${chosen} (not in this workspace)`]);
  fields.push({ name: 'llm.provider', label: 'Provider', type: 'select', options: providerOptions, value: chosen,
    hint: 'A provider of the workspace (its AI settings page lists them).' });
  // One model list per provider; the one of the chosen provider shows.
  const names = ['', ...providers.map((p) => p.name)];
  for (const name of names) {
    const provider = providers.find((p) => p.name === (name || llm.workspaceDefault));
    const models = provider ? provider.models : [];
    const options = [['', 'The provider\'s default model'], ...models.map((m) => [m.label || m.id, `${m.label ? `${m.label} · ` : ''}${m.id}`])];
    const current = chosen === name ? (settings.model || '') : '';
    if (current && !options.some(([value]) => value === current)) options.push([current, current]);
    fields.push({ name: `llm.model.${name || '_default'}`, label: 'Model', type: 'select', options, value: current,
      showWhen: (v) => (v['llm.provider'] || '') === name });
  }
  return fields;
}

export async function openAgents(store, { schema, llm }) {
  const defs = schema || {};
  const doc = store.doc;
  const current = doc.agents || {};
  const settings = (doc.settings || {}).llm || {};
  const fields = [];
  const agentFields = [];
  for (const agent of AGENTS) {
    const { title, schema: agentDef } = agentSchema(defs, agent);
    fields.push({ type: 'html', name: `_${agent}`, html: `<h3>${escapeHtml(title)}</h3>${agentDef.description ? `<p class="fs-field-hint">${escapeHtml(agentDef.description)}</p>` : ''}` });
    for (const [key, prop] of Object.entries(agentDef.properties || {})) {
      const field = fieldOf(agent, key, prop, (current[agent] || {})[key]);
      if (key !== 'enabled') field.showWhen = (v) => v[`${agent}.enabled`];
      fields.push(field);
      agentFields.push({ agent, key, field });
    }
  }
  fields.push(...modelFields(llm || { providers: [] }, settings));

  const values = await form({
    title: 'Agents and model', wide: true, submit: store.readOnly ? 'Close' : 'Save',
    intro: 'Agents work on every turn of the bot (docs/ai.md, "Agents"); each is off until enabled.',
    fields,
    validate: (v) => {
      const errors = {};
      for (const { agent, field } of agentFields) {
        if (!v[`${agent}.enabled`] && field.schema.type !== 'boolean') continue;
        const value = parsed(field, v[field.name]);
        if (field.schema.type === 'array') {
          if (field.schema.maxItems && value.length > field.schema.maxItems) errors[field.name] = `At most ${field.schema.maxItems} lines`;
          continue;
        }
        let message = checkValue(value, field.schema, { nullable: true });
        if (message && field.schema.pattern === '^[a-z]{2}$') message = 'Two lowercase letters (ISO 639-1), e.g. en';
        if (message) errors[field.name] = message;
      }
      return errors;
    },
  });
  if (!values || store.readOnly) return false;

  return store.change('Change agents and model', (draft) => {
    const agents = {};
    for (const agent of AGENTS) {
      // Only what differs from the defaults is written; a disabled agent keeps its settings.
      const out = {};
      for (const { agent: owner, key, field } of agentFields) {
        if (owner !== agent) continue;
        const value = parsed(field, values[field.name]);
        if (value === undefined) continue;
        const fallback = field.schema.default;
        if (JSON.stringify(value) === JSON.stringify(fallback === undefined ? (field.schema.type === 'array' ? [] : undefined) : fallback)) continue;
        out[key] = value;
      }
      if (Object.keys(out).length) agents[agent] = out;
    }
    if (Object.keys(agents).length) draft.agents = agents;
    else delete draft.agents;

    const provider = values['llm.provider'] || '';
    const model = values[`llm.model.${provider || '_default'}`] || '';
    draft.settings = draft.settings || {};
    const llmSettings = { ...(draft.settings.llm || {}) };
    if (provider) llmSettings.provider = provider; else delete llmSettings.provider;
    if (model) llmSettings.model = model; else delete llmSettings.model;
    if (Object.keys(llmSettings).length) draft.settings.llm = llmSettings;
    else delete draft.settings.llm;
    if (!Object.keys(draft.settings).length) delete draft.settings;
  }) || toast('Nothing changed.');
}
