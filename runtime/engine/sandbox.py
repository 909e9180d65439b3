"""Warm V8 contexts (mini-racer) for Execute Code cards and JavaScript expressions.

One context per bot, reused across calls, because creating one costs ~15 ms. Isolation between
runs of the same bot comes from freezing the global object and every built-in before any bot
code runs (see `_prelude.js`-style source in `_PRELUDE`), and from giving code JSON copies of
the scopes. Isolation between bots comes from separate contexts.

Decisions worth knowing:
- `env` and `event` are deep-frozen and code runs in strict mode, so a write to them throws a
  TypeError (the run fails; nothing is applied).
- `console.log`/`console.info` are logged at level "info"; `debug`, `warn`, `error` keep theirs.
- `setTimeout` works only inside the run's time budget: timers still pending when the code
  returns are dropped, so no bot code ever runs after `run_code` returns.
- A context that timed out or ran out of memory is closed and recreated on the next call;
  after a timeout V8 may still be busy with a runaway promise job, so it cannot be trusted.
- No array buffers, typed arrays, Atomics or WebAssembly: their memory is outside the heap
  that the memory limit counts. One run hands back at most MAX_OUTPUT_CHARS of JSON.
- Syntax checks (`syntax_error`) compile with V8's Function constructor and never run the
  source, in contexts of their own (docs/engine.md, "Syntax checks never run code").
"""
from __future__ import annotations

import atexit
import contextvars
import json
import re
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

from py_mini_racer import JSEvalException, JSOOMException, JSParseException, JSTimeoutException, MiniRacer

MAX_CONTEXTS = 64
# What one run may hand back (scopes it may write, return value, console output), as JSON
# characters: the engine caps each scope at 128 KB, so this only stops oversized values before
# they are copied out of V8 at all.
MAX_OUTPUT_CHARS = 1024 * 1024
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
# Names that cannot be function parameters in strict code, or that mean something else.
_NOT_BINDABLE = frozenset(
    """break case catch class const continue debugger default delete do else enum export extends
    false finally for function if import in instanceof new null return super switch this throw true
    try typeof var void while with yield let static implements interface package private protected
    public await eval arguments async of get set""".split()
)
# `workflows`: the conversation's background workflow runs by id, read only (docs/workflows.md,
# "Workflow Status").
SCOPE_NAMES = ("event", "workflow", "session", "user", "bot", "env", "turn", "conversation", "workflows")
_HANDLE = "__flowstudio__"

