// What the emulator shows of a knowledge search (docs/emulator.md "Knowledge"), from the turn's
// trace entries `knowledge_query` and `knowledge_answer` (runtime/engine/cards/knowledge.py):
//
// - a status line, "Answer found in Knowledge Base" with its citations as [1] [2] buttons whose
//   source, page and passage show on hover and on keyboard focus (Escape hides them), or
//   "No content matched the query";
// - the debugger's Knowledge tab: each search's query, where it looked, every passage ranked
//   with its fused score, both rankings, similarity and tokens, which ones the answer cites,
//   and the model call that wrote the answer.
// DOM nodes and textContent only: passages and queries come from documents and users.

import { el } from './trace.js';
import { citationText } from '../editor/knowledge.js';

let tipIds = 0;

// A citation's words, as the Knowledge tab's "try a query" writes them.
const where = citationText;

/** The search an answer entry belongs to: the last `knowledge_query` before it. */
function queryOf(trace, index) {
  for (let i = index - 1; i >= 0; i -= 1) if (trace[i].type === 'knowledge_query') return trace[i];
  return null;
}

/** Beside its button, above when there is room, inside the window: fixed, so the log's
    scrolling box does not clip it. */
function placeTip(button, tip) {
  const r = button.getBoundingClientRect();
  const { offsetHeight: h, offsetWidth: w } = tip;
  tip.style.top = `${r.top - h - 2 >= 4 ? r.top - h - 2 : r.bottom + 2}px`;
  tip.style.left = `${Math.max(4, Math.min(r.left + r.width / 2 - w / 2, window.innerWidth - w - 4))}px`;
}

function citationButton(c) {
  tipIds += 1;
  const id = `fs-emu-cite-${tipIds}`;
  const button = el('button', {
    type: 'button', class: 'fs-emu-cite', 'aria-describedby': id, 'data-citation': c.number,
    'aria-label': `Citation ${c.number}: ${where(c)}`, text: `[${c.number}]`,
    onkeydown: (e) => { if (e.key === 'Escape') { e.stopPropagation(); button.blur(); } },
  });
  const tip = el('span', { class: 'fs-emu-cite-tip', role: 'tooltip', id },
    el('strong', { text: `[${c.number}] ${where(c)}` }),
    el('span', { class: 'fs-emu-cite-kb', text: [c.knowledgeBase, c.sourceType].filter(Boolean).join(' · ') }),
    el('span', { class: 'fs-emu-cite-text', text: c.preview || '' }));
  // Placed again on the next frame: the tip may only get its size once :hover applies.
  const place = () => { placeTip(button, tip); requestAnimationFrame(() => placeTip(button, tip)); };
  button.addEventListener('mouseenter', place);
  button.addEventListener('focus', place);
  return el('span', { class: 'fs-emu-cite-wrap' }, button, tip);
}

/** The status line of a `knowledge_answer` entry. */
export function knowledgeLine(entry, index, trace) {
  const query = queryOf(trace, index);
  if (entry.responded) {
    const text = 'Answer found in Knowledge Base';
    const sources = Array.isArray(entry.sources) ? entry.sources : [];
    return el('div', { class: 'fs-emu-line fs-emu-kb found', 'data-status': text, title: query ? `Searched for “${query.query}”` : undefined },
      el('span', { text: `${text}${entry.generated ? '' : ' (best passage)'}` }), sources.length ? ' ' : null, sources.map(citationButton));
  }
  const text = 'No content matched the query';
  const near = query && query.minSimilarity != null && query.passages.length;
  return el('div', {
    class: 'fs-emu-line fs-emu-kb none', 'data-status': text,
    title: query ? `Searched for “${query.query}”${near ? `; no passage was close enough (similarity ${query.minSimilarity} or more)` : ''}` : undefined,
  }, text);
}

function num(value, digits) { return value === null || value === undefined ? '—' : Number(value).toFixed(digits); }

