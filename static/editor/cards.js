// How cards and nodes read on screen: titles, one-line summaries, icons.

export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// Card icons come with the catalogue (studio/editor/catalogue.py ICONS, one per card type);
// these are the nodes'.
const ICONS = {
  // nodes
  start: 'M6 4l10 6-10 6z',
  entry: 'M3 10h10M9 6l4 4-4 4M15 3v14',
  exit: 'M7 10h10M13 6l4 4-4 4M3 3v14',
  end: 'M5 5h10v10H5z',
  standard: 'M3 4h14v12H3z',
  autonomous: 'M10 3l2 5 5 .5-4 3.5 1 5-4-3-4 3 1-5-4-3.5 5-.5z',
  trigger: 'M11 2L4 11h5l-1 7 7-9h-5z',
};

/** Adds the catalogue's card icons (called once, when the store gets the catalogue). */
export function registerCardIcons(catalogue) {
  for (const entry of catalogue) if (entry.icon && !ICONS[entry.type]) ICONS[entry.type] = entry.icon;
}

export function icon(name) {
  const d = ICONS[name] || ICONS.standard;
  return `<svg class="fs-icon" viewBox="0 0 20 20" aria-hidden="true"><path d="${d}"/></svg>`;
}

export function cardTitle(store, card) {
  if (card.type === 'call') return card.flow ? `Workflow: ${card.flow}` : 'Workflow';
  const entry = store.catalogue.get(card.type);
  return entry ? entry.title : card.type;
}

function firstLine(text) {
  return String(text ?? '').split('\n').find((line) => line.trim()) || '';
}

export function cardSummary(store, card) {
  switch (card.type) {
    case 'text': return firstLine(card.text);
    case 'image': case 'audio': case 'video': case 'file': return card.title || card.url || '';
    case 'location': return card.title || (card.latitude !== undefined ? `${card.latitude}, ${card.longitude}` : '');
    case 'card': return card.title || '';
    case 'carousel': return `${(card.items || []).length} cards`;
    case 'capture': return `${card.capture || ''} → ${card.variable || '?'}`;
    case 'expression': return card.label || card.condition || '';
    case 'call': {
      const inputs = Object.keys(card.inputs || {});
      return inputs.length ? `as ${card.name || '?'} (${inputs.join(', ')})` : `as ${card.name || '?'}`;
    }
    case 'wait': return 'until the next message';
    case 'code': return firstLine(card.code);
    case 'log': return `${card.level || 'info'}: ${firstLine(card.message)}`;
    case 'comment': return firstLine(card.text);
    case 'ai_generate_text': return firstLine(card.prompt) || firstLine(card.instructions);
    case 'ai_task': return (card.outputs || []).map((o) => o.variable).filter(Boolean).join(', ') || firstLine(card.instructions);
    case 'ai_transition': return card.label || card.condition || '';
    case 'table_get': return `${card.table || '?'} #${card.recordId || '?'} → ${card.result || '?'}`;
    case 'table_find': return `${card.table || '?'} → ${card.result || '?'}`;
    case 'table_insert': case 'table_update': case 'table_upsert':
      return `${card.table || '?'}: ${Object.keys(card.values || {}).join(', ')}`;
    case 'table_delete': return `${card.table || '?'} ${card.recordId ? `#${card.recordId}` : 'by filter'}`;
    // Which KBs it searches: the names ticked, else all of the bot's.
    case 'query_knowledge': {
      const kbs = (card.knowledgeBases || []).length ? card.knowledgeBases.join(', ') : 'all KBs';
      return `${kbs}${card.folder ? ` in ${card.folder}` : ''}${card.variable ? ` → ${card.variable}` : ''}`;
    }
    default: return '';
  }
}

/** "Capture Information" -> ordered categories for the tray, plus one for the bot's own flows. */
export function trayEntries(store) {
  const entries = [];
  for (const entry of store.catalogue.values()) {
    if (entry.type === 'call') continue; // the tray lists each custom flow as its own Workflow card
    entries.push({ key: entry.type, type: entry.type, title: entry.title, category: entry.category, hint: entry.hint });
  }
  for (const flow of store.flows()) {
    if (!store.isCustom(flow.name) || flow.name === store.flowName) continue;
    entries.push({ key: `call:${flow.name}`, type: 'call', flow: flow.name, title: flow.name, category: 'Workflows', hint: flow.description || 'Calls this flow' });
  }
  return entries;
}

/** A fresh card for a tray entry. */
export function cardFromEntry(store, entry) {
  if (entry.type === 'call') {
    const taken = new Set();
    for (const node of store.nodes()) for (const card of store.cards(node)) if (card.type === 'call') taken.add(card.name);
    const base = entry.flow.replace(/[^A-Za-z0-9_]/g, '_').replace(/^([0-9])/, '_$1');
    let name = base;
    let i = 2;
    while (taken.has(name)) { name = `${base}${i}`; i += 1; }
    return store.newCard('call', { flow: entry.flow, name, inputs: {} });
  }
  return store.newCard(entry.type);
}
