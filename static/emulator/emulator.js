// The emulator panel and the debugger drawer (docs/emulator.md). Talks to /ws/emulator/<bot>/:
// every server frame carries the conversation's seq; on reconnect we say the last seq and the
// last turn we saw, and the server sends exactly what we missed. Everything the bot sends is
// rendered with DOM nodes and textContent: no HTML from a message ever reaches innerHTML.

import { provide } from '../editor/shortcuts.js';
import { traceView } from './trace.js';
import { knowledgeLine, knowledgeView } from './knowledge.js';

const panel = document.getElementById('fs-emulator');
const botId = panel.dataset.bot;
const $ = (id) => document.getElementById(id);
const log = $('fs-emu-log');
const input = $('fs-emu-input');
const debuggerEl = $('fs-debugger');
const KEYS = { open: 'fs-emulator:open', conversation: `fs-emulator:${botId}:conversation`, history: 'fs-emulator:history' };
const HISTORY_SIZE = 20;

const chat = {
  socket: null, conversationId: localStorage.getItem(KEYS.conversation), lastSeq: 0, turnSeq: 0,
  turns: new Map(), selectedTurn: null, state: null, tab: 'event', fatal: false, retry: 0, pending: [],
  waiting: new Map(),  // clientId -> {resolve, reject} of a frame that expects an answer
};

// ---- small DOM helpers --------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
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

function safeUrl(url) {
  // Only web and data-less links: a javascript: URL in a bot message must not run.
  try {
    const parsed = new URL(String(url), location.href);
    return ['http:', 'https:'].includes(parsed.protocol) ? parsed.href : null;
  } catch { return null; }
}

function inlineMarkdown(text) {
  // **bold**, *italic*, `code`, [label](http link); everything else stays plain text.
  const out = [];
  const pattern = /(\*\*([^*]+)\*\*|\*([^*]+)\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\))/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[2]) out.push(el('strong', { text: m[2] }));
    else if (m[3]) out.push(el('em', { text: m[3] }));
    else if (m[4]) out.push(el('code', { text: m[4] }));
    else {
      const href = safeUrl(m[6]);
      out.push(href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: m[5] }) : m[5]);
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function markdown(text) {
  const box = el('div', { class: 'fs-emu-md' });
  for (const block of String(text).split(/\n{2,}/)) {
    const lines = block.split('\n');
    if (lines.every((l) => /^\s*[-*] /.test(l))) {
      box.append(el('ul', {}, lines.map((l) => el('li', {}, inlineMarkdown(l.replace(/^\s*[-*] /, ''))))));
    } else {
      const p = el('p');
      lines.forEach((line, i) => { if (i) p.append(el('br')); p.append(...inlineMarkdown(line)); });
      box.append(p);
    }
  }
  return box;
}

// ---- rendering messages -------------------------------------------------------------------------
function sendButton(label, payload, { disabled = false } = {}) {
  return el('button', { type: 'button', class: 'fs-emu-choice', disabled, text: label, onclick: () => send(payload) });
}

function renderCard(item) {
  const actions = (item.actions || []).map((a) => {
    if (a.action === 'url') {
      const href = safeUrl(a.value);
      return href ? el('a', { class: 'fs-emu-choice', href, target: '_blank', rel: 'noopener noreferrer', text: a.label }) : null;
    }
    if (a.action === 'postback') return sendButton(a.label, { type: 'postback', value: a.value, label: a.label });
    return sendButton(a.label, { type: 'text', text: a.value });
  });
  const image = safeUrl(item.imageUrl);
  return el('div', { class: 'fs-emu-card' },
    image ? el('img', { src: image, alt: item.title || '' }) : null,
    el('div', { class: 'fs-emu-card-title', text: item.title || '' }),
    item.subtitle ? el('div', { class: 'fs-emu-card-subtitle', text: item.subtitle }) : null,
    actions.length ? el('div', { class: 'fs-emu-choices' }, actions) : null);
}

function media(tag, url, title) {
  const src = safeUrl(url);
  if (!src) return el('span', { class: 'muted', text: `[${tag} with an unusable address]` });
  if (tag === 'image') return el('img', { src, alt: title || 'image', class: 'fs-emu-image' });
  if (tag === 'file') return el('a', { href: src, target: '_blank', rel: 'noopener noreferrer', text: `📎 ${title || src}` });
  return el(tag, { src, controls: true, class: `fs-emu-${tag}` });
}

