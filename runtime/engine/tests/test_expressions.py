"""Expressions: the Python fast path gives JavaScript's answers, proven against V8."""
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.engine.expressions import UNDEFINED, ExpressionError, compile_expression, js_number_to_string, js_truthy
from runtime.engine.sandbox import CodeError, JSSandbox

SCOPES = {
    "workflow": {"size": "l", "n": 3, "price": 19.99, "items": [1, "two", None], "obj": {"k": "v", "z": 0},
                 "empty": "", "zero": 0, "nothing": None},
    "user": {"name": "Ann", "age": 41},
    "event": {"payload": {"text": "hello"}},
    "env": {"REGION": "eu"},
    "session": {}, "bot": {"hits": 7}, "turn": {}, "conversation": {},
}


@pytest.fixture(scope="module")
def sandbox():
    box = JSSandbox(timeout_ms=1000)
    yield box
    box.close()


def fast(source):
    expression = compile_expression(source)
    assert expression.is_fast, source
    return expression.evaluate(SCOPES, None, "bot")


@pytest.mark.parametrize(("source", "expected"), [
    ("workflow.size === 'l'", True),
    ("size === 'l'", True),                      # bare name = workflow.size
    ("size !== 'l'", False),
    ("n + 1", 4),
    ("'n=' + n", "n=3"),
    ("n / 2", 1.5),
    ("n % 2", 1),
    ("-n", -3),
    ("price * 100", 1998.9999999999998),
    ("0.1 + 0.2", 0.30000000000000004),
    ("'3' * '4'", 12),
    ("'a' - 1", math.nan),
    ("items.length", 3),
    ("items[1]", "two"),
    ("items[5]", UNDEFINED),
    ("obj['k']", "v"),
    ("obj.missing?.deep", UNDEFINED),
    ("nothing?.a.b.c", UNDEFINED),
    ("user.name ?? 'guest'", "Ann"),
    ("nothing ?? 'fallback'", "fallback"),
    ("zero ?? 5", 0),
    ("zero || 5", 5),
    ("size && n", 3),
    ("empty && n", ""),
    ("!empty", True),
    ("n > 2 ? 'big' : 'small'", "big"),
    ("user.age >= 18 && user.age < 65", True),
    ("'10' < '9'", True),
    ("'10' < 9", False),
    ("items + ''", "1,two,"),
    ("obj + 1", "[object Object]1"),
    ("'x'.length", 1),
    ("'😀'.length", 2),
    ("typeof obj", "object"),
    ("typeof nothing", "object"),
    ("typeof missing", "undefined"),
    ("missing", UNDEFINED),
    ("null", None),
    ("undefined === missing", True),
    ("1 / 0", math.inf),
    ("env.REGION", "eu"),
    ("event.payload.text", "hello"),
    ("bot.hits + 1", 8),
    ("turn.KnowledgeAgent?.answer", UNDEFINED),
    ("'it\\'s' + \"\\u0041\\n\"", "it's\u0041\n"),
    ("(n + 1) * 2", 8),
])
def test_fast_path_values(source, expected):
    value = fast(source)
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(value, float) and math.isnan(value)
    else:
        assert value == expected and type(value) is type(expected) or (value is expected)


def test_reading_a_property_of_undefined_is_a_type_error():
    with pytest.raises(ExpressionError, match=r"TypeError: Cannot read properties of undefined \(reading 'deep'\)"):
        fast("workflow.missing.deep")
    with pytest.raises(ExpressionError, match=r"Cannot read properties of null \(reading '0'\)"):
        fast("nothing[0]")


@pytest.mark.parametrize("source", [
    "size == 'l'", "items.map(i => i * 2)", "`hi ${size}`", "/a/.test(size)", "Math.max(1, 2)", "[1, 2]",
    "{a: 1}.a", "n ** 2", "'a' in obj", "size.toUpperCase()", "new Date()",
])
def test_outside_the_subset_goes_to_v8(source, sandbox):
    expression = compile_expression(source)
    assert not expression.is_fast
    with pytest.raises(ExpressionError, match="needs JavaScript"):
        expression.evaluate(SCOPES, None, "bot")


def test_v8_path_sees_bare_names_and_scopes(sandbox):
    assert compile_expression("items.filter(i => i !== null).length + n").evaluate(SCOPES, sandbox, "b") == 5
    assert compile_expression("`${user.name}: ${size}`").evaluate(SCOPES, sandbox, "b") == "Ann: l"
    assert compile_expression("missing == null").evaluate(SCOPES, sandbox, "b") is True
    with pytest.raises(ExpressionError, match=r"Cannot read properties of undefined \(reading 'x'\)"):
        compile_expression("missing.x.toString()").evaluate(SCOPES, sandbox, "b")


def test_a_method_read_without_a_call_falls_back_to_v8_at_run_time(sandbox):
    expression = compile_expression("items.map")
    assert expression.is_fast
    assert expression.evaluate(SCOPES, sandbox, "b") is UNDEFINED  # a function has no JSON form
    with pytest.raises(ExpressionError, match="needs JavaScript"):
        expression.evaluate(SCOPES, None, "b")