_PRELUDE = r"""
const __flowstudio__ = (function (token, SCOPES) {
  'use strict';
  const G = globalThis;
  const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
  const FunctionCtor = Function;
  const stringify = JSON.stringify, parse = JSON.parse;
  const freeze = Object.freeze, getProto = Object.getPrototypeOf, defineProperty = Object.defineProperty;
  const getDesc = Object.getOwnPropertyDescriptor, ownKeys = Reflect.ownKeys, hasOwn = Object.hasOwn;
  const waitAsync = Atomics.waitAsync;
  const SharedBuffer = SharedArrayBuffer, Int32View = Int32Array;
  const MAX_OUTPUT = %MAX_OUTPUT%;

  // Array buffers (and typed arrays, DataView, Atomics and WebAssembly memories, which make or
  // need them) live outside the V8 heap, where the memory limit cannot count them: three
  // `new Uint8Array(512 * 1024 * 1024)` grew the process by 1.5 GB. So they are not offered;
  // what would make one throws an error that says why.
  const UNAVAILABLE = ['ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Atomics', 'WebAssembly',
    'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
    'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];
  const removed = [];
  for (const name of UNAVAILABLE) {
    if (!(name in G)) continue;
    removed.push(G[name]);
    const message = name + ' is not available in the sandbox: array buffers are kept outside the ' +
      'memory the code is limited to';
    const refuse = function () { throw new TypeError(message); };
    for (const member of ['from', 'of', 'isView', 'fromBase64', 'fromHex', 'Memory', 'Module', 'Instance',
      'Table', 'Global', 'compile', 'instantiate', 'validate', 'wait', 'waitAsync', 'notify']) {
      defineProperty(refuse, member, { value: refuse, enumerable: false });
    }
    defineProperty(G, name, { value: refuse, writable: false, enumerable: false, configurable: false });
  }

  let current = null;            // the run in progress
  const timers = new Map();      // timer id -> run that created it
  let nextTimer = 1;
  const compiled = new Map();    // expression cache; private, bounded

  function check(t) { if (t !== token) throw new Error('not allowed'); }

  function text(v) {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return String(v);
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return String(v);
    if (typeof v === 'function') return '[Function' + (v.name ? ': ' + v.name : '') + ']';
    try { const s = stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); }
  }
  // Console output is kept up to a quarter of MAX_OUTPUT per run; past it, one line says so.
  function logger(level) {
    return function (...args) {
      const run = current;
      if (!run || run.logChars > MAX_OUTPUT / 4) return;
      const line = args.map(text).join(' ');
      run.logChars += line.length;
      if (run.logChars > MAX_OUTPUT / 4) {
        run.logs.push(['warn', 'console output past ' + (MAX_OUTPUT / 4) + ' characters in one run was dropped']);
      } else {
        run.logs.push([level, line]);
      }
    };
  }
  const consoleObject = {
    log: logger('info'), info: logger('info'), debug: logger('debug'),
    warn: logger('warn'), error: logger('error'),
  };

  function setTimeoutImpl(fn, delay, ...args) {
    if (typeof fn !== 'function') throw new TypeError('setTimeout needs a function');
    const id = nextTimer++;
    const run = current;
    timers.set(id, run);
    const view = new Int32View(new SharedBuffer(4));
    const wait = waitAsync(view, 0, 0, Math.max(0, Number(delay) || 0));
    (wait.async ? wait.value : Promise.resolve()).then(() => {
      if (timers.get(id) !== run || current !== run || run.done) return;
      timers.delete(id);
      try { fn(...args); } catch (e) { fail(run, e); }
    });
    return id;
  }
  function clearTimeoutImpl(id) { timers.delete(id); }

  function deepFreeze(v) {
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
    freeze(v);
    for (const k of ownKeys(v)) deepFreeze(v[k]);
    return v;
  }

  function errorInfo(e) {
    try {
      if (e instanceof Error) return { name: String(e.name), message: String(e.message), stack: String(e.stack || '') };
      return { name: '', message: text(e), stack: '' };
    } catch (x) { return { name: '', message: 'an error that cannot be described', stack: '' }; }
  }
  function fail(run, e) {
    if (run.done) return;
    run.done = true;
    const info = errorInfo(e);
    // A thrown value can be as big as the heap allows; its first part says enough.
    for (const k of ['message', 'stack']) if (info[k].length > 4096) info[k] = info[k].slice(0, 4096) + '...';
    run.result = stringify({ ok: false, kind: 'exception', error: info, logs: run.logs });
  }
  // Names the biggest thing in an answer over the limit, so the author knows what to shrink.
  function tooBig(value, scopes, writable, logs) {
    let worst = 'the return value', worstSize = value === undefined ? 0 : (stringify(value) || '').length;
    for (const name of writable) {
      const scope = hasOwn(scopes, name) ? scopes[name] : null;
      if (scope === null || typeof scope !== 'object') continue;
      for (const key of Object.keys(scope)) {
        const size = (stringify(scope[key]) || '').length;
        if (size > worstSize) { worst = name + '.' + key; worstSize = size; }
      }
    }
    const logSize = stringify(logs).length;
    if (logSize > worstSize) { worst = 'the console output'; worstSize = logSize; }
    return worst + ' is ' + worstSize + ' characters of JSON; all the values code leaves in scopes, ' +
      'returns and logs may be at most ' + MAX_OUTPUT + ' characters; nothing was written';
  }

  function settle(run, value, scopes, writable) {
    if (run.done) return;
    try {
      const out = {};
      for (const name of writable) if (hasOwn(scopes, name)) out[name] = scopes[name];
      const result = stringify({ ok: true, value: value === undefined ? null : value, scopes: out, logs: run.logs });
      if (result.length > MAX_OUTPUT) {
        fail(run, new RangeError(tooBig(value, scopes, writable, run.logs)));
        return;
      }
      run.done = true;
      run.result = result;
    } catch (e) {
      fail(run, new TypeError('the code returned or stored a value that is not JSON (' + errorInfo(e).message + ')'));
    }
  }

  // Table objects (`await OrdersTable.findRecords({...})`): a call queues a request and
  // returns a promise; the host's poll (collect) takes the queue, does the calls outside V8
  // and settles each promise with `answer`. So the code waits on the database the way it
  // waits on a timer, inside the same time limit, and V8 never calls back into Python.
  const TABLE_METHODS = ['findRecords', 'getRecord', 'createRecord', 'createRecords', 'insertRecord',
    'insertRecords', 'updateRecord', 'updateRecords', 'upsertRecords', 'deleteRecord', 'deleteRecords'];
  let nextCall = 1;
  function tableObject(run, binding, table) {
    const obj = {};
    for (const method of TABLE_METHODS) {
      obj[method] = function (...args) {
        return new Promise((resolve, reject) => {
          if (run.done || current !== run) { reject(new Error('the code has already returned')); return; }
          let payload;
          try { payload = stringify(args); } catch (e) {
            reject(new TypeError(binding + '.' + method + ': the arguments are not JSON (' + errorInfo(e).message + ')'));
            return;
          }
          const id = nextCall++;
          // Made here so a refusal's stack (and the line the error names) is the caller's.
          run.waiting.set(id, { resolve, reject, site: new Error() });
          run.calls.push({ id, binding, table, method, args: payload });
        });
      };
    }
    return freeze(obj);
  }

  function answer(t, id, ok, payload) {
    check(t);
    const run = current;
    if (run === null) return;
    const waiter = run.waiting.get(id);
    if (!waiter) return;
    run.waiting.delete(id);
    if (ok) waiter.resolve(parse(payload));
    else {
      const e = new Error(payload);
      try {
        defineProperty(e, 'stack', { value: 'Error: ' + payload + String(waiter.site.stack).replace(/^Error/, ''),
          writable: true, configurable: true });
      } catch (x) { /* the message is what matters */ }
      waiter.reject(e);
    }
  }

  // The axios-like HTTP helper. Code cannot reach the network itself: a call queues a
  // request on the run and returns a promise; `collect` hands the queue to Python, which
  // fetches through the server's outbound guard (with the bot's allow-list) and answers with
  // `deliver`. So a request is inside the run's time limit like everything else.
  function headerObject(h) {
    const out = {};
    if (h === undefined || h === null) return out;
    if (typeof h !== 'object') throw new TypeError('axios: headers must be an object');
    for (const k of Object.keys(h)) if (h[k] !== undefined && h[k] !== null) out[String(k)] = String(h[k]);
    return out;
  }
  function httpRequest(config) {
    const run = current;
    if (config === null || typeof config !== 'object') return Promise.reject(new TypeError('axios: the request must be an object'));
    if (!run || run.done) return Promise.reject(new Error('axios: no code run is in progress'));
    if (!run.http) return Promise.reject(new Error('axios: HTTP requests are not available here'));
    let url, headers, body = null;
    try {
      url = config.url;
      if (typeof url !== 'string' || !url) throw new TypeError('axios: url must be a non-empty string');
      const method = String(config.method || 'get').toUpperCase();
      headers = headerObject(config.headers);
      if (config.params !== undefined && config.params !== null) {
        if (typeof config.params !== 'object') throw new TypeError('axios: params must be an object');
        const pairs = Object.keys(config.params).filter((k) => config.params[k] !== undefined && config.params[k] !== null)
          .map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(String(config.params[k])));
        if (pairs.length) url += (url.includes('?') ? '&' : '?') + pairs.join('&');
      }
      if (config.data !== undefined && config.data !== null) {
        if (typeof config.data === 'string') body = config.data;
        else {
          body = stringify(config.data);
          if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
        }
      }
      const timeout = config.timeout === undefined ? null : Number(config.timeout);
      if (run.requests.length + run.answers.size >= 50) throw new RangeError('axios: at most 50 requests may be in flight in one run');
      const id = run.nextRequest++;
      return new Promise((resolve, reject) => {
        run.answers.set(id, { resolve, reject, config });
        run.requests.push({ id, method, url, headers, body, timeout });
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }
  function withMethod(method, hasData) {
    return function (url, a, b) {
      const config = hasData ? (b || {}) : (a || {});
      if (config === null || typeof config !== 'object') return Promise.reject(new TypeError('axios: the config must be an object'));
      return httpRequest({ ...config, method, url, data: hasData ? a : config.data });
    };
  }
  const axiosObject = function (a, b) { return typeof a === 'string' ? httpRequest({ ...(b || {}), url: a }) : httpRequest(a); };
  axiosObject.request = httpRequest;
  for (const m of ['get', 'delete', 'head', 'options']) axiosObject[m] = withMethod(m, false);
  for (const m of ['post', 'put', 'patch']) axiosObject[m] = withMethod(m, true);

  function deliver(t, id, answerJson) {
    check(t);
    const run = current;
    if (!run) return;
    const waiter = run.answers.get(id);
    if (!waiter) return;
    run.answers.delete(id);
    const answer = parse(answerJson);
    if (answer.error) {
      const e = new Error(answer.error);
      e.code = answer.code || 'ERR_NETWORK';
      e.config = waiter.config;
      waiter.reject(e);
      return;
    }
    let data = answer.text;
    if (typeof data === 'string' && data && waiter.config.responseType !== 'text') {
      try { data = parse(data); } catch (e) { /* not JSON: the text, as axios does */ }
    }
    const response = { status: answer.status, statusText: answer.statusText, headers: answer.headers, data, config: waiter.config };
    if (answer.status >= 200 && answer.status < 300) waiter.resolve(response);
    else {
      const e = new Error('Request failed with status code ' + answer.status);
      e.code = answer.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST';
      e.response = response;
      e.config = waiter.config;
      waiter.reject(e);
    }
  }

  function start(t, source, names, scopesJson, writable, tables, http) {
    check(t);
    timers.clear();
    const run = { logs: [], logChars: 0, done: false, result: '', calls: [], waiting: new Map(),
      http: !!http, requests: [], answers: new Map(), nextRequest: 1 };
    current = run;
    const tableNames = tables.map((pair) => pair[0]);
    let fn;
    try {
      fn = new AsyncFunction(...names, ...tableNames, 'axios', '"use strict";\n' + source);
    } catch (e) {
      run.done = true;
      run.result = stringify({ ok: false, kind: 'syntax', error: errorInfo(e), logs: [] });
      return;
    }
    const scopes = parse(scopesJson);
    if (hasOwn(scopes, 'env')) deepFreeze(scopes.env);
    // Hooks that may change the event list it as writable (runtime/engine/hooks.py).
    if (hasOwn(scopes, 'event') && !writable.includes('event')) deepFreeze(scopes.event);
    const tableArgs = tables.map((pair) => tableObject(run, pair[0], pair[1]));
    fn.apply(undefined, names.map((n) => scopes[n]).concat(tableArgs, [axiosObject])).then(
      (v) => settle(run, v, scopes, writable),
      (e) => fail(run, e),
    );
  }

  function collect(t) {
    check(t);
    const run = current;
    if (run === null) return '';
    if (!run.done && run.requests.length) return stringify({ http: run.requests.splice(0) });
    if (!run.done) {
      if (!run.calls.length) return '';
      const calls = run.calls;
      run.calls = [];
      return 'C' + stringify(calls);
    }
    current = null;
    timers.clear();
    return run.result;
  }

  function abandon(t) { check(t); current = null; timers.clear(); }

  function encode(v) {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return '{"u":1}';
    if (typeof v === 'number' && !Number.isFinite(v)) return '{"n":"' + String(v) + '"}';
    if (typeof v === 'bigint') return '{"e":' + stringify({ name: 'TypeError', message: 'a BigInt cannot be used as a value' }) + '}';
    const s = stringify(v);
    return s === undefined ? '{"u":1}' : '{"v":' + s + '}';
  }

  function evaluate(t, expr, candidates, scopesJson) {
    check(t);
    try {
      const scopes = parse(scopesJson);
      const wf = scopes.workflow;
      const bare = candidates.filter((n) => !(n in G) && !SCOPES.includes(n));
      const key = expr + '\u0000' + bare.join(',');
      let fn = compiled.get(key);
      if (fn === undefined) {
        fn = FunctionCtor(...SCOPES, ...bare, '"use strict";\nreturn (\n' + expr + '\n);');
        if (compiled.size > 2000) compiled.clear();
        compiled.set(key, fn);
      }
      const hasWf = wf !== null && typeof wf === 'object';
      const args = SCOPES.map((s) => scopes[s]).concat(bare.map((n) => (hasWf && hasOwn(wf, n) ? wf[n] : undefined)));
      return encode(fn.apply(undefined, args));
    } catch (e) {
      return '{"e":' + stringify(errorInfo(e)) + '}';
    }
  }

  // Assigning `obj.toString = f` or `this.name = 'X'` in an Error subclass must keep working
  // after the prototypes are frozen (the "override mistake"); these accessors make such an
  // assignment define an own property instead of failing.
  function allowOverride(obj, prop) {
    const d = getDesc(obj, prop);
    if (!d || !('value' in d) || !d.configurable) return;
    const value = d.value;
    defineProperty(obj, prop, {
      get() { return value; },
      set(v) {
        if (this === obj) throw new TypeError('Cannot assign to read only property ' + String(prop));
        defineProperty(this, prop, { value: v, writable: true, enumerable: true, configurable: true });
      },
      enumerable: d.enumerable, configurable: false,
    });
  }

  function harden() {
    for (const k of ['input', '$_', 'lastMatch', '$&', 'lastParen', '$+', 'leftContext', '$`',
      'rightContext', "$'", '$1', '$2', '$3', '$4', '$5', '$6', '$7', '$8', '$9']) {
      try { delete RegExp[k]; } catch (e) { /* not configurable in this V8: left frozen */ }
    }
    G.setTimeout = setTimeoutImpl;
    G.clearTimeout = clearTimeoutImpl;
    G.__timer_manager = undefined;
    defineProperty(G, 'console', { value: consoleObject, writable: false, enumerable: false, configurable: false });
    for (const p of ['constructor', 'toString', 'valueOf', 'toLocaleString', 'hasOwnProperty',
      'isPrototypeOf', 'propertyIsEnumerable']) allowOverride(Object.prototype, p);
    for (const E of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError]) {
      for (const p of ['name', 'message', 'constructor', 'toString']) allowOverride(E.prototype, p);
    }
    for (const p of ['constructor', 'toString']) {
      allowOverride(Function.prototype, p);
      allowOverride(Array.prototype, p);
      allowOverride(Promise.prototype, p);
    }
    const hidden = [
      AsyncFunction, function* () {}, async function* () {}, (function* () {})(), (async function* () {})(),
      [][Symbol.iterator](), new Map().entries(), new Set().values(), ''[Symbol.iterator](),
      /a/[Symbol.matchAll](''), (function () { return arguments; })(), ...removed,
      consoleObject, setTimeoutImpl, clearTimeoutImpl, axiosObject,
    ];
    const seen = new Set();
    const todo = [G, ...hidden];
    while (todo.length) {
      const o = todo.pop();
      if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
      seen.add(o);
      try { freeze(o); } catch (e) { /* e.g. a typed array with elements: its prototype is still frozen */ }
      todo.push(getProto(o));
      for (const k of ownKeys(o)) {
        const d = getDesc(o, k);
        if (!d) continue;
        if ('value' in d) todo.push(d.value); else { todo.push(d.get); todo.push(d.set); }
      }
    }
  }

  harden();
  return freeze({ start, collect, answer, abandon, evaluate, deliver });
})(%TOKEN%, %SCOPES%);
Object.isFrozen(globalThis) && Object.isFrozen(Object.prototype)
"""