function renderBody(type, p) {
  switch (type) {
    case 'text': return el('div', { class: 'fs-emu-text', text: p.text ?? '' });
    case 'markdown': return markdown(p.markdown ?? p.text ?? '');
    case 'image': return el('div', {}, media('image', p.imageUrl, p.title), p.title ? el('div', { class: 'small', text: p.title }) : null);
    case 'audio': return media('audio', p.audioUrl, p.title);
    case 'video': return media('video', p.videoUrl, p.title);
    case 'file': return media('file', p.fileUrl, p.title);
    case 'location': {
      const href = `https://www.openstreetmap.org/?mlat=${Number(p.latitude)}&mlon=${Number(p.longitude)}`;
      return el('div', {}, '📍 ', el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: p.title || `${p.latitude}, ${p.longitude}` }),
        p.address ? el('div', { class: 'small', text: p.address }) : null);
    }
    case 'card': return renderCard(p);
    case 'carousel': return el('div', { class: 'fs-emu-carousel' }, (p.items || []).map(renderCard));
    case 'choice': return el('div', {}, el('div', { class: 'fs-emu-text', text: p.text ?? '' }),
      el('div', { class: 'fs-emu-choices' }, (p.options || []).map((o) => sendButton(o.label, { type: 'choice', value: o.value, label: o.label }))));
    case 'dropdown': {
      const select = el('select', { 'aria-label': p.text || 'Choose' }, (p.options || []).map((o) => el('option', { value: o.value, text: o.label })));
      return el('div', {}, el('div', { class: 'fs-emu-text', text: p.text ?? '' }), el('div', { class: 'fs-emu-choices' }, select,
        el('button', { type: 'button', class: 'fs-emu-choice', text: 'Send', onclick: () => {
          const option = select.selectedOptions[0];
          if (option) send({ type: 'choice', value: option.value, label: option.textContent });
        } })));
    }
    case 'bloc': return el('div', { class: 'fs-emu-bloc' }, (p.items || []).map((item) => renderBody(item.type, item)));
    case 'event': return el('div', { class: 'fs-emu-event', text: `event ${JSON.stringify(p.payload ?? p)}` });
    case 'choice_answer': return el('div', { class: 'fs-emu-text', text: p.label ?? String(p.value) });
    default: return el('div', { class: 'fs-emu-text', text: p.text ?? p.label ?? `[${type}] ${JSON.stringify(p)}` });
  }
}

function place(node, order) {
  node.dataset.order = order;
  const after = [...log.children].find((child) => Number(child.dataset.order) > order);
  log.insertBefore(node, after || null);
  log.scrollTop = log.scrollHeight;
}

function renderMessage(message) {
  const incoming = message.direction === 'incoming';
  const type = incoming && ['choice', 'postback', 'quick_reply'].includes(message.type) ? 'choice_answer' : message.type;
  const bubble = el('div', {
    class: `fs-emu-msg ${incoming ? 'user' : 'bot'}`, 'data-seq': message.seq, 'data-type': message.type,
  }, renderBody(type, message.payload || {}));
  if (incoming) bubble.addEventListener('click', () => selectTurn(message.seq));
  place(bubble, message.seq * 10);
  if (incoming && message.metadata?.cancelled) markCancelled(message.seq);
}

// A question whose answer the user stopped.
function markCancelled(seq) {
  const bubble = log.querySelector(`.fs-emu-msg.user[data-seq="${seq}"]`);
  if (!bubble || bubble.classList.contains('cancelled')) return;
  bubble.classList.add('cancelled');
  place(el('div', { class: 'fs-emu-cancelled-note', text: 'Answer stopped' }), seq * 10 + 1);
}

// ---- streamed answers: a bubble grows with each delta until the stored message with the same
// streamId replaces it; a stop, a cancelled turn or the end of the bot's work drops it.
function streamBubbles() { return [...log.querySelectorAll('.fs-emu-msg.streaming')]; }
function updateStop() { $('fs-emu-stop').hidden = !streamBubbles().length; }
function dropStreams(id) {
  for (const bubble of streamBubbles()) if (id === undefined || bubble.dataset.streamId === id) bubble.remove();
  updateStop();
}

