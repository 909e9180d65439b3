"""JavaScript expressions: a subset evaluated in Python with JavaScript's exact semantics,
everything else sent to the V8 sandbox.

The subset: number/string/boolean/null/undefined literals, names, `.name`, `[key]`, `?.`,
`=== !== < <= > >=`, `&& || ??`, `! - + typeof`, `+ - * / %`, `? :` and parentheses.
A bare name means `workflow.<name>`. The few results Python cannot give exactly (a method
read without calling it, like `workflow.items.map`) are handed to V8 at run time.

Values: Python None is JS null, `UNDEFINED` is JS undefined, dict/list are objects/arrays.
"""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Callable

from .sandbox import SCOPE_NAMES, CodeError

if TYPE_CHECKING:
    from .sandbox import JSSandbox


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED = _Undefined()


class ExpressionError(Exception):
    def __init__(self, message: str, *, kind: str = "exception"):
        super().__init__(message)
        self.message = message
        self.kind = kind

    def __str__(self) -> str:
        return self.message


class _NeedsJS(Exception):
    """Raised while evaluating when only V8 can give the exact answer."""


class _NotFast(Exception):
    """Raised while parsing when the expression is valid-looking JS outside the subset."""


# ---- JavaScript value semantics ------------------------------------------------------------

_OBJECT_PROTO = frozenset(
    "constructor __defineGetter__ __defineSetter__ hasOwnProperty __lookupGetter__ __lookupSetter__ "
    "isPrototypeOf propertyIsEnumerable toString valueOf __proto__ toLocaleString".split()
)
_ARRAY_PROTO = _OBJECT_PROTO | frozenset(
    "at concat copyWithin fill find findIndex findLast findLastIndex lastIndexOf pop push reverse shift "
    "unshift slice sort splice includes indexOf join keys entries values forEach filter flat flatMap map "
    "every some reduce reduceRight toReversed toSorted toSpliced with".split()
)
_STRING_PROTO = _OBJECT_PROTO | frozenset(
    "anchor at big blink bold charAt charCodeAt codePointAt concat endsWith fontcolor fontsize fixed "
    "includes indexOf isWellFormed italics lastIndexOf link localeCompare match matchAll normalize padEnd "
    "padStart repeat replace replaceAll search slice small split strike sub substr substring sup "
    "startsWith toWellFormed trim trimStart trimLeft trimEnd trimRight toLocaleLowerCase "
    "toLocaleUpperCase toLowerCase toUpperCase".split()
)
_NUMBER_PROTO = _OBJECT_PROTO | frozenset("toExponential toFixed toPrecision".split())
# Own properties of V8's global object (plus what the sandbox adds): a bare name that is one of
# these means the global, not a workflow variable, in both paths.
JS_GLOBAL_NAMES = _OBJECT_PROTO | frozenset(
    """Object Function Array Number parseFloat parseInt Infinity NaN undefined Boolean String Symbol
    Date Promise RegExp Error AggregateError EvalError RangeError ReferenceError SyntaxError TypeError
    URIError globalThis JSON Math Intl ArrayBuffer Atomics Uint8Array Int8Array Uint16Array Int16Array
    Uint32Array Int32Array BigUint64Array BigInt64Array Uint8ClampedArray Float32Array Float64Array
    DataView Map BigInt Set Iterator WeakMap WeakSet Proxy Reflect FinalizationRegistry WeakRef
    decodeURI decodeURIComponent encodeURI encodeURIComponent escape unescape eval isFinite isNaN
    console Temporal SuppressedError DisposableStack AsyncDisposableStack Float16Array
    SharedArrayBuffer WebAssembly __timer_manager setTimeout clearTimeout __flowstudio__""".split()
)
_RESERVED = frozenset(
    """break case catch class const continue debugger default delete do else enum export extends
    finally for function if import in instanceof new return super switch this throw try var void
    while with yield let static implements interface package private protected public await
    arguments async""".split()
)
_MAX_SAFE = 2**53


def js_truthy(value: Any) -> bool:
    if value is UNDEFINED or value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, (int, float)):
        return value == value and value != 0
    if isinstance(value, str):
        return value != ""
    return True


