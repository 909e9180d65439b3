// The editor's layout (docs/editor.md "Layout"): every panel is docked beside or under the
// canvas, never over it, so what the canvas shows is what the builder can work on.
//
// - The card tray is a column right of the canvas; folded it is a narrow strip with its
//   name. Folded or not is remembered.
// - The right dock holds the inspector and, when open, the emulator under it; the debugger
//   drawer and the problems panel sit under the canvas.
// - Each panel is sized by dragging its splitter; the sizes are remembered (prefs.js,
//   "layout"). Sizes live in CSS variables on <body>, read by editor.css's grid.
// - Opening the emulator folds the explorer and then the tray while the canvas would keep
//   less than CANVAS_SHARE of the window's width; closing it unfolds what it folded.
// - Fit (⤢) leaves free what still floats on the canvas: its tools, the minimap and the
//   Emulator pill. Toasts sit above the pill, never on it.
//
// The panels' open/closed state stays where it was (body classes fs-hide-*, fs-emu-open,
// fs-dbg-open, set by editor.js and emulator.js); this module watches those classes.

export const CANVAS_SHARE = 0.6;

// name: [css variable, axis, default, min, max]; max is a share of the window when < 1.
export const PANELS = {
  left: { variable: '--fs-left-w', axis: 'x', initial: 260, min: 180, max: 0.35 },
  tray: { variable: '--fs-tray-w', axis: 'x', initial: 210, min: 160, max: 0.3 },
  right: { variable: '--fs-right-w', axis: 'x', initial: 340, min: 300, max: 0.45 },
  emulator: { variable: '--fs-emu-h', axis: 'y', initial: 0.55, min: 200, max: 0.85 },
  bottom: { variable: '--fs-bottom-h', axis: 'y', initial: 190, min: 80, max: 0.6 },
  debugger: { variable: '--fs-dbg-h', axis: 'y', initial: 0.34, min: 120, max: 0.7 },
};

// Each splitter: the panel it sizes, the element whose edge it sits on, and that edge. A
// drag towards the panel's inside makes it smaller.
const SPLITTERS = [
  { panel: 'left', element: '.fs-left', edge: 'right', open: (b) => !b.contains('fs-hide-left') },
  { panel: 'tray', element: '#fs-tray', edge: 'left', open: (b) => !b.contains('fs-fold-tray') },
  { panel: 'right', element: '.fs-right', edge: 'left', open: (b) => !b.contains('fs-hide-right') || b.contains('fs-emu-open') },
  { panel: 'emulator', element: '#fs-emulator', edge: 'top', open: (b) => b.contains('fs-emu-open') && !b.contains('fs-hide-right') },
  { panel: 'bottom', element: '#fs-problems', edge: 'top', open: (b) => !b.contains('fs-hide-bottom') },
  { panel: 'debugger', element: '#fs-debugger', edge: 'top', open: (b) => b.contains('fs-dbg-open') },
];

// What the emulator may fold to leave the canvas its share, first to last.
const YIELDING = [
  { name: 'left', folded: (b) => b.contains('fs-hide-left'), fold: (b) => b.add('fs-hide-left'), unfold: (b) => b.remove('fs-hide-left') },
  { name: 'tray', folded: (b) => b.contains('fs-fold-tray'), fold: (b) => b.add('fs-fold-tray'), unfold: (b) => b.remove('fs-fold-tray') },
];

const FIT_MARGIN = 24; // px kept free around the flow and around what floats on the canvas