# The end of the running turn's budget (`time.monotonic()`), set by the engine for the turn
# it runs on this thread: no code run or expression of the turn may go past it.
turn_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("turn_deadline", default=None)


class CodeError(Exception):
    """Bot JavaScript failed. `kind` is syntax, exception, timeout, memory or budget (the
    turn's budget, `turn_deadline`, ran out first)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


class TableCallRefused(Exception):
    """What a table call's host raises to make the code's `await` throw an Error with this
    message (a wrong type, an unknown column, a missing row): code can catch it. Any other
    exception from the host ends the run and reaches the engine as it is."""


# The host of table calls from code: (table, method, JSON-decoded arguments, seconds left in
# the run) -> the JSON value the code's `await` gets. Runs on the thread that called run_code.
TableCaller = Callable[[str, str, list, float], Any]


def table_binding(table_name: str) -> str | None:
    """The name code uses for a table (Botpress: `Data1Table`): `Orders` is `OrdersTable`,
    a name that already ends with `Table` stays as it is. None when the name cannot be a
    parameter (a scope's name, a reserved word)."""
    name = table_name if table_name.endswith("Table") else table_name + "Table"
    if not _IDENTIFIER.match(name) or name in _NOT_BINDABLE or name in SCOPE_NAMES:
        return None
    return name


@dataclass
class CodeResult:
    scopes: dict[str, Any]
    logs: list[tuple[str, str]]
    value: Any
    ms: float


@dataclass
class _Context:
    racer: MiniRacer
    token: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            _close_racer(self.racer)


# Every context is made on this one long-lived thread. mini-racer binds a context to the
# asyncio loop of the thread that creates it (a context made in async code would die with
# that loop), and V8 crashes the process (segfault) when contexts are made on one thread and
# then on another, e.g. a short-lived thread first and an engine pool thread later. The
# thread starts on first use, so a forked process (a Celery child) starts its own.
_racer_maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mini-racer-contexts")


def _before_threads_stop(function):
    """Run `function` at exit while the context thread still runs. `atexit` is too late:
    threads, `_racer_maker`'s included, are stopped before atexit handlers, and closing a
    context off its thread at that point crashed the process on exit (seen at the end of a
    pytest run). Threading's own exit hooks run first, newest first, so this one runs before
    the executor's, which was registered when concurrent.futures was imported."""
    register = getattr(threading, "_register_atexit", None)
    (register or atexit.register)(function)
    return function


def _new_racer() -> MiniRacer:
    """A MiniRacer, made on the one thread that makes them all; usable from any thread."""
    return _racer_maker.submit(MiniRacer).result()


def _close_racer(racer: MiniRacer) -> None:
    """Closed on the thread that made it: closing it on another one crashes V8 too."""
    try:
        _racer_maker.submit(racer.close).result()
    except RuntimeError:  # the interpreter is exiting and the thread has stopped
        racer.close()


class _Unusable(Exception):
    """The context timed out or ran out of memory; it is closed and must not be reused."""


_ALL_SANDBOXES: weakref.WeakSet[JSSandbox] = weakref.WeakSet()


@_before_threads_stop
def _close_all_sandboxes() -> None:
    # Unclosed mini-racer contexts can hang interpreter exit.
    for sandbox in list(_ALL_SANDBOXES):
        sandbox.close()


class JSSandbox:
    """Thread-safe; contexts are created lazily, so constructing one is cheap."""

    def __init__(self, *, timeout_ms: int = 2000, memory_mb: int = 64, max_contexts: int = MAX_CONTEXTS):
        if timeout_ms <= 0 or memory_mb <= 0 or max_contexts <= 0:
            raise ValueError("timeout_ms, memory_mb and max_contexts must be positive")
        self.max_contexts = max_contexts
        self.timeout_ms = timeout_ms
        self.memory_mb = memory_mb
        self._contexts: OrderedDict[str, _Context] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        _ALL_SANDBOXES.add(self)

    # ---- public API ----------------------------------------------------------------------
    def run_code(self, bot_key: str, code: str, scopes: dict[str, Any], *, writable: tuple[str, ...],
                 tables: Mapping[str, str] | None = None, on_table_call: TableCaller | None = None,
                 http: HttpFetch | None = None) -> CodeResult:
        """`tables` binds names code can use (`OrdersTable`) to table names; their methods'
        calls go to `on_table_call`, inside this run's time limit. `http` answers the code's
        `axios` calls (see HttpFetch); None: they reject."""
        names = list(scopes)
        for name in names:
            if not _IDENTIFIER.match(name) or name in _NOT_BINDABLE:
                raise ValueError(f"scope name {name!r} is not a usable JavaScript identifier")
        bound = [[binding, table] for binding, table in (tables or {}).items()
                 if binding not in names and table_binding(binding) is not None]
        if bound and on_table_call is None:
            raise ValueError("tables given without on_table_call")
        scopes_json = _scopes_json(scopes)
        call = (
            f"{_HANDLE}.start({{token}}, {json.dumps(code)}, {json.dumps(names)}, "
            f"{json.dumps(scopes_json)}, {json.dumps(list(writable))}, {json.dumps(bound)}, {json.dumps(http is not None)})"
        )
        t0 = time.perf_counter()
        raw = self._run(bot_key, call, wait_for_run=True, on_table_call=on_table_call, http=http)
        ms = (time.perf_counter() - t0) * 1000
        out = _loads(raw)
        if not out["ok"]:
            if out["kind"] == "syntax":
                error = out["error"]
                raise CodeError("syntax", _syntax_text(code, f"{error.get('name') or 'SyntaxError'}: {error.get('message')}"))
            raise CodeError("exception", _exception_message(out["error"], line_offset=3))
        logs = [(level, text) for level, text in out["logs"]]
        return CodeResult(scopes=out["scopes"], logs=logs, value=out["value"], ms=ms)

    def evaluate(self, bot_key: str, expression: str, scopes: dict[str, Any]) -> Any:
        """The value of a JavaScript expression; a bare name means `workflow.<name>`.

        Returns the `expressions.UNDEFINED` sentinel for undefined (and for functions and
        symbols, which have no JSON form); NaN and the infinities come back as floats."""
        call = (
            f"{_HANDLE}.evaluate({{token}}, {json.dumps(expression)}, "
            f"{json.dumps(_bare_name_candidates(expression))}, {json.dumps(_scopes_json(scopes))})"
        )
        out = _loads(self._run(bot_key, call, wait_for_run=False))
        if "v" in out:
            return out["v"]
        if "u" in out:
            from .expressions import UNDEFINED  # local: expressions imports this module

            return UNDEFINED
        if "n" in out:
            return float(out["n"].replace("Infinity", "inf"))
        error = out["e"]
        kind = "syntax" if error["name"] == "SyntaxError" else "exception"
        raise CodeError(kind, _exception_message(error, line_offset=None))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            contexts = list(self._contexts.values())
            self._contexts.clear()
        for ctx in contexts:
            with ctx.lock:
                ctx.close()

    def context_count(self) -> int:
        with self._lock:
            return len(self._contexts)

    # ---- contexts ------------------------------------------------------------------------
    def _context(self, bot_key: str) -> _Context:
        evicted = None
        with self._lock:
            if self._closed:
                raise RuntimeError("this JSSandbox is closed")
            ctx = self._contexts.get(bot_key)
            if ctx is not None:
                self._contexts.move_to_end(bot_key)
                return ctx
            ctx = self._new_context()
            self._contexts[bot_key] = ctx
            if len(self._contexts) > self.max_contexts:
                _, evicted = self._contexts.popitem(last=False)
        if evicted is not None:
            with evicted.lock:  # waits for a run in progress on it to finish
                evicted.close()
        return ctx

    def _new_context(self) -> _Context:
        racer = _new_racer()
        token = secrets.token_hex(16)
        racer.set_hard_memory_limit(self.memory_mb * 1024 * 1024)
        prelude = (_PRELUDE.replace("%TOKEN%", json.dumps(token)).replace("%SCOPES%", json.dumps(SCOPE_NAMES))
                   .replace("%MAX_OUTPUT%", str(MAX_OUTPUT_CHARS)))
        if racer.eval(prelude) is not True:
            _close_racer(racer)
            raise RuntimeError("could not freeze the JavaScript built-ins")
        return _Context(racer, token)

    def _discard(self, bot_key: str, ctx: _Context) -> None:
        ctx.close()
        with self._lock:
            if self._contexts.get(bot_key) is ctx:
                del self._contexts[bot_key]

    def _run(self, bot_key: str, call: str, *, wait_for_run: bool, on_table_call: TableCaller | None = None,
             http: HttpFetch | None = None) -> str:
        for _ in range(3):
            ctx = self._context(bot_key)
            with ctx.lock:
                if ctx.closed:  # evicted or discarded while we waited for the lock
                    continue
                try:
                    return self._run_locked(ctx, call.replace("{token}", json.dumps(ctx.token)), wait_for_run,
                                            on_table_call, http)
                except _Unusable as exc:
                    self._discard(bot_key, ctx)
                    raise exc.args[0] from None
        raise CodeError("exception", "the JavaScript sandbox is busy; try again")

    def _run_locked(self, ctx: _Context, call: str, wait_for_run: bool, on_table_call: TableCaller | None = None,
                    http: HttpFetch | None = None) -> str:
        deadline = time.monotonic() + self.timeout_ms / 1000
        turn_end = turn_deadline.get()
        by_turn = turn_end is not None and turn_end < deadline
        if by_turn:
            deadline = turn_end
        limit = self.memory_mb * 1024 * 1024
        try:
            first = ctx.racer.eval(call, timeout_sec=self._left(deadline), max_memory=limit)
            if not wait_for_run:
                return first
            # The code is an async function: its result lands after V8 drains the promise
            # jobs, so poll (each poll is itself queued behind those jobs and time-limited).
            pause = 0.0005
            while True:
                raw = ctx.racer.eval(f"{_HANDLE}.collect({json.dumps(ctx.token)})", timeout_sec=self._left(deadline))
                if raw.startswith('{"http"'):
                    # The code awaits HTTP requests: fetch them here, off V8 (which sits idle),
                    # each within what is left of the run's time, and hand the answers back.
                    for request in json.loads(raw)["http"]:
                        answer = _fetch(http, request, deadline)
                        ctx.racer.eval(f"{_HANDLE}.deliver({json.dumps(ctx.token)}, {int(request['id'])}, "
                                       f"{json.dumps(json.dumps(answer))})", timeout_sec=self._left(deadline))
                    pause = 0.0005
                    continue
                if raw.startswith("C"):
                    self._table_calls(ctx, raw[1:], on_table_call, deadline)
                    pause = 0.0005
                    continue
                if raw:
                    return raw
                if time.monotonic() >= deadline:
                    raise JSTimeoutException()
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 0.01)
        except JSTimeoutException:
            if ctx.racer.was_hard_memory_limit_reached():
                raise _Unusable(self._memory_error()) from None
            if by_turn:
                raise _Unusable(CodeError("budget", "the turn's time budget ran out while the code ran")) from None
            raise _Unusable(CodeError("timeout", f"the code did not finish within {self.timeout_ms} ms")) from None
        except JSOOMException:
            raise _Unusable(self._memory_error()) from None
        except JSEvalException as exc:
            if ctx.racer.was_hard_memory_limit_reached():
                raise _Unusable(self._memory_error()) from None
            # Our own calls do not throw; reaching here means the context is in a bad state.
            raise _Unusable(CodeError("exception", f"the JavaScript sandbox failed: {exc}")) from None

    def _table_calls(self, ctx: _Context, raw: str, on_table_call: TableCaller | None, deadline: float) -> None:
        """Do the table calls the code is waiting on, one after the other, and settle their
        promises. The time they take is the run's: past the deadline the run times out."""
        for request in json.loads(raw, parse_int=_js_int):
            if time.monotonic() >= deadline:
                raise JSTimeoutException()
            label = f"{request['binding']}.{request['method']}"
            try:
                if on_table_call is None:
                    raise TableCallRefused("tables are not available here")
                args = json.loads(request["args"], parse_int=_js_int)
                value = on_table_call(request["table"], request["method"], args, self._left(deadline))
                ok, payload = True, json.dumps(value, allow_nan=False, default=str)
            except TableCallRefused as exc:
                ok, payload = False, f"{label}: {exc}"
            except BaseException:
                ctx.racer.eval(f"{_HANDLE}.abandon({json.dumps(ctx.token)})", timeout_sec=1)
                raise
            if time.monotonic() >= deadline:
                raise JSTimeoutException()
            ctx.racer.eval(f"{_HANDLE}.answer({json.dumps(ctx.token)}, {int(request['id'])}, "
                           f"{json.dumps(ok)}, {json.dumps(payload)})", timeout_sec=self._left(deadline))

    def _memory_error(self) -> CodeError:
        return CodeError("memory", f"the code used more than {self.memory_mb} MB of memory")

    def _left(self, deadline: float) -> float:
        return max(0.001, deadline - time.monotonic())