function onDelta(frame) {
  if (chat.stopping || frame.conversationId !== chat.conversationId) return;
  let bubble = streamBubbles().find((b) => b.dataset.streamId === frame.streamId);
  if (frame.discard) {  // a thought beside a tool call: the turn's status lines show it
    if (bubble) bubble.remove();
    updateStop();
    return;
  }
  if (!bubble) {
    bubble = el('div', { class: 'fs-emu-msg bot streaming', 'data-stream-id': frame.streamId, 'data-type': 'text' },
      el('div', { class: 'fs-emu-text' }));
    bubble.streamText = '';
    place(bubble, (chat.lastSeq + 1) * 10 - 2);
  }
  // `offset` is where the piece starts: a piece seen twice, or an answer streamed again, overwrites.
  const offset = typeof frame.offset === 'number' ? Math.min(frame.offset, bubble.streamText.length) : bubble.streamText.length;
  bubble.streamText = bubble.streamText.slice(0, offset) + frame.delta;
  bubble.firstChild.textContent = bubble.streamText;
  log.scrollTop = log.scrollHeight;
  updateStop();
}

// ---- status lines from the trace (Botpress' in-line logs) ----------------------------------------
// A value a model or a tool produced, readable: JSON pretty-printed (also JSON held in a string).
function pretty(value) {
  if (typeof value === 'string') {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch { return value; }
  }
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

// A tool call on one line, its arguments as the model wrote them.
function callText(name, args) {
  return `→ ${name}(${typeof args === 'string' ? args : JSON.stringify(args ?? {})})`;
}

// The text of a chat message as the model got it: a string, parts, or only tool calls.
function contentText(message) {
  const content = message.content;
  let text = typeof content === 'string' ? content
    : Array.isArray(content) ? content.map((part) => (typeof part === 'string' ? part : part.text ?? JSON.stringify(part))).join('\n') : '';
  for (const call of message.tool_calls || []) {
    const fn = call.function || call;
    text += `${text ? '\n' : ''}${callText(fn.name, fn.arguments)}`;
  }
  return text;
}

function tokensText(entry) {
  return `${entry.tokensIn ?? '?'} in / ${entry.tokensOut ?? '?'} out tokens, ${entry.ms == null ? '?' : Math.round(entry.ms)} ms`;
}

function statusOf(entry, index, trace) {
  const where = (e) => [e.flow, e.node].filter(Boolean).join(' › ');
  switch (entry.type) {
    case 'conversation_started': return { text: 'Conversation started' };
    case 'conversation_ended': return { text: `Conversation ended${entry.reason ? ` (${entry.reason})` : ''}` };
    // The error with where it happened; a link selects that card in the editor.
    case 'error': return { text: `Error${entry.card ? ` in card ${entry.card}` : ''}: ${entry.message}`, title: entry.message, kind: 'error', node: entry.node ? entry : null };
    case 'fallback_sent': return { text: 'Sent the fallback message (nothing after the error spoke to the user)' };
    case 'waiting_for_input': return { text: 'Waiting for user input' };
    case 'entered_flow': return { text: `Entered workflow ${entry.flow}` };
    case 'transitioned': return { text: `Transitioned to ${where(entry)}`, node: entry };
    case 'triggered': return { text: `Triggered ${where(entry)}`, node: entry };
    case 'code_started': return { text: 'Executing code' };
    case 'code_finished': return { text: `Executed code in ${entry.ms ?? '?'} ms` };
    case 'capture_started': return { text: `Capturing ${entry.variable || entry.capture || 'a value'}` };
    case 'captured': return { text: `Captured ${entry.variable || entry.capture || 'a value'}`, title: entry.value !== undefined ? JSON.stringify(entry.value) : undefined };
    case 'capture_failed': return { text: `Capture ${entry.variable ? `of ${entry.variable} ` : ''}failed`, kind: 'error', title: entry.reason };
    case 'state_reset': return { text: 'State reset' };
    case 'state_discarded': return { text: 'Previous position discarded (the draft changed); restarting from main' };
    case 'timeout': return { text: 'Timeout event' };
    case 'event_ignored': return { text: `Event ${entry.eventType} ignored (no trigger matched)` };
    // What the language model did: one line each, the details folded away until clicked.
    case 'autonomous_thought': return { text: 'Thought', detail: entry.text ?? '' };
    case 'tool_call': return { text: `Called tool ${entry.name}`, detail: pretty(entry.arguments ?? {}) };
    case 'tool_result': return entry.error !== undefined && entry.error !== null
      ? { text: `Tool ${entry.name} failed`, detail: pretty(entry.error), kind: 'error' }
      : { text: `Tool ${entry.name} returned`, detail: pretty(entry.result) };
    case 'llm_request': return {
      text: `Asked ${entry.model || 'the default model'}${entry.card || entry.node ? ` (${entry.card || entry.node})` : ''}`,
      detail: (entry.messages || []).map((m) => `${m.role}: ${contentText(m)}`).join('\n\n'),
    };
    case 'llm_response': {
      const calls = (entry.toolCalls || []).map((c) => callText(c.name, c.arguments));
      return { text: `Model answered (${tokensText(entry)})`, detail: [entry.text, ...calls].filter(Boolean).join('\n') };
    }
    case 'llm_failed': return { text: 'LLM call failed', detail: `${entry.provider ? `${entry.provider}${entry.status ? ` (HTTP ${entry.status})` : ''}: ` : ''}${entry.message ?? ''}`, kind: 'error' };
    case 'ai_transition': return { text: entry.chosen ? `AI transition chose ${entry.chosen}` : 'AI transition: no condition holds', detail: entry.reason || '' };
    case 'ai_task_invalid': return { text: `AI task answer invalid (attempt ${entry.attempt ?? '?'})`, detail: pretty(entry.problems), kind: 'error' };
    case 'cancelled': return { text: 'Stopped by the user (the turn changed nothing)', title: entry.message };
    // "Answer found in Knowledge Base" with its citations on hover and focus (./knowledge.js).
    case 'knowledge_answer': return { element: knowledgeLine(entry, index, trace) };
    case 'capture_answered_question': return { text: `Answered the question from the knowledge bases; still waiting for ${entry.variable || 'the answer'}` };
    default: return null;
  }
}

function renderTurn(turn) {
  chat.turns.set(turn.eventSeq, turn);
  const box = el('div', { class: 'fs-emu-turn', 'data-event-seq': turn.eventSeq });
  const lines = turn.trace.map(statusOf).filter(Boolean);
  if (turn.status === 'failed') lines.push({ text: `Turn failed: ${turn.error}`, title: turn.error, kind: 'error' });
  for (const line of lines) {
    if (line.element) { box.append(line.element); continue; }
    const attrs = { class: `fs-emu-line ${line.kind || ''}`, title: line.title, 'data-status': line.text };
    if (line.node) {
      box.append(el('button', { ...attrs, type: 'button', class: `${attrs.class} link`, 'data-flow': line.node.flow, 'data-node': line.node.node,
        'data-card': line.node.card || undefined, onclick: () => jumpTo(line.node.flow, line.node.node, line.node.card) }, line.text));
    } else if (line.detail !== undefined) {
      // Collapsed by default: a turn of an autonomous node can take dozens of these.
      box.append(el('details', { ...attrs, class: `${attrs.class} fs-emu-expand` },
        el('summary', { text: line.text }), el('pre', { class: 'fs-emu-detail', text: line.detail || '(empty)' })));
    } else box.append(el('div', attrs, line.text));
  }
  box.addEventListener('click', () => selectTurn(turn.eventSeq));
  place(box, turn.eventSeq * 10 + 5);
  selectTurn(turn.eventSeq);
}

function jumpTo(flow, node, card) {
  const editor = window.flowEditor;
  if (!editor) return;
  if (flow && flow !== editor.store.flowName) editor.store.openFlow(flow);
  // Wait for the canvas to draw the flow before focusing the node (and selecting the card).
  requestAnimationFrame(() => {
    if (editor.store.node(node)) editor.canvas.focusNode(node, { card: card && editor.store.findCard(card) ? card : null });
  });
}

function highlightRunning() {
  for (const old of document.querySelectorAll('.fs-emu-running')) old.classList.remove('fs-emu-running');
  const cursor = chat.state?.cursor;
  if (!cursor || !window.flowEditor || window.flowEditor.store.flowName !== cursor.flow) return;
  const cell = document.querySelector(`#fs-canvas [data-cell-id="${CSS.escape(cursor.node)}"]`);
  if (cell) cell.classList.add('fs-emu-running');
}

// ---- the debugger -------------------------------------------------------------------------------
function selectTurn(eventSeq) {
  if (!chat.turns.has(eventSeq)) return;
  chat.selectedTurn = eventSeq;
  for (const node of log.querySelectorAll('.selected')) node.classList.remove('selected');
  log.querySelector(`.fs-emu-turn[data-event-seq="${eventSeq}"]`)?.classList.add('selected');
  renderDebugger();
}

function json(value) { return el('pre', { class: 'fs-dbg-json', text: JSON.stringify(value, null, 2) }); }

function renderDebugger() {
  const pane = $('fs-dbg-pane');
  const turn = chat.turns.get(chat.selectedTurn);
  $('fs-dbg-turn').textContent = turn ? `event #${turn.eventSeq} (${turn.event.type})${turn.durationMs != null ? `, ${turn.durationMs} ms` : ''}` : '';
  for (const tab of debuggerEl.querySelectorAll('[data-dbg-tab]')) tab.setAttribute('aria-selected', String(tab.dataset.dbgTab === chat.tab));
  pane.replaceChildren();
  pane.dataset.tab = chat.tab;
  if (chat.tab === 'event') pane.append(turn ? json({ ...turn.event, status: turn.status, error: turn.error || undefined }) : el('p', { class: 'muted', text: 'No event yet: send a message.' }));
  if (chat.tab === 'state') pane.append(renderState());
  if (chat.tab === 'trace') {
    pane.append(turn ? traceView(turn.trace, { onJump: jumpTo }) : el('p', { class: 'muted', text: 'No turn yet.' }));
  }
  if (chat.tab === 'memory') pane.append(turn ? renderMemory(turn) : el('p', { class: 'muted', text: 'No turn yet.' }));
  if (chat.tab === 'knowledge') pane.append(turn ? knowledgeView(turn.trace) : el('p', { class: 'muted', text: 'No turn yet.' }));
  if (chat.tab === 'logs') {
    const entries = [...chat.turns.values()].flatMap((t) => t.logs.map((entry) => ({ ...entry, eventSeq: t.eventSeq }))).reverse();
    pane.append(entries.length ? el('ol', { class: 'fs-dbg-logs', reversed: true }, entries.map((entry) => el('li', { class: `level-${entry.level || 'info'}` },
      el('span', { class: 'muted', text: `#${entry.eventSeq} ${entry.level || 'info'} ${[entry.flow, entry.node, entry.card].filter(Boolean).join(' › ')}` }), ' ',
      el('span', { text: entry.message ?? JSON.stringify(entry) })))) : el('p', { class: 'muted', text: 'No logs yet (console.log in code and Log cards write here).' }));
  }
}

/** The turn's model calls: each request with its answer (a failure, or none yet, too). */
function llmCalls(trace) {
  const calls = [];
  for (const entry of trace) {
    if (entry.type === 'llm_request') calls.push({ request: entry, response: null, failure: null });
    const open = calls.findLast((c) => !c.response && !c.failure);
    if (!open) continue;
    if (entry.type === 'llm_response') open.response = entry;
    if (entry.type === 'llm_failed') open.failure = entry;
  }
  return calls;
}

// The Memory tab: what each model call of the turn was sent (the whole prompt, memory
// included, role by role) and what it cost.
function renderMemory(turn) {
  const calls = llmCalls(turn.trace);
  if (!calls.length) return el('p', { class: 'muted', text: 'This turn asked no language model.' });
  const sum = (key) => calls.reduce((total, c) => total + (Number(c.response?.[key]) || 0), 0);
  const totals = `${calls.length} LLM call${calls.length > 1 ? 's' : ''}: ${sum('tokensIn')} in / ${sum('tokensOut')} out tokens, ${Math.round(sum('ms'))} ms`;
  return el('div', { class: 'fs-dbg-memory' },
    el('p', { 'data-testid': 'llm-totals', text: totals }),
    calls.map(({ request, response, failure }, i) => el('section', { class: 'fs-dbg-call', 'data-card': request.card || '' },
      el('h4', {}, `${i + 1}. ${[request.card, request.purpose].filter(Boolean).join(' · ') || 'model call'}`,
        el('span', { class: 'muted', text: ` ${response?.model || request.model || 'default model'}` })),
      el('table', { class: 'fs-dbg-messages' }, (request.messages || []).map((m) => el('tr', { 'data-role': m.role },
        el('td', { class: 'fs-dbg-role', text: m.role }), el('td', { class: 'fs-dbg-content', text: contentText(m) })))),
      response ? el('p', { class: 'fs-dbg-usage', 'data-testid': 'llm-usage', text: `Answer: ${tokensText(response)}` }) : null,
      response && (response.text || (response.toolCalls || []).length)
        ? el('pre', { class: 'fs-dbg-json', text: [response.text, ...(response.toolCalls || []).map((c) => callText(c.name, c.arguments))].filter(Boolean).join('\n') }) : null,
      failure ? el('p', { class: 'fs-dbg-failed', text: `Failed: ${failure.message ?? ''}` }) : null)));
}

function renderState() {
  const state = chat.state;
  if (!state) return el('p', { class: 'muted', text: 'No state yet.' });
  const cursor = state.cursor ? `${state.cursor.flow} › ${state.cursor.node} (card ${state.cursor.card})` : 'no active dialog';
  const scopes = Object.entries(state.variables).map(([scope, values]) => el('section', { class: 'fs-dbg-scope', 'data-scope': scope },
    el('h4', { text: scope }),
    Object.keys(values).length ? el('table', {}, Object.entries(values).map(([name, value]) => el('tr', { 'data-variable': `${scope}.${name}` },
      el('td', { text: name }), el('td', { text: JSON.stringify(value) })))) : el('p', { class: 'muted small', text: '(empty)' })));
  return el('div', { class: 'fs-dbg-state' },
    el('p', {}, el('b', { text: 'Cursor: ' }), el('span', { 'data-testid': 'cursor', text: cursor })),
    el('p', {}, el('b', { text: 'Call stack: ' }), state.callStack.length ? state.callStack.map((f) => `${f.flow} › ${f.node}`).join('  ←  ') : '(empty)'),
    el('p', { class: 'muted small', text: `user ${state.userId} · conversation ${state.conversationId}` }),
    scopes);
}

debuggerEl.addEventListener('click', (e) => {
  const tab = e.target.closest('[data-dbg-tab]');
  if (tab) { chat.tab = tab.dataset.dbgTab; renderDebugger(); }
  if (e.target.closest('[data-dbg-close]')) toggleDebugger(false);
});

// ---- background workflows: the widget's view (static/webchat/workflow.js, loaded by editor.html) ----
const WorkflowUI = window.FlowstudioWorkflowUI;
if (WorkflowUI && !document.getElementById('fs-workflow-css')) {
  document.head.append(el('style', { id: 'fs-workflow-css', text: WorkflowUI.CSS }));
}
const workflows = WorkflowUI ? WorkflowUI.create({
  send: request,
  place: (node, seq) => place(node, seq == null ? (chat.lastSeq + 1) * 10 - 3 : seq * 10),
  changed: () => { log.scrollTop = log.scrollHeight; },
}) : null;

// ---- the socket ---------------------------------------------------------------------------------
function setStatus(text) { $('fs-emu-status').textContent = text; }

function connect() {
  if (chat.socket || chat.fatal) return;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/ws/emulator/${botId}/`);
  chat.socket = socket;
  socket.addEventListener('open', () => {
    chat.retry = 0;
    socket.send(JSON.stringify({ type: 'hello', conversationId: chat.conversationId, after: chat.lastSeq, turnsAfter: chat.turnSeq }));
  });
  socket.addEventListener('message', (e) => onFrame(JSON.parse(e.data)));
  socket.addEventListener('close', () => {
    chat.socket = null;
    chat.ready = false;
    // Frames in flight may or may not have arrived: their forms can be sent again.
    for (const [clientId, waiting] of chat.waiting) {
      if (!chat.pending.some((f) => f.clientId === clientId)) {
        chat.waiting.delete(clientId);
        waiting.reject(Object.assign(new Error('the connection was lost; reconnecting'), { code: 'disconnected' }));
      }
    }
    if (chat.fatal) return;
    setStatus('reconnecting…');
    chat.retry += 1;
    setTimeout(connect, Math.min(5000, 300 * 2 ** chat.retry));
  });
}

function onFrame(frame) {
  if (frame.type === 'ready') {
    if (frame.conversationId !== chat.conversationId) {
      // Another conversation (new conversation, new user, or the server picked one).
      log.replaceChildren();
      chat.turns.clear();
      chat.selectedTurn = null;
      chat.lastSeq = 0;
      chat.turnSeq = 0;
    }
    if (frame.conversationId !== chat.conversationId || !chat.lastSeq) workflows?.clear();
    chat.conversationId = frame.conversationId;
    localStorage.setItem(KEYS.conversation, frame.conversationId);
    chat.readyLastSeq = frame.lastSeq || 0;
    workflows?.active(frame.activeWorkflows);
    chat.ready = true;
    setStatus(`as ${frame.user.id.replace(/^emulator-\d+-/, '')}`);
    for (const queued of chat.pending.splice(0)) chat.socket.send(JSON.stringify(queued));
    return;
  }
  if (frame.type === 'message') {
    chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
    const streamId = frame.message.payload?.streamId;
    if (frame.message.direction === 'outgoing' && typeof streamId === 'string') dropStreams(streamId);
    const event = frame.message.type === 'event' ? frame.message.payload?.payload : null;
    if (frame.message.direction === 'outgoing' && workflows?.event(event, frame.seq, frame.seq <= chat.readyLastSeq)) return;
    if (!log.querySelector(`[data-seq="${frame.seq}"]`)) renderMessage(frame.message);
    return;
  }
  if (frame.type === 'turn') {
    chat.turnSeq = Math.max(chat.turnSeq, frame.turn.eventSeq);
    log.querySelector(`.fs-emu-turn[data-event-seq="${frame.turn.eventSeq}"]`)?.remove();
    renderTurn(frame.turn);
    return;
  }
  if (frame.type === 'state') { chat.state = frame.state; renderDebugger(); highlightRunning(); return; }
  if (frame.type === 'typing') {
    $('fs-emu-typing').hidden = !frame.on;
    if (!frame.on) { chat.stopping = false; dropStreams(); }
    return;
  }
  if (frame.type === 'delta') { onDelta(frame); return; }
  if (frame.type === 'cancelled') {
    chat.stopping = false;
    dropStreams();
    if (frame.messageSeq) markCancelled(frame.messageSeq);
    return;
  }
  if (frame.type === 'ack' && settle(frame)) return;
  if (frame.type === 'error') {
    // A refused form answer is shown on the form (under its fields), not as a line.
    if (settle(frame, frame)) return;
    place(el('div', { class: 'fs-emu-line error', title: frame.code, text: frame.message }), (chat.lastSeq + 1) * 10 - 1);
    if (frame.fatal) { chat.fatal = true; setStatus('closed'); input.disabled = true; }
  }
}

// A frame whose answer (ack or error, matched by clientId) settles a promise.
function request(frame) {
  const clientId = `wf${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return new Promise((resolve, reject) => {
    chat.waiting.set(clientId, { resolve, reject });
    sendFrame({ ...frame, clientId });
  });
}

function settle(frame, failure) {
  const waiting = typeof frame.clientId === 'string' && chat.waiting.get(frame.clientId);
  if (!waiting) return false;
  chat.waiting.delete(frame.clientId);
  if (failure) waiting.reject(Object.assign(new Error(failure.message), { code: failure.code, errors: failure.errors }));
  else waiting.resolve(frame);
  return true;
}

function sendFrame(frame) {
  if (chat.socket && chat.ready) chat.socket.send(JSON.stringify(frame));
  else { chat.pending.push(frame); connect(); }
}

async function send(payload) {
  // Run what the canvas shows: let the editor save first.
  try { await window.flowEditor?.saver?.flush(); } catch { /* the editor reports its own save errors */ }
  chat.stopping = false;
  sendFrame({ type: 'message', payload });
}

// ---- composer and history -----------------------------------------------------------------------
function history() {
  try { return JSON.parse(localStorage.getItem(KEYS.history)) || []; } catch { return []; }
}
let historyIndex = -1;

$('fs-emu-composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value;
  if (!text.trim()) return;
  const past = history().filter((t) => t !== text);
  past.unshift(text);
  localStorage.setItem(KEYS.history, JSON.stringify(past.slice(0, HISTORY_SIZE)));
  historyIndex = -1;
  input.value = '';
  send({ type: 'text', text });
});

input.addEventListener('keydown', (e) => {
  if (e.key !== 'ArrowUp' && e.key !== 'ArrowDown') return;
  const past = history();
  if (!past.length) return;
  e.preventDefault();
  historyIndex = e.key === 'ArrowUp' ? Math.min(historyIndex + 1, past.length - 1) : historyIndex - 1;
  input.value = historyIndex < 0 ? '' : past[historyIndex];
});

// ---- buttons ------------------------------------------------------------------------------------
panel.addEventListener('click', (e) => {
  const button = e.target.closest('[data-emu-action]');
  if (!button) return;
  button.closest('details')?.removeAttribute('open');
  const action = button.dataset.emuAction;
  if (action === 'newConversation' || action === 'newUser') sendFrame({ type: action });
  if (action === 'timeout') sendFrame({ type: 'timeout' });
  if (action === 'stop') { chat.stopping = true; dropStreams(); sendFrame({ type: 'cancel' }); }
  if (action === 'reset') send({ type: 'text', text: '//state/reset' });
  if (action === 'debugger') toggleDebugger();
  if (action === 'close') toggleEmulator(false);
  if (action === 'saveTest') openSaveDialog();
});

// ---- save as test -------------------------------------------------------------------------------
const saveDialog = $('fs-emu-save');

function openSaveDialog() {
  const vars = $('fs-emu-test-vars');
  vars.replaceChildren();
  for (const [scope, values] of Object.entries(chat.state?.variables || {})) {
    for (const [name, value] of Object.entries(values)) {
      vars.append(el('label', { class: 'fs-emu-var' }, el('input', { type: 'checkbox', value: `${scope}.${name}` }), ` ${scope}.${name} = ${JSON.stringify(value)}`));
    }
  }
  if (!vars.children.length) vars.append(el('p', { class: 'muted small', text: 'No variables hold a value yet.' }));
  $('fs-emu-save-error').textContent = '';
  $('fs-emu-test-name').value = '';
  saveDialog.showModal();
}

saveDialog.querySelector('[data-emu-cancel]').addEventListener('click', () => saveDialog.close());
$('fs-emu-save-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const editor = window.flowEditor;
  if (editor?.saver && !(await editor.saver.flush())) {
    $('fs-emu-save-error').textContent = 'The draft is not saved (see the save state above); save it first.';
    return;
  }
  const token = (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || '';
  const body = {
    conversationId: chat.conversationId, name: $('fs-emu-test-name').value,
    variables: [...$('fs-emu-test-vars').querySelectorAll('input:checked')].map((box) => box.value),
    baseRevision: editor?.store?.revision,
  };
  const response = await fetch(`/bots/${botId}/emulator/tests`, {
    method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': decodeURIComponent(token) },
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const details = (data?.error?.details || []).map((d) => `${d.path}: ${d.message}`).join('; ');
    $('fs-emu-save-error').textContent = `${data?.error?.message || `error ${response.status}`}${details ? ` (${details})` : ''}`;
    return;
  }
  if (editor?.store) {
    // The test went into the stored draft; keep the editor's copy in step so its next
    // autosave neither conflicts nor drops the test.
    editor.store.doc.tests = data.tests;
    editor.store.revision = data.revision;
  }
  saveDialog.close();
  place(el('div', { class: 'fs-emu-line saved' }, `Saved as test “${data.test.name}” · `,
    el('a', { href: `/bots/${botId}/tests/`, target: '_blank', rel: 'noopener', text: 'open the test runner' })), (chat.lastSeq + 1) * 10 - 1);
});

// ---- showing and hiding -------------------------------------------------------------------------
function resizeCanvas() { setTimeout(() => window.flowEditor?.canvas?.graph?.resize(), 0); }

function toggleEmulator(open = panel.hidden) {
  panel.hidden = !open;
  document.body.classList.toggle('fs-emu-open', open);
  localStorage.setItem(KEYS.open, open ? '1' : '0');
  if (open) { connect(); input.focus(); }
  resizeCanvas();
}

function toggleDebugger(open = debuggerEl.hidden) {
  debuggerEl.hidden = !open;
  document.body.classList.toggle('fs-dbg-open', open);
  if (open) renderDebugger();
}

$('fs-emu-toggle').addEventListener('click', () => toggleEmulator());
// Ctrl/Cmd+E and +J (as in Botpress): bound with the editor's other keys (editor/shortcuts.js).
provide({ toggleEmulator: () => { toggleEmulator(); }, toggleDebugger: () => { toggleDebugger(); } });

if (localStorage.getItem(KEYS.open) === '1') toggleEmulator(true);
window.flowEmulator = { toggleEmulator, toggleDebugger, chat };