export class Layout extends EventTarget {
  constructor(prefs, { body = document.body, canvas = null } = {}) {
    super();
    this.prefs = prefs;
    this.body = body;
    this.canvas = canvas;
    this.grid = body.querySelector('.fs-body');
    this.wrap = body.querySelector('.fs-canvas-wrap');
    this.saved = prefs.get('layout') || {};
    this.sizes = { ...(this.saved.sizes || {}) };
    this.yielded = [];
    if (this.saved.trayFolded) body.classList.add('fs-fold-tray');
    for (const name of Object.keys(PANELS)) this.applySize(name);
    this.splitters = SPLITTERS.map((spec) => this.makeSplitter(spec));
    this.emulatorOpen = body.classList.contains('fs-emu-open');
    new MutationObserver(() => this.onClasses()).observe(body, { attributes: true, attributeFilter: ['class'] });
    new ResizeObserver(() => this.place()).observe(this.wrap);
    window.addEventListener('resize', () => { for (const name of Object.keys(PANELS)) this.applySize(name); this.place(); });
    this.place();
  }

  // ---- sizes -----------------------------------------------------------------------------
  limits(name) {
    const spec = PANELS[name];
    const whole = spec.axis === 'x' ? window.innerWidth : this.grid.clientHeight || window.innerHeight;
    const max = spec.max < 1 ? spec.max * whole : spec.max;
    return { min: spec.min, max: Math.max(spec.min, max), whole };
  }

  size(name) {
    const spec = PANELS[name];
    const { min, max, whole } = this.limits(name);
    const wanted = this.sizes[name] ?? (spec.initial < 1 ? spec.initial * whole : spec.initial);
    return Math.round(Math.min(max, Math.max(min, wanted)));
  }

  applySize(name) {
    this.body.style.setProperty(PANELS[name].variable, `${this.size(name)}px`);
  }

  setSize(name, px, { save = true } = {}) {
    const { min, max } = this.limits(name);
    this.sizes[name] = Math.round(Math.min(max, Math.max(min, px)));
    this.applySize(name);
    if (save) this.save();
    this.place();
  }

  save() {
    this.prefs.set('layout', { sizes: this.sizes, trayFolded: this.trayFoldedByBuilder() });
  }

  // A fold the emulator made is not the builder's choice: the remembered state is the one
  // it had before.
  trayFoldedByBuilder() {
    const folded = this.body.classList.contains('fs-fold-tray');
    return this.yielded.includes('tray') ? !folded : folded;
  }

  // ---- the tray --------------------------------------------------------------------------
  toggleTray(open = this.body.classList.contains('fs-fold-tray')) {
    this.yielded = this.yielded.filter((name) => name !== 'tray');
    this.body.classList.toggle('fs-fold-tray', !open);
    this.save();
  }

  // ---- watching the panels ---------------------------------------------------------------
  onClasses() {
    const open = this.body.classList.contains('fs-emu-open');
    if (open !== this.emulatorOpen) {
      this.emulatorOpen = open;
      if (open) this.makeRoom(); else this.giveBack();
    }
    this.place();
  }

  canvasWidth() {
    return this.wrap.getBoundingClientRect().width;
  }

  /** Fold the explorer, then the tray, while the canvas keeps less than its share. */
  makeRoom() {
    const classes = this.body.classList;
    for (const panel of YIELDING) {
      if (this.canvasWidth() >= CANVAS_SHARE * window.innerWidth) break;
      if (panel.folded(classes)) continue;
      panel.fold(classes);
      this.yielded.push(panel.name);
    }
  }

  giveBack() {
    const classes = this.body.classList;
    for (const name of this.yielded) YIELDING.find((p) => p.name === name).unfold(classes);
    this.yielded = [];
  }