def _nullish(value: Any) -> bool:
    return value is None or value is UNDEFINED


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def js_number_to_string(x: float | int) -> str:
    """Number::toString: shortest round-trip digits, exponent outside [1e-7, 1e21)."""
    if isinstance(x, int) and not isinstance(x, bool) and -_MAX_SAFE <= x <= _MAX_SAFE:
        return str(x)
    x = float(x)
    if x != x:
        return "NaN"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x < 0:
        return "-" + js_number_to_string(-x)
    mantissa, _, exp = repr(x).partition("e")
    whole, _, frac = mantissa.partition(".")
    raw = whole + frac
    stripped = raw.lstrip("0")
    n = len(whole) + (int(exp) if exp else 0) - (len(raw) - len(stripped))
    s = stripped.rstrip("0")
    k = len(s)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + s
    e = n - 1
    sign = "+" if e >= 0 else "-"
    return (s if k == 1 else s[0] + "." + s[1:]) + "e" + sign + str(abs(e))


_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\Z")
_RADIX = re.compile(r"0(?:([xX])[0-9a-fA-F]+|([oO])[0-7]+|([bB])[01]+)\Z")


def _string_to_number(s: str) -> float:
    s = s.strip(_JS_SPACE)
    if not s:
        return 0.0
    if _DECIMAL.match(s):
        return float(s)
    m = _RADIX.match(s)
    if m:
        base = 16 if m.group(1) else 8 if m.group(2) else 2
        return float(int(s[2:], base))
    return math.nan


def _to_primitive(v: Any) -> Any:
    if isinstance(v, list):
        return _array_join(v)
    if isinstance(v, dict):
        return "[object Object]"
    return v


def _to_number(v: Any) -> float:
    if _is_number(v):
        return float(v)
    if isinstance(v, str):
        return _string_to_number(v)
    if v is True:
        return 1.0
    if v is False or v is None:
        return 0.0
    if v is UNDEFINED:
        return math.nan
    return _to_number(_to_primitive(v))


