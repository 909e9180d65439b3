// The debugger's Trace tab: each trace entry of a turn (docs/engine.md, "Trace") as a row a
// builder can read: an icon for its kind, what happened in plain words, where (flow › node ›
// card, a button that selects it in the editor) and the time since the turn began; the raw
// entry as JSON on demand, per row or for the whole trace. Built with DOM nodes and
// textContent only: trace values come from the bot and its users.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// A value in a sentence: JSON, cut short (the row's JSON has it whole).
function shown(value, limit = 60) {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

function duration(ms) {
  if (ms === undefined || ms === null) return '';
  return ms < 1 ? '<1 ms' : `${Math.round(ms)} ms`;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

// kind -> icon; the kind is also the row's class, so errors stand out.
const ICONS = {
  flow: '↪', node: '➜', card: '▣', variable: '✎', wait: '…', end: '■', error: '⚠', llm: '✦',
  tool: '⚙', capture: '⌨', nlu: '◎', event: '⚡', info: '·', knowledge: '¶',
};

/** {kind, text} for one entry: the words a builder reads in the Trace tab. */
export function describe(entry) {
  const e = entry;
  const inCard = e.card ? ` in card ${e.card}` : '';
  switch (e.type) {
    case 'conversation_started': return { kind: 'event', text: 'Conversation started' };
    case 'conversation_ended': return { kind: 'end', text: `Conversation ended${e.reason ? ` (${e.reason})` : ''}` };
    case 'entered_flow': return { kind: 'flow', text: `Entered workflow ${e.flow}` };
    case 'exited_flow': return { kind: 'flow', text: `Left workflow ${e.flow}` };
    case 'transitioned': return { kind: 'node', text: `Entered node ${e.node}` };
    case 'triggered': return { kind: 'event', text: `Trigger node ${e.node} matched${e.trigger ? ` (${e.trigger})` : ''}` };
    case 'end_reached': return { kind: 'end', text: `Reached the end of workflow ${e.flow}` };
    case 'card': return { kind: 'card', text: `Card ${e.card} ran${e.cardType ? ` (${e.cardType}, ${duration(e.ms)})` : ` (${duration(e.ms)})`}` };
    case 'code_started': return { kind: 'card', text: `Code${inCard} started` };
    case 'code_finished': return { kind: 'card', text: `Code${inCard} finished (${duration(e.ms)})` };
    case 'variable_set': return { kind: 'variable', text: `Set ${e.scope}.${e.name} = ${shown(e.value)}` };
    case 'waiting_for_input': return { kind: 'wait', text: 'Waiting for the user\'s answer' };
    case 'error': return { kind: 'error', text: `Error${inCard}: ${e.message}` };
    case 'fallback_sent': return { kind: 'error', text: `Sent the fallback message${e.text ? ` “${e.text}”` : ''}` };
    case 'capture_started': return { kind: 'capture', text: `Asking for ${e.variable || 'a value'}${e.capture ? ` (${e.capture})` : ''}` };
    case 'captured': return { kind: 'capture', text: `Captured ${e.variable || 'a value'} = ${shown(e.value)}` };
    case 'capture_failed': return { kind: 'error', text: `Could not capture ${e.variable || 'the value'}${e.reason ? `: ${e.reason}` : ''}` };
    case 'capture_skipped': return { kind: 'capture', text: `Did not ask for ${e.variable}${e.reason ? `: ${e.reason}` : ''}` };
    case 'nlu': return { kind: 'nlu', text: e.intent ? `Understood intent ${e.intent}${e.confidence != null ? ` (${Math.round(e.confidence * 100)}%)` : ''}` : 'Understood no intent' };
    case 'intent_checked': return { kind: 'nlu', text: `Intent ${e.intent} ${e.fired ? 'matched' : 'did not match'}${e.confidence != null ? ` (${Math.round(e.confidence * 100)}%)` : ''}` };
    case 'llm_request': return { kind: 'llm', text: `Asking the model${e.model ? ` ${e.model}` : ''}${e.purpose ? ` (${e.purpose})` : ''}` };
    case 'llm_response': return { kind: 'llm', text: `Asked the model (${e.tokensIn ?? '?'} in / ${e.tokensOut ?? '?'} out tokens${e.ms != null ? `, ${duration(e.ms)}` : ''})` };
    case 'llm_error': case 'llm_failed': return { kind: 'error', text: `The model call failed: ${e.message ?? ''}` };
    case 'tool_call': return { kind: 'tool', text: `Called tool ${e.name}` };
    case 'tool_result': return e.error !== undefined && e.error !== null
      ? { kind: 'error', text: `Tool ${e.name} failed: ${shown(e.error)}` } : { kind: 'tool', text: `Tool ${e.name} returned ${shown(e.result)}` };
    case 'autonomous_thought': return { kind: 'llm', text: `Thought: ${shown(e.text ?? '', 80)}` };
    case 'ai_transition': return { kind: 'llm', text: e.chosen ? `AI transition chose ${e.chosen}` : 'AI transition: no condition holds' };
    case 'ai_task_invalid': return { kind: 'error', text: `AI task answer invalid (attempt ${e.attempt ?? '?'})` };
    case 'policy_blocked': return { kind: 'error', text: 'The policy agent blocked a model call' };
    case 'agent_summary': return { kind: 'llm', text: `Summary agent folded ${plural(Number(e.folded) || 0, 'message')}` };
    case 'agent_translator': return { kind: 'llm', text: `Translator agent translated ${e.direction === 'out' ? 'the answer' : 'the message'}` };
    case 'timeout': return { kind: 'event', text: 'Inactivity timeout' };
    case 'state_reset': return { kind: 'event', text: 'State reset' };
    case 'state_discarded': return { kind: 'event', text: 'Previous position discarded (the bot changed); restarting from main' };
    case 'event_ignored': return { kind: 'event', text: `Event ${e.eventType} ignored (no trigger matched)` };
    case 'cancelled': return { kind: 'end', text: 'Stopped by the user (the turn changed nothing)' };
    case 'knowledge_query': return { kind: 'knowledge', text: `Searched the knowledge bases for ${shown(e.query ?? '')}: ${plural((e.passages || []).length, 'passage')}` };
    case 'knowledge_answer': return { kind: 'knowledge', text: e.responded ? `Answer found in Knowledge Base${(e.citations || []).length ? `, citing ${e.citations.join('; ')}` : ''}` : 'No content matched the query' };
    case 'knowledge_llm_unavailable': return { kind: 'knowledge', text: `Answered with the best passage, not the model: ${e.message ?? ''}` };
    case 'capture_answered_question': return { kind: 'capture', text: `Answered a question from the knowledge bases; still waiting for ${e.variable || 'the value'}` };
    default: return { kind: 'info', text: String(e.type || 'entry').replace(/_/g, ' ') };
  }
}

/** flow/node/card of each entry; entries that name no place happen where the turn last was. */
function places(trace) {
  let flow = null;
  let node = null;
  return trace.map((e) => {
    if (e.type === 'entered_flow') { flow = e.flow; node = null; }
    if (e.flow) flow = e.flow;
    if (e.node) node = e.node;
    if (['conversation_started', 'conversation_ended', 'timeout', 'state_reset', 'event_ignored', 'cancelled', 'fallback_sent'].includes(e.type)) return null;
    if (e.type === 'entered_flow' || e.type === 'exited_flow') return { flow: e.flow };
    return flow ? { flow, node, card: e.card || null } : null;
  });
}

let allJson = false; // "Show JSON" for the whole trace, kept across turns

/** The Trace tab's content for a turn's trace; onJump(flow, node, card) selects a place. */
export function traceView(trace, { onJump } = {}) {
  const where = places(trace);
  const list = el('ol', { class: `fs-dbg-trace${allJson ? ' show-json' : ''}`, 'aria-label': 'Trace' });
  trace.forEach((entry, i) => {
    const { kind, text } = describe(entry);
    const place = where[i];
    const placeText = place ? [place.flow, place.node, place.card].filter(Boolean).join(' › ') : '';
    const raw = el('pre', { class: 'fs-dbg-json fs-dbg-raw', text: JSON.stringify(entry, null, 2) });
    const toggle = el('button', {
      type: 'button', class: 'fs-dbg-json-toggle', text: '{ }', title: 'Show this entry as JSON', 'aria-label': `JSON of “${text}”`, 'aria-expanded': 'false',
      onclick: (ev) => {
        ev.stopPropagation();
        const open = row.classList.toggle('json-open');
        toggle.setAttribute('aria-expanded', String(open));
      },
    });
    const row = el('li', { class: `fs-dbg-row kind-${kind}`, 'data-type': entry.type },
      el('div', { class: 'fs-dbg-line' },
        el('span', { class: 'fs-dbg-icon', 'aria-hidden': 'true', text: ICONS[kind] }),
        el('span', { class: 'fs-dbg-what', text }),
        placeText && onJump
          ? el('button', { type: 'button', class: 'fs-dbg-where link', title: 'Select it in the editor', text: placeText,
            onclick: () => onJump(place.flow, place.node, place.card) })
          : el('span', { class: 'fs-dbg-where muted', text: placeText }),
        el('span', { class: 'fs-dbg-ms muted', title: 'Since the turn began', text: entry.t != null ? `${Number(entry.t).toFixed(1)} ms` : '' }),
        toggle),
      raw);
    list.append(row);
  });
  const all = el('input', { type: 'checkbox', id: 'fs-dbg-all-json', checked: allJson, onchange: () => {
    allJson = all.checked;
    list.classList.toggle('show-json', allJson);
  } });
  return el('div', { class: 'fs-dbg-trace-view' },
    el('div', { class: 'fs-dbg-trace-bar' }, all, el('label', { for: 'fs-dbg-all-json', text: 'Show JSON of every entry' })),
    trace.length ? list : el('p', { class: 'muted', text: 'This turn left no trace.' }));
}
