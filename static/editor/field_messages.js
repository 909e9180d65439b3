// What a form field says when its value is wrong: the validators' words (pydantic's "string
// should match pattern '^(workflow|...'", "is required", the inspector's own checks) put
// into plain words, one message per field. The inspector's check as you type decides for
// the rules it knows (required, patterns, lengths, bounds, numbers): the server's message
// for the same rule is from the last autosave, so it gives way to it — a fixed field is
// clear at once, a broken one says it once. The server's other problems (types, unknown
// variables...) stay until the next save brings fresh ones.

const VARIABLE_REF = '^(workflow|user|bot|session|conversation)\\.';

/** Plain words for a value that does not match `pattern` (a JSON Schema regex). */
export function patternMessage(pattern) {
  const p = String(pattern);
  if (p.startsWith(VARIABLE_REF) || p.startsWith('^(workflow|user')) return 'Write a variable as scope.name, e.g. user.email';
  if (p.startsWith('^[A-Za-z_]')) return 'Letters, digits and _ only, not starting with a digit';
  if (p.startsWith('^[A-Za-z0-9_-]')) return 'Letters, digits, _ and - only';
  if (p === '^[a-z]{2}$') return 'A two-letter language code, e.g. en';
  if (p === '^[A-Za-z]{2}$') return 'A two-letter country code, e.g. US';
  if (p === '^[A-Z]{3}$') return 'A three-letter currency code, e.g. EUR';
  return 'Not in the expected format';
}

// [validator wording, plain words]: the rules the inspector also checks as you type.
const RULES = [
  [/^(is required|field required|required|missing)$/i, () => 'Required'],
  [/should match pattern '(.*)'$/i, (m) => patternMessage(m[1])],
  [/should have at least 1 character/i, () => 'Required'],
  [/should have at least (\d+) characters?/i, (m) => `At least ${m[1]} characters`],
  [/should have at most (\d+) characters?/i, (m) => `At most ${m[1]} characters`],
  [/should be greater than or equal to (-?[\d.]+)/i, (m) => `At least ${m[1]}`],
  [/should be less than or equal to (-?[\d.]+)/i, (m) => `At most ${m[1]}`],
  [/should be greater than (-?[\d.]+)/i, (m) => `More than ${m[1]}`],
  [/should be less than (-?[\d.]+)/i, (m) => `Less than ${m[1]}`],
  [/should be a valid integer/i, () => 'A whole number'],
  [/should be a valid number/i, () => 'A number'],
  [/^(at least|at most|a number|a whole number|letters, digits|write a variable)/i, (m) => m.input],
];

/**
 * {text, rule}: `text` the message in plain words; `rule` true when it is one of the rules
 * the inspector checks itself (so its own verdict replaces it).
 */
export function plainMessage(message) {
  const raw = String(message ?? '').trim();
  for (const [pattern, words] of RULES) {
    const m = raw.match(pattern);
    if (m) return { text: words(m), rule: true };
  }
  return { text: raw.charAt(0).toUpperCase() + raw.slice(1), rule: false };
}

const fields = new WeakMap(); // field wrap -> {checked, local, server}

function render(wrap) {
  const state = fields.get(wrap);
  const local = state.local ? plainMessage(state.local).text : '';
  const seen = new Set(local ? [local] : []);
  const server = [];
  let warning = true;
  for (const p of state.server) {
    const { text, rule } = plainMessage(p.message);
    if (rule && state.checked) continue; // the check as you type knows better
    if (seen.has(text)) continue;
    seen.add(text);
    server.push(text);
    if (p.severity !== 'warning') warning = false;
  }
  const localEl = wrap.querySelector('.fs-field-error');
  const serverEl = wrap.querySelector('.fs-field-server');
  if (localEl && state.checked) localEl.textContent = local; // else the field writes its own (JSON syntax)
  if (serverEl) {
    serverEl.textContent = server.join('; ');
    serverEl.classList.toggle('warning', server.length > 0 && warning);
  }
}

function stateOf(wrap) {
  if (!fields.has(wrap)) fields.set(wrap, { checked: false, local: null, server: [] });
  return fields.get(wrap);
}

/** The inspector's own verdict on the field's value now: a message, or null when valid. */
export function showCheck(wrap, message) {
  const state = stateOf(wrap);
  state.checked = true;
  state.local = message || null;
  render(wrap);
}

/** The server's problems for this field ([{message, severity}]), from the last save. */
export function showServerProblems(wrap, problems) {
  stateOf(wrap).server = problems;
  render(wrap);
}
