// How cards and nodes read on screen: titles, one-line summaries, icons.

export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

const ICONS = {
  // cards
  text: 'M4 5h12M4 9h12M4 13h8',
  image: 'M3 4h14v12H3zM3 13l4-4 4 4 2-2 4 4',
  audio: 'M8 14V5l8-2v9M8 14a2 2 0 1 1-4 0 2 2 0 0 1 4 0zM16 12a2 2 0 1 1-4 0 2 2 0 0 1 4 0z',
  video: 'M3 5h10v10H3zM13 9l4-3v8l-4-3',
  file: 'M5 2h7l4 4v12H5zM12 2v4h4',
  location: 'M10 18s6-5.5 6-10a6 6 0 0 0-12 0c0 4.5 6 10 6 10zM10 10a2 2 0 1 0 0-4 2 2 0 0 0 0 4z',
  card: 'M3 4h14v12H3zM3 8h14',
  carousel: 'M2 6h4v8H2zM8 4h4v12H8zM14 6h4v8h-4z',
  capture: 'M4 4h12v9H8l-4 3z',
  expression: 'M4 10h5l3-5M9 10l3 5M12 5h4M12 15h4',
  call: 'M4 4h5v5H4zM11 11h5v5h-5zM9 6h3a2 2 0 0 1 2 2v3',
  wait: 'M10 3a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM10 6v4l3 2',
  code: 'M7 6l-4 4 4 4M13 6l4 4-4 4',
  log: 'M4 4h12v12H4zM7 8h6M7 12h4',
  comment: 'M3 4h14v10H9l-4 3v-3H3z',
  // AI cards: a sparkle writing lines, a checklist filled in, a fork decided by a sparkle
  ai_generate_text: 'M3 12h7M3 16h10M14 2l1.2 3.3L18.5 6.5l-3.3 1.2L14 11l-1.2-3.3L9.5 6.5l3.3-1.2z',
  ai_task: 'M3 4h8M3 9h8M3 14h8M13 4l1.5 1.5L17 3M13 9l1.5 1.5L17 8M13 14l1.5 1.5L17 13',
  ai_transition: 'M3 10h5l5-5h4M8 10l5 5h4M5 3l.8 1.7L7.5 5.5l-1.7.8L5 8l-.8-1.7L2.5 5.5l1.7-.8z',
  // nodes
  start: 'M6 4l10 6-10 6z',
  entry: 'M3 10h10M9 6l4 4-4 4M15 3v14',
  exit: 'M7 10h10M13 6l4 4-4 4M3 3v14',
  end: 'M5 5h10v10H5z',
  standard: 'M3 4h14v12H3z',
  autonomous: 'M10 3l2 5 5 .5-4 3.5 1 5-4-3-4 3 1-5-4-3.5 5-.5z',
  trigger: 'M11 2L4 11h5l-1 7 7-9h-5z',
};

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