/** The debugger's Knowledge tab for a turn's trace. */
export function knowledgeView(trace) {
  const searches = [];
  trace.forEach((entry, i) => {
    if (entry.type === 'knowledge_query') searches.push({ query: entry, answer: null, llm: null, unavailable: null });
    const open = searches[searches.length - 1];
    if (!open) return;
    if (entry.type === 'knowledge_answer' && !open.answer) open.answer = entry;
    if (!open.answer && entry.type === 'llm_response') open.llm = entry;
    if (!open.answer && entry.type === 'knowledge_llm_unavailable') open.unavailable = entry;
  });
  if (!searches.length) return el('p', { class: 'muted', text: 'This turn searched no knowledge base.' });
  return el('div', { class: 'fs-dbg-kb' }, searches.map(({ query, answer, llm, unavailable }, n) => {
    const cited = new Set(((answer && answer.sources) || []).map((c) => c.number));
    const tokens = query.passages.reduce((sum, p) => sum + (Number(p.tokens) || 0), 0);
    const scope = [
      query.knowledgeBases && query.knowledgeBases.length ? `in ${query.knowledgeBases.join(', ')}` : 'in all knowledge bases',
      query.folder ? `folder ${query.folder}` : null,
      query.limit ? `up to ${query.limit} passages` : null,
      query.ms != null ? `${Math.round(query.ms)} ms` : null,
    ].filter(Boolean).join(' · ');
    let outcome;
    if (!answer) outcome = 'No answer entry (the turn stopped).';
    else if (!answer.responded) outcome = 'No content matched the query: the card answered nothing.';
    else if (answer.generated) outcome = `Answer found: written by the model${llm ? ` (${llm.tokensIn ?? '?'} in / ${llm.tokensOut ?? '?'} out tokens)` : ''}, citing ${[...cited].map((c) => `[${c}]`).join(' ')}.`;
    else outcome = `Answer found: the best passage, verbatim${unavailable ? ` (no model: ${unavailable.message})` : ''}.`;
    return el('section', { class: 'fs-dbg-kb-search', 'data-card': query.card || '' },
      el('h4', {}, `${n + 1}. ${query.card || 'search'}`, el('span', { class: 'muted', text: ` ${scope}` })),
      el('p', {}, el('b', { text: 'Query: ' }), el('span', { 'data-testid': 'kb-query', text: query.query || '(empty)' })),
      query.minSimilarity != null ? el('p', { class: 'muted small', text: `Answers only when the best passage has a similarity of ${query.minSimilarity} or more (the capture card's question answering).` }) : null,
      query.passages.length ? el('table', { class: 'fs-dbg-kb-passages' },
        el('thead', {}, el('tr', {}, ['#', 'Source', 'Score', 'Full text', 'Meaning', 'Similarity', 'Tokens', 'Passage'].map((h) => el('th', { scope: 'col', text: h })))),
        el('tbody', {}, query.passages.map((p, i) => el('tr', { class: cited.has(i + 1) ? 'cited' : '', 'data-rank': i + 1 },
          el('td', { text: cited.has(i + 1) ? `${i + 1} ✓` : String(i + 1), title: cited.has(i + 1) ? 'Cited by the answer' : undefined }),
          el('td', { text: `${where(p)}${p.knowledgeBase ? ` (${p.knowledgeBase})` : ''}` }),
          el('td', { class: 'num', 'data-role': 'score', text: num(p.score, 4) }),
          el('td', { class: 'num', text: p.ftsRank ? `#${p.ftsRank}` : '—' }),
          el('td', { class: 'num', text: p.vectorRank ? `#${p.vectorRank}` : '—' }),
          el('td', { class: 'num', text: num(p.similarity, 2) }),
          el('td', { class: 'num', 'data-role': 'tokens', text: p.tokens ?? '—' }),
          el('td', { class: 'fs-dbg-kb-preview', text: p.preview || '' }))))) : el('p', { class: 'muted', text: 'No passage matched.' }),
      query.passages.length ? el('p', { class: 'muted small', 'data-testid': 'kb-tokens', text: `${query.passages.length} passage${query.passages.length > 1 ? 's' : ''}, about ${tokens} tokens (4 characters a token).` }) : null,
      el('p', { class: 'fs-dbg-kb-outcome', 'data-testid': 'kb-outcome', text: outcome }));
  }));
}