  // ---- splitters -------------------------------------------------------------------------
  makeSplitter(spec) {
    const el = document.createElement('div');
    const horizontal = spec.edge === 'top';
    el.className = `fs-splitter ${horizontal ? 'rows' : 'columns'}`;
    el.dataset.splitter = spec.panel;
    el.setAttribute('role', 'separator');
    el.setAttribute('aria-orientation', horizontal ? 'horizontal' : 'vertical');
    el.title = 'Drag to resize';
    this.grid.append(el);
    el.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      el.setPointerCapture(e.pointerId);
      const start = horizontal ? e.clientY : e.clientX;
      const from = this.size(spec.panel);
      // Dragging a right edge rightwards grows the panel; a left or top edge, the reverse.
      const sign = spec.edge === 'right' ? 1 : -1;
      const move = (m) => this.setSize(spec.panel, from + sign * ((horizontal ? m.clientY : m.clientX) - start), { save: false });
      const up = () => {
        el.removeEventListener('pointermove', move);
        el.removeEventListener('pointerup', up);
        el.removeEventListener('pointercancel', up);
        this.body.classList.remove('fs-resizing');
        this.save();
      };
      this.body.classList.add('fs-resizing');
      el.addEventListener('pointermove', move);
      el.addEventListener('pointerup', up);
      el.addEventListener('pointercancel', up);
    });
    // From the keyboard too: focus the splitter (Tab), arrows resize by 16 px.
    el.tabIndex = 0;
    el.setAttribute('aria-label', `Resize the ${spec.panel === 'bottom' ? 'problems panel' : spec.panel}`);
    el.addEventListener('keydown', (e) => {
      const keys = horizontal ? { ArrowUp: -1, ArrowDown: 1 } : { ArrowLeft: -1, ArrowRight: 1 };
      if (!(e.key in keys)) return;
      e.preventDefault();
      const sign = spec.edge === 'right' ? 1 : -1;
      this.setSize(spec.panel, this.size(spec.panel) + sign * keys[e.key] * 16);
    });
    el.addEventListener('dblclick', () => { delete this.sizes[spec.panel]; this.applySize(spec.panel); this.save(); this.place(); });
    return { spec, el };
  }

  /** Put each splitter on its panel's edge, and the toasts above the Emulator pill. */
  place() {
    const classes = this.body.classList;
    const origin = this.grid.getBoundingClientRect();
    for (const { spec, el } of this.splitters) {
      const target = this.body.querySelector(spec.element);
      const rect = target && target.getBoundingClientRect();
      const shown = !!rect && spec.open(classes) && rect.width > 0 && rect.height > 0;
      el.hidden = !shown;
      if (!shown) continue;
      if (spec.edge === 'top') {
        Object.assign(el.style, { left: `${rect.left - origin.left}px`, width: `${rect.width}px`, top: `${rect.top - origin.top - 3}px`, height: '' });
      } else {
        const x = spec.edge === 'right' ? rect.right : rect.left;
        Object.assign(el.style, { left: `${x - origin.left - 3}px`, top: `${rect.top - origin.top}px`, height: `${rect.height}px`, width: '' });
      }
    }
    const wrap = this.wrap.getBoundingClientRect();
    const pill = this.body.querySelector('#fs-emu-toggle');
    const pillRect = pill && pill.offsetParent ? pill.getBoundingClientRect() : null;
    const root = document.documentElement.style;
    root.setProperty('--fs-toast-right', `${Math.max(8, window.innerWidth - wrap.right + 12)}px`);
    root.setProperty('--fs-toast-bottom', `${Math.max(8, window.innerHeight - (pillRect ? pillRect.top - 8 : wrap.bottom - 12))}px`);
    this.dispatchEvent(new CustomEvent('change'));
  }

  // ---- fit -------------------------------------------------------------------------------
  /**
   * The padding Fit leaves on each side of the canvas so that nothing floating on it (the
   * tools, the minimap, the Emulator pill) covers the fitted flow: each is avoided on the
   * side (top or bottom) it touches.
   */
  fitPadding() {
    const wrap = this.wrap.getBoundingClientRect();
    const padding = { top: FIT_MARGIN, right: FIT_MARGIN, bottom: FIT_MARGIN, left: FIT_MARGIN };
    for (const el of this.wrap.querySelectorAll('.fs-canvas-tools, .fs-minimap, #fs-emu-toggle')) {
      if (!el.offsetParent) continue; // not shown
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      if (r.top - wrap.top < wrap.bottom - r.bottom) padding.top = Math.max(padding.top, r.bottom - wrap.top + FIT_MARGIN);
      else padding.bottom = Math.max(padding.bottom, wrap.bottom - r.top + FIT_MARGIN);
    }
    return padding;
  }
}