# What the sandbox calls for each `axios` request of a run: (request, seconds left of the
# run) -> answer. The request is {"method", "url", "headers", "body" (str or None), "timeout"
# (ms or None)}; the answer {"status", "statusText", "headers", "text"} or {"error", "code"}.
# The engine passes one that checks the bot's allow-list and traces the call
# (runtime/engine/turn.py); the runtime's fetches through the outbound guard.
HttpFetch = Callable[[dict, float], dict]


def _fetch(http: HttpFetch | None, request: dict, deadline: float) -> dict:
    left = deadline - time.monotonic()
    if http is None:
        return {"error": "HTTP requests are not available here", "code": "ERR_NOT_AVAILABLE"}
    if left <= 0:
        return {"error": "the code's time limit ran out before the request was sent", "code": "ECONNABORTED"}
    try:
        return http(request, left)
    except Exception as exc:  # noqa: BLE001 - a broken host must fail the request, not the sandbox
        return {"error": f"the request failed: {type(exc).__name__}", "code": "ERR_NETWORK"}


def _js_int(text: str) -> int | float:
    # Every JavaScript number is a double: digits beyond 2**53 are a float's decimal form.
    value = int(text)
    return value if -(2**53) <= value <= 2**53 else float(text)


def _loads(raw: str) -> Any:
    return json.loads(raw, parse_int=_js_int)