def _to_string(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if v is UNDEFINED:
        return "undefined"
    if _is_number(v):
        return js_number_to_string(v)
    return _to_primitive(v)


def _array_join(items: list) -> str:
    return ",".join("" if _nullish(x) else _to_string(x) for x in items)


def _num(x: float) -> float | int:
    """Integral results as int, so Python callers see 3 rather than 3.0."""
    if x == x and not math.isinf(x) and x.is_integer() and abs(x) <= _MAX_SAFE and (x != 0 or math.copysign(1, x) > 0):
        return int(x)
    return x


def _utf16_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-16-le")) // 2


def _js_type(v: Any) -> str:
    if v is UNDEFINED:
        return "undefined"
    if v is None:
        return "null"
    if v is True or v is False:
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "object"


def _strict_equals(a: Any, b: Any) -> bool:
    ta = _js_type(a)
    if ta != _js_type(b):
        return False
    if ta == "number":
        return float(a) == float(b)
    if ta == "object":
        return a is b
    return a == b


def _less_than(a: Any, b: Any) -> bool | None:
    """Abstract relational comparison: None means undefined (a NaN was involved)."""
    pa, pb = _to_primitive(a), _to_primitive(b)
    if isinstance(pa, str) and isinstance(pb, str):
        if pa.isascii() and pb.isascii():
            return pa < pb
        return pa.encode("utf-16-be", "surrogatepass") < pb.encode("utf-16-be", "surrogatepass")
    na, nb = _to_number(pa), _to_number(pb)
    if na != na or nb != nb:
        return None
    return na < nb


def _greater_than(a: Any, b: Any) -> bool:
    return _less_than(b, a) is True


def _less_or_equal(a: Any, b: Any) -> bool:
    return _less_than(b, a) is False


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    pa, pb = _to_primitive(a), _to_primitive(b)
    if isinstance(pa, str) or isinstance(pb, str):
        return _to_string(pa) + _to_string(pb)
    return _num(_to_number(pa) + _to_number(pb))


def _divide(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


def _modulo(a: float, b: float) -> float:
    if a != a or b != b or b == 0 or math.isinf(a):
        return math.nan
    if math.isinf(b):
        return a
    return math.fmod(a, b)


def _canonical_index(key: str) -> int | None:
    if key.isdigit() and key.isascii() and (key == "0" or key[0] != "0"):
        n = int(key)
        if n < 2**32 - 1:
            return n
    return None


def _property_key(v: Any) -> str:
    return v if isinstance(v, str) else _to_string(_to_primitive(v))


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        value = obj.get(key, UNDEFINED)
        if value is UNDEFINED and key in _OBJECT_PROTO and key not in obj:
            raise _NeedsJS
        return value
    if isinstance(obj, list):
        if key == "length":
            return len(obj)
        index = _canonical_index(key)
        if index is not None:
            return obj[index] if index < len(obj) else UNDEFINED
        if key in _ARRAY_PROTO:
            raise _NeedsJS
        return UNDEFINED
    if isinstance(obj, str):
        if key == "length":
            return _utf16_len(obj)
        index = _canonical_index(key)
        if index is not None:
            if _utf16_len(obj) != len(obj):
                raise _NeedsJS
            return obj[index] if index < len(obj) else UNDEFINED
        if key in _STRING_PROTO:
            raise _NeedsJS
        return UNDEFINED
    if obj is UNDEFINED or obj is None:
        raise ExpressionError(
            f"TypeError: Cannot read properties of {'undefined' if obj is UNDEFINED else 'null'} (reading '{key}')"
        )
    if obj is True or obj is False:
        if key in _OBJECT_PROTO:
            raise _NeedsJS
        return UNDEFINED
    if isinstance(obj, (int, float)):
        if key in _NUMBER_PROTO:
            raise _NeedsJS
        return UNDEFINED
    raise _NeedsJS


# ---- tokenizer -----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
    |(?P<string>'(?:[^'\\\n\r]|\\.|\\\r\n)*'|"(?:[^"\\\n\r]|\\.|\\\r\n)*")
    |(?P<punct>\?\.(?!\d)|===|!==|==|!=|<=|>=|&&|\|\||\?\?|\*\*|\+\+|--|>>>?|<<|=>|[<>!+\-*/%?:()\[\].])
    """,
    re.VERBOSE | re.DOTALL,
)
_FAST_PUNCT = frozenset("?. === !== <= >= && || ?? < > ! + - * / % ? : ( ) [ ] .".split())
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"'}
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|.)", re.DOTALL)


def _unescape(body: str) -> str:
    def replace(m: re.Match) -> str:
        e = m.group(1)
        if e in _ESCAPES:
            return _ESCAPES[e]
        if e in ("\n", "\r", "\r\n", "\u2028", "\u2029"):
            return ""
        if e[0] in "ux" and len(e) > 1:
            code = int(e[2:-1] if e.startswith("u{") else e[1:], 16)
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise _NotFast
            return chr(code)
        if e == "0" and not body[m.end(): m.end() + 1].isdigit():
            return "\0"
        if e.isdigit() or e in "ux":
            raise _NotFast  # octal escapes (a strict-mode error) and malformed \u are V8's to report
        return e

    return _ESCAPE.sub(replace, body)


def _tokenize(source: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            ch = source[pos]
            if ch in "'\"":
                raise ExpressionError(f"unterminated string starting at position {pos + 1} in `{source}`", kind="syntax")
            raise _NotFast
        kind = m.lastgroup
        text = m.group()
        if kind == "number":
            after = source[m.end(): m.end() + 1]
            if (len(text) > 1 and text[0] == "0" and text[1].isdigit()) or (after and (after.isalnum() or after in "_$")):
                raise _NotFast
            tokens.append(("num", _num(float(text)), pos))
        elif kind == "name":
            tokens.append(("name", text, pos))
        elif kind == "string":
            tokens.append(("str", _unescape(text[1:-1]), pos))
        elif kind == "punct":
            if text not in _FAST_PUNCT:
                raise _NotFast
            tokens.append(("op", text, pos))
        pos = m.end()
    tokens.append(("end", None, len(source)))
    return tokens


def _check_balance(source: str) -> None:
    """Catch the obvious syntax errors of expressions outside the subset at build time."""
    if "`" in source or "/" in source:
        return  # template literals and regexes make a quick scan unreliable
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    pos = 0
    while pos < len(source):
        ch = source[pos]
        if ch in "'\"":
            m = re.compile(ch + r"(?:[^" + ch + r"\\\n\r]|\\.)*" + ch, re.DOTALL).match(source, pos)
            if m is None:
                raise ExpressionError(f"unterminated string starting at position {pos + 1} in `{source}`", kind="syntax")
            pos = m.end()
            continue
        if ch in "([{":
            stack.append((ch, pos))
        elif ch in ")]}":
            if not stack or stack[-1][0] != closing[ch]:
                raise ExpressionError(f"unexpected `{ch}` at position {pos + 1} in `{source}`", kind="syntax")
            stack.pop()
        pos += 1
    if stack:
        ch, at = stack[-1]
        raise ExpressionError(f"`{ch}` at position {at + 1} is never closed in `{source}`", kind="syntax")


# ---- parser: tokens -> Python closures ----------------------------------------------------

Fn = Callable[[dict], Any]


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = _tokenize(source)
        self.i = 0

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.i]

    def at(self, op: str) -> bool:
        kind, value, _ = self.tokens[self.i]
        return kind == "op" and value == op

    def take(self) -> tuple[str, Any, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, op: str) -> None:
        if not self.at(op):
            self.fail()
        self.i += 1

    def fail(self) -> None:
        kind, value, pos = self.peek()
        if kind == "end":
            raise ExpressionError(f"unexpected end of expression in `{self.source}`", kind="syntax")
        if kind == "name" and value in _RESERVED:
            raise _NotFast  # `in`, `instanceof`, `new`...: valid JavaScript outside the subset
        shown = self.source[pos: pos + 12]
        raise ExpressionError(f"unexpected `{shown}` at position {pos + 1} in `{self.source}`", kind="syntax")

    def parse(self) -> Fn:
        if self.peek()[0] == "end":
            raise ExpressionError("empty expression", kind="syntax")
        fn = self.conditional()
        if self.peek()[0] != "end":
            if self.at("("):
                raise _NotFast
            self.fail()
        return fn

    def conditional(self) -> Fn:
        test = self.logical()
        if not self.at("?"):
            return test
        self.take()
        yes = self.conditional()
        self.expect(":")
        no = self.conditional()
        return lambda s: yes(s) if js_truthy(test(s)) else no(s)

    def logical(self) -> Fn:
        left = self.equality()
        if self.at("??"):
            while self.at("??"):
                self.take()
                left = _coalesce(left, self.equality())
            if self.at("||") or self.at("&&"):
                self.fail()  # JavaScript forbids mixing ?? with || or && without parentheses
            return left
        left = self.and_rest(left)
        while self.at("||"):
            self.take()
            left = _or(left, self.and_rest(self.equality()))
        if self.at("??"):
            self.fail()
        return left

    def and_rest(self, left: Fn) -> Fn:
        while self.at("&&"):
            self.take()
            left = _and(left, self.equality())
        return left

    def equality(self) -> Fn:
        left = self.relational()
        while self.peek()[0] == "op" and self.peek()[1] in ("===", "!==", "==", "!="):
            op = self.take()[1]
            if op in ("==", "!="):
                raise _NotFast
            left = _binary(op, left, self.relational())
        return left

    def relational(self) -> Fn:
        left = self.additive()
        while True:
            kind, value, _ = self.peek()
            if kind == "op" and value in ("<", "<=", ">", ">="):
                self.take()
                left = _binary(value, left, self.additive())
            elif kind == "name" and value in ("in", "instanceof"):
                raise _NotFast
            else:
                return left

    def additive(self) -> Fn:
        left = self.multiplicative()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            left = _binary(self.take()[1], left, self.multiplicative())
        return left

    def multiplicative(self) -> Fn:
        left = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "%"):
            left = _binary(self.take()[1], left, self.unary())
        return left

    def unary(self) -> Fn:
        kind, value, _ = self.peek()
        if kind == "op" and value in ("!", "-", "+"):
            self.take()
            operand = self.unary()
            if value == "!":
                return lambda s: not js_truthy(operand(s))
            if value == "-":
                return lambda s: _num(-_to_number(operand(s)))
            return lambda s: _num(_to_number(operand(s)))
        if kind == "name" and value == "typeof":
            self.take()
            operand = self.unary()
            return lambda s: _typeof(operand(s))
        if kind == "name" and value in ("void", "delete", "await"):
            raise _NotFast
        return self.member()

    def member(self) -> Fn:
        base = self.primary()
        links: list[tuple[bool, str | None, Fn | None]] = []  # (optional, static key, computed key)
        while True:
            if self.at(".") or self.at("?."):
                optional = self.take()[1] == "?."
                kind, value, _ = self.peek()
                if kind == "name":
                    self.take()
                    links.append((optional, value, None))
                elif optional and self.at("["):
                    self.take()
                    key = self.conditional()
                    self.expect("]")
                    links.append((True, None, key))
                elif optional and self.at("("):
                    raise _NotFast
                else:
                    self.fail()
            elif self.at("["):
                self.take()
                key = self.conditional()
                self.expect("]")
                links.append((False, None, key))
            elif self.at("("):
                raise _NotFast  # a call
            else:
                return _chain(base, links) if links else base

    def primary(self) -> Fn:
        kind, value, _ = self.peek()
        if kind in ("num", "str"):
            self.take()
            return lambda s: value
        if kind == "name":
            if value in _RESERVED:
                raise _NotFast
            self.take()
            return _name(value)
        if self.at("("):
            self.take()
            inner = self.conditional()
            self.expect(")")
            return inner
        if self.at("[") or self.at("/"):
            raise _NotFast  # array literal, regex
        self.fail()
        raise AssertionError  # unreachable


def _typeof(v: Any) -> str:
    t = _js_type(v)
    return "object" if t == "null" else t


def _name(name: str) -> Fn:
    if name == "true":
        return lambda s: True
    if name == "false":
        return lambda s: False
    if name == "null":
        return lambda s: None
    if name == "undefined":
        return lambda s: UNDEFINED
    if name == "NaN":
        return lambda s: math.nan
    if name == "Infinity":
        return lambda s: math.inf
    if name in SCOPE_NAMES:
        return lambda s: s.get(name, UNDEFINED)
    if name in JS_GLOBAL_NAMES:
        raise _NotFast

    def bare(s: dict) -> Any:
        wf = s.get("workflow")
        return wf.get(name, UNDEFINED) if isinstance(wf, dict) else UNDEFINED

    return bare


def _chain(base: Fn, links: list[tuple[bool, str | None, Fn | None]]) -> Fn:
    if not any(optional or computed for optional, _, computed in links):
        keys = tuple(key for _, key, _ in links)

        def static_chain(s: dict) -> Any:
            v = base(s)
            for key in keys:
                v = _get(v, key)
            return v

        return static_chain
    frozen = tuple(links)

    def chain(s: dict) -> Any:
        v = base(s)
        for optional, key, computed in frozen:
            if optional and _nullish(v):
                return UNDEFINED
            if computed is None:
                v = _get(v, key)
                continue
            k = computed(s)
            if _nullish(v) and isinstance(k, (list, dict)):
                # V8 checks the object before converting an object key, so it names no key.
                raise ExpressionError(f"TypeError: Cannot read properties of {'null' if v is None else 'undefined'}")
            v = _get(v, _property_key(k))
        return v

    return chain


def _coalesce(left: Fn, right: Fn) -> Fn:
    def coalesce(s: dict) -> Any:
        v = left(s)
        return right(s) if _nullish(v) else v

    return coalesce


def _or(left: Fn, right: Fn) -> Fn:
    def either(s: dict) -> Any:
        v = left(s)
        return v if js_truthy(v) else right(s)

    return either


def _and(left: Fn, right: Fn) -> Fn:
    def both(s: dict) -> Any:
        v = left(s)
        return right(s) if js_truthy(v) else v

    return both


def _binary(op: str, left: Fn, right: Fn) -> Fn:
    if op == "===":
        return lambda s: _strict_equals(left(s), right(s))
    if op == "!==":
        return lambda s: not _strict_equals(left(s), right(s))
    if op == "<":
        return lambda s: _less_than(left(s), right(s)) is True
    # Operands are evaluated left to right before the comparison swaps them, as in JS.
    if op == ">":
        return lambda s: _greater_than(left(s), right(s))
    if op == "<=":
        return lambda s: _less_or_equal(left(s), right(s))
    if op == ">=":
        return lambda s: _less_than(left(s), right(s)) is False
    if op == "+":
        return lambda s: _add(left(s), right(s))
    if op == "-":
        return lambda s: _num(_to_number(left(s)) - _to_number(right(s)))
    if op == "*":
        return lambda s: _num(_to_number(left(s)) * _to_number(right(s)))
    if op == "/":
        return lambda s: _num(_divide(_to_number(left(s)), _to_number(right(s))))
    if op == "%":
        return lambda s: _num(_modulo(_to_number(left(s)), _to_number(right(s))))
    raise AssertionError(op)


# ---- public API ----------------------------------------------------------------------------


class Expression:
    __slots__ = ("source", "is_fast", "_fast")

    def __init__(self, source: str, fast: Fn | None):
        self.source = source
        self.is_fast = fast is not None
        self._fast = fast

    def __repr__(self) -> str:
        return f"Expression({self.source!r}, fast={self.is_fast})"

    def evaluate(self, scopes: dict, sandbox: JSSandbox | None, bot_key: str) -> Any:
        if self._fast is not None:
            try:
                return self._fast(scopes)
            except _NeedsJS:
                pass
            except RecursionError:
                raise ExpressionError(f"`{self.source}` is nested too deeply") from None
        if sandbox is None:
            raise ExpressionError(f"`{self.source}` needs JavaScript, but no sandbox was given")
        try:
            return sandbox.evaluate(bot_key, self.source, scopes)
        except CodeError as exc:
            raise ExpressionError(exc.message, kind=exc.kind) from None


def compile_expression(source: str) -> Expression:
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, not {type(source).__name__}", kind="syntax")
    try:
        return Expression(source, _Parser(source).parse())
    except _NotFast:
        _check_balance(source)
        if not source.strip():
            raise ExpressionError("empty expression", kind="syntax") from None
        return Expression(source, None)
    except RecursionError:
        raise ExpressionError(f"`{source[:40]}` is nested too deeply", kind="syntax") from None