@pytest.mark.parametrize(("source", "fragment"), [
    ("size ===", "unexpected end"),
    ("(size", "unexpected end"),
    ("'abc", "unterminated string"),
    ("a b", "position 3"),
    ("a ?? b || c", "position 8"),
    ("foo(1, 2", "never closed"),
    ("items]", "unexpected"),
    ("", "empty"),
    ("   ", "empty"),
])
def test_syntax_errors_name_the_position(source, fragment):
    with pytest.raises(ExpressionError, match=fragment) as err:
        compile_expression(source)
    assert err.value.kind == "syntax"


def test_truthiness():
    for falsy in (0, 0.0, -0.0, "", None, UNDEFINED, False, math.nan):
        assert js_truthy(falsy) is False
    for truthy in (1, -1, "0", " ", "false", [], {}, True, math.inf):
        assert js_truthy(truthy) is True


@pytest.mark.parametrize(("number", "text"), [
    (1.0, "1"), (-0.0, "0"), (1.5, "1.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
    (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (0.000001, "0.000001"), (123456789.125, "123456789.125"),
    (math.nan, "NaN"), (-math.inf, "-Infinity"), (2**60, "1152921504606847000"), (0.1 + 0.2, "0.30000000000000004"),
    (-1.25e-10, "-1.25e-10"), (5e-324, "5e-324"),
])
def test_number_formatting_matches_javascript(number, text):
    assert js_number_to_string(number) == text


def test_fast_evaluation_costs_microseconds():
    expression = compile_expression("workflow.size === 'l'")
    rounds = 20000
    started = time.perf_counter()
    for _ in range(rounds):
        expression.evaluate(SCOPES, None, "bot")
    print(f"fast expression: {(time.perf_counter() - started) / rounds * 1e6:.2f} µs")


# ---- the proof: random subset expressions, Python vs V8 ------------------------------------

_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 12), st.sampled_from([0.5, -2.25, 1e21, 1e-7, 0.1]),
    st.sampled_from(["", "a", "l", "10", "9", " 2 ", "0x1f", "abc", "Infinity", "é", "😀", "1e3", "-0"]),
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["x", "y", "length", "0"]), inner, max_size=3)),
    max_leaves=6,
)
_names = ["a", "b", "c", "workflow.a", "workflow.b", "user.name", "user.missing", "event.payload", "bot.c"]
_literals = st.one_of(
    st.integers(0, 20).map(str), st.sampled_from(["1.5", "0.1", "1e21", ".5", "2e-7"]),
    st.sampled_from(["''", "'a'", "'10'", "'l'", '" 3 "', "'x'", "'\\n'", "'😀'"]),
    st.sampled_from(["true", "false", "null", "undefined", "NaN", "Infinity"]),
)
_primary = st.one_of(_literals, st.sampled_from(_names))


def _extend(inner):
    binary = st.sampled_from(["===", "!==", "<", "<=", ">", ">=", "&&", "||", "+", "-", "*", "/", "%"])
    return st.one_of(
        st.tuples(inner, binary, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} ?? {t[1]})"),
        st.tuples(st.sampled_from(["!", "-", "+", "typeof "]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(inner, st.sampled_from([".length", "?.x", ".x", "[0]", "?.[1]", "['y']", "?.length"]))
          .map(lambda t: f"({t[0]}){t[1]}"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]})[{t[1]}]"),
    )


_expressions = st.recursive(_primary, _extend, max_leaves=8)
_scopes = st.fixed_dictionaries({
    "workflow": st.fixed_dictionaries({"a": _json, "b": _json, "c": _json}),
    "user": st.fixed_dictionaries({"name": _json}),
    "event": st.fixed_dictionaries({"payload": _json}),
    "bot": st.fixed_dictionaries({"c": _json}),
})


def _same(python, v8):
    if python is UNDEFINED or v8 is UNDEFINED:
        return python is v8
    if isinstance(python, bool) or isinstance(v8, bool):
        return python is v8
    if isinstance(python, (int, float)) and isinstance(v8, (int, float)):
        if math.isnan(python) or math.isnan(v8):
            return math.isnan(python) and math.isnan(v8)
        return python == v8
    return python == v8  # strings, null, and JSON copies of objects


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(source=_expressions, scopes=_scopes)
def test_fast_path_equals_v8(sandbox, source, scopes):
    expression = compile_expression(source)
    assert expression.is_fast, source
    try:
        python = expression.evaluate(scopes, None, "bot")
    except ExpressionError as exc:
        if "needs JavaScript" in exc.message:
            return  # the fast path declined; nothing to compare
        with pytest.raises(CodeError) as v8_error:
            sandbox.evaluate("proof", source, scopes)
        assert exc.message == v8_error.value.message, source
        return
    v8 = sandbox.evaluate("proof", source, scopes)
    assert _same(python, v8), f"{source} with {scopes}: python {python!r} != v8 {v8!r}"
