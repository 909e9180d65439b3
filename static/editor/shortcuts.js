// The editor's keyboard shortcuts: one table that both binds the keys and writes the
// Keyboard shortcuts dialog (and docs/editor.md's table copies it), so the dialog cannot
// drift from what the keys do. Handlers are named here and supplied by the modules that own
// them: editor.js (canvas, panels) and emulator.js (emulator, debugger), via provide().

import { escapeHtml } from './cards.js';

const isMac = /Mac|iPhone|iPad/.test(navigator.platform);

/**
 * id, the keys (Mod is Ctrl, or ⌘ on a Mac), what it does, the handler's name, and where it
 * applies: `global` ones work everywhere, dialogs and text fields included (the emulator's
 * message box is a text field); `typing` ones also work in a text field; the rest only
 * outside text fields and dialogs, so the browser's own Ctrl+Z, Ctrl+C... apply there.
 */
export const SHORTCUTS = [
  { id: 'copy', keys: ['Mod+C'], description: 'Copy the selected nodes with their cards', handler: 'copy' },
  { id: 'paste', keys: ['Mod+V'], description: 'Paste copied nodes (also across flows and tabs)', handler: 'paste' },
  { id: 'delete', keys: ['Delete', 'Backspace'], description: 'Delete the selected nodes, card or transition', handler: 'deleteSelection' },
  { id: 'undo', keys: ['Mod+Z'], description: 'Undo', handler: 'undo' },
  { id: 'redo', keys: ['Mod+Shift+Z', 'Mod+Y'], description: 'Redo', handler: 'redo' },
  { id: 'find', keys: ['Mod+F'], description: 'Find', handler: 'find', typing: true },
  { id: 'select-all', keys: ['Mod+A'], description: 'Select every node of the flow', handler: 'selectAll' },
  { id: 'left-panel', keys: ['Mod+B'], description: 'Show or hide the left panel', handler: 'toggleLeft', typing: true },
  { id: 'inspector', keys: ['Mod+Shift+E'], description: 'Show or hide the inspector', handler: 'toggleInspector', typing: true },
  { id: 'problems', keys: ['Mod+Shift+J'], description: 'Show or hide the problems panel', handler: 'toggleProblems', typing: true },
  { id: 'emulator', keys: ['Mod+E'], description: 'Open or close the emulator', handler: 'toggleEmulator', global: true },
  { id: 'debugger', keys: ['Mod+J'], description: 'Open or close the debugger drawer', handler: 'toggleDebugger', global: true },
  { id: 'escape', keys: ['Escape'], description: 'Clear the selection, close find', handler: 'escape' },
];

/** What the mouse and the emulator's message box do: listed in the dialog, not bound here. */
export const GESTURES = [
  ['Shift+drag', 'Select several nodes'],
  ['Drag the canvas', 'Pan'],
  ['Mod+wheel', 'Zoom'],
  ['Double-click the canvas', 'New node'],
  ['↑ / ↓ in the emulator\'s message box', 'Recall the last 20 messages sent'],
];

export function keyLabel(keys) {
  return keys.replaceAll('Mod', isMac ? '⌘' : 'Ctrl');
}

function parse(keys) {
  const parts = keys.split('+');
  const key = parts.pop().toLowerCase();
  return { key, mod: parts.includes('Mod'), shift: parts.includes('Shift'), alt: parts.includes('Alt') };
}

const parsed = SHORTCUTS.map((s) => ({ shortcut: s, combos: s.keys.map(parse) }));

/** The shortcut a keydown event means, or null. Modifiers must match exactly. */
export function match(e) {
  const mod = isMac ? e.metaKey : e.ctrlKey;
  const key = String(e.key).toLowerCase();
  for (const { shortcut, combos } of parsed) {
    if (combos.some((c) => c.key === key && c.mod === mod && c.shift === Boolean(e.shiftKey) && c.alt === Boolean(e.altKey))) return shortcut;
  }
  return null;
}

const handlers = {};

/** Supply handlers by name; a handler returning false leaves the key to the browser. */
export function provide(named) { Object.assign(handlers, named); }

function typingIn(target) {
  return Boolean(target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)));
}

// What the last key press resolved to: read by the browser test that holds the table
// against the bindings (window.flowShortcuts), with `dryRun` to resolve without acting.
const state = { last: null, dryRun: false };

function fire(shortcut, e) {
  const handler = handlers[shortcut.handler];
  if (!handler) return;
  state.last = shortcut.id;
  if (state.dryRun) { e.preventDefault(); return; }
  if (handler(e) !== false) e.preventDefault();
}

let bound = false;
export function bind() {
  if (bound) return;
  bound = true;
  // Capture phase for the global ones, so a text field's own handling (the emulator's box,
  // completion) never swallows them.
  window.addEventListener('keydown', (e) => {
    const shortcut = match(e);
    if (!shortcut || !shortcut.global) return;
    e.stopImmediatePropagation();
    fire(shortcut, e);
  }, true);
  document.addEventListener('keydown', (e) => {
    const shortcut = match(e);
    if (!shortcut || shortcut.global) return;
    if (document.querySelector('dialog[open]')) return;
    if (typingIn(e.target) && !shortcut.typing) return;
    fire(shortcut, e);
  });
}

/** The Keyboard shortcuts dialog's table, from the same rows that bind the keys. */
export function shortcutsTable() {
  const row = (attrs, keys, text) => `<tr${attrs}><td>${keys}</td><td>${escapeHtml(text)}</td></tr>`;
  const kbd = (keys) => keys.map((k) => `<kbd>${escapeHtml(keyLabel(k))}</kbd>`).join(' or ');
  return `<table class="fs-shortcuts" data-testid="shortcuts">${SHORTCUTS.map((s) => row(` data-shortcut="${s.id}" data-keys="${escapeHtml(s.keys.join(' '))}"`, kbd(s.keys), s.description)).join('')}`
    + `<tr><th colspan="2">Mouse and emulator</th></tr>${GESTURES.map(([keys, text]) => row('', `<kbd>${escapeHtml(keyLabel(keys))}</kbd>`, text)).join('')}</table>`;
}

window.flowShortcuts = { table: SHORTCUTS, state, match, handlers };