def _scopes_json(scopes: dict[str, Any]) -> str:
    try:
        return json.dumps(scopes, allow_nan=False, separators=(",", ":"), default=_no_json)
    except ValueError as exc:
        raise CodeError("exception", f"a scope holds a value JavaScript cannot receive: {exc}") from None


def _no_json(value: Any) -> Any:
    if type(value).__name__ == "_Undefined":
        return None
    raise TypeError(f"{type(value).__name__} is not JSON")


@lru_cache(maxsize=4096)
def _bare_name_candidates(expression: str) -> list[str]:
    # Over-approximates: words inside strings or after a dot become unused parameters, which is
    # harmless; a missed name would be a ReferenceError instead of `workflow.<name>`.
    seen: dict[str, None] = {}
    for word in _WORD.findall(expression):
        if word not in _NOT_BINDABLE and word not in SCOPE_NAMES:
            seen[word] = None
    return list(seen)


_STACK_LINE = re.compile(r"eval at [^,]*, <anonymous>:(\d+):(\d+)\)")
_PARSE_LINE = re.compile(r"^<anonymous>:(\d+): (.*)$", re.MULTILINE)


def _exception_message(error: dict, *, line_offset: int | None) -> str:
    name, message = error.get("name") or "", error.get("message") or ""
    text = f"{name}: {message}" if name else message
    if line_offset is not None:
        match = _STACK_LINE.search(error.get("stack") or "")
        if match:
            line = int(match.group(1)) - line_offset
            if line >= 1:
                text += f" (line {line}, column {match.group(2)})"
    return text


