// Studio preferences (Botpress: Studio Preferences): the theme (system, light or dark) and
// snap to grid, and the panel layout (layout.js: sizes, the tray folded). Kept in this
// browser's localStorage.

const KEYS = { theme: 'flowstudio.theme', snapToGrid: 'flowstudio.snapToGrid', layout: 'flowstudio.layout' };
const DEFAULTS = { theme: 'system', snapToGrid: true, layout: {} };

export class Prefs extends EventTarget {
  get(name) {
    let raw = null;
    try { raw = localStorage.getItem(KEYS[name]); } catch (err) { raw = null; }
    if (raw === null) return DEFAULTS[name];
    if (name === 'snapToGrid') return raw === 'true';
    if (name === 'layout') { try { return JSON.parse(raw); } catch (err) { return DEFAULTS.layout; } }
    return raw;
  }

  set(name, value) {
    try {
      // "system" is the absence of a choice, as the studio's own theme toggle stores it.
      if (name === 'theme' && value === 'system') localStorage.removeItem(KEYS.theme);
      else localStorage.setItem(KEYS[name], name === 'layout' ? JSON.stringify(value) : String(value));
    } catch (err) { /* private mode: not kept */ }
    if (name === 'theme') applyTheme(value);
    this.dispatchEvent(new CustomEvent('change', { detail: { name, value } }));
  }
}

/** 'system' follows prefers-color-scheme (the stylesheet does that); light/dark pin it. */
export function applyTheme(theme) {
  const root = document.documentElement;
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  else delete root.dataset.theme;
}