# ---- the process-wide sandbox and syntax checks ---------------------------------------------
_default: JSSandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> JSSandbox:
    """The sandbox turns use unless given another. Creating it starts no V8 context."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = JSSandbox()
    return _default


def configure_default_sandbox(*, timeout_ms: int, memory_mb: int) -> None:
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = JSSandbox(timeout_ms=timeout_ms, memory_mb=memory_mb)


# ---- syntax checks: compile only, never run -------------------------------------------------
# `check` hands the source to V8's Function constructor as a string value: V8 parses it as a
# function body on its own (so a `})` cannot close anything outside it) and returns a function
# that is never called. Nothing of the checked source ever runs, so checks leave no state.
_CHECKER = r"""
const __check__ = (function () {
  'use strict';
  const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
  const FunctionCtor = Function;
  return function (source, names, expression) {
    try {
      if (expression) FunctionCtor(...names, '"use strict";\nreturn (\n' + source + '\n);');
      else new AsyncFunction(...names, '"use strict";\n' + source);
      return '';
    } catch (e) {
      return String(e && e.name) + ': ' + String(e && e.message);
    }
  };
})();
true
"""
# V8's words for a body that tries to close the function it is compiled into.
_BREAKOUT = ("Single function literal required", "Arg string terminates parameters early")
_BREAKOUT_MESSAGE = ("SyntaxError: the code closes the function it runs in (a '}' or ')' with no "
                     "opening '{' or '(' before it)")
_CHECK_MEMORY = 32 * 1024 * 1024
_checker: MiniRacer | None = None
_locator: MiniRacer | None = None
_check_lock = threading.Lock()


def _checker_racer() -> MiniRacer:
    global _checker
    if _checker is None:
        racer = _new_racer()
        racer.eval(_CHECKER)
        _checker = racer
    return _checker


def _drop(racer: MiniRacer | None) -> None:
    if racer is not None:
        _close_racer(racer)


def _compile_problem(source: str, *, expression: bool) -> str | None:
    """V8's SyntaxError for `source` compiled as a code card body (or an expression), or None."""
    global _checker
    call = f"__check__({json.dumps(source)}, {json.dumps(SCOPE_NAMES)}, {json.dumps(expression)})"
    with _check_lock:
        try:
            problem = _checker_racer().eval(call, timeout_sec=2, max_memory=_CHECK_MEMORY)
        except (JSTimeoutException, JSOOMException, JSEvalException):
            _drop(_checker)
            _checker = None
            return "the code is too large to check"
    return problem or None


def _error_line(source: str) -> int | None:
    """The line of a syntax error V8 already found in a code body.

    The Function constructor does not say where the error is; parsing the same text as a
    script does. The script starts with `throw`, so even when it parses (the body broke out
    of its function) none of it runs, and a context in which it parsed is thrown away, as
    its top-level declarations were made in it."""
    global _locator
    script = f"throw 0;\n(async function ({', '.join(SCOPE_NAMES)}) {{\n\"use strict\";\n{source}\n}})"
    with _check_lock:
        if _locator is None:
            _locator = _new_racer()
        try:
            _locator.eval(script, timeout_sec=2, max_memory=_CHECK_MEMORY)
        except JSParseException as exc:
            match = _PARSE_LINE.search(str(exc))
            if match:
                line = int(match.group(1)) - 3
                return min(max(line, 1), source.count("\n") + 1)
            return None
        except Exception:  # noqa: BLE001 - it parsed (and stopped at the throw) or hit a limit
            pass
        _drop(_locator)
        _locator = None
    return None


def _syntax_text(source: str, problem: str) -> str:
    """The message for a code body V8 would not compile: what is wrong and on which line."""
    if any(words in problem for words in _BREAKOUT):
        return _BREAKOUT_MESSAGE
    line = _error_line(source)
    return problem + (f" (line {line})" if line else "")


def syntax_error(source: str, *, expression: bool = False) -> str | None:
    """Why `source` is not valid JavaScript (an Execute Code body, or an expression), or None.

    Compiled only, never run, with the parameter names it runs with, in a V8 context of its
    own that no bot code runs in; so checking a bot file at import executes none of it."""
    problem = _compile_problem(source, expression=expression)
    if problem is None:
        return None
    if expression:
        return _BREAKOUT_MESSAGE if any(words in problem for words in _BREAKOUT) else problem
    return _syntax_text(source, problem)


@_before_threads_stop
def _close_checkers() -> None:
    global _checker, _locator
    with _check_lock:
        _drop(_checker)
        _drop(_locator)
        _checker = _locator = None
