"""Checking a bot file compiles its JavaScript and never runs it (issue 14, item 3)."""
import time

import pytest

from runtime.engine import BuildError, compile_bot
from runtime.engine.sandbox import CodeError, JSSandbox, syntax_error

from .chat import Chat, bot, card, main, node, text

BREAKOUT = "}); while (true) {} (async function () {"
CLOSES = "SyntaxError: the code closes the function it runs in"


@pytest.fixture(autouse=True)
def warm_checker():
    syntax_error("return 1")  # the checker's V8 context is made once per process; time the checks only


def problems_of(definition) -> dict[str, str]:
    with pytest.raises(BuildError) as info:
        compile_bot(definition)
    return {p.path: p.message for p in info.value.problems}


def test_a_card_that_breaks_out_of_its_wrapper_is_a_syntax_problem_of_that_card():
    started = time.perf_counter()
    problems = problems_of(bot(main(node("a", text("hi"), card("code", id="escape", code=BREAKOUT)), start_next="a")))
    # Had the loop run, the check would have waited for its one-second time limit.
    assert time.perf_counter() - started < 1.0
    assert list(problems) == ["$.flows[0].nodes[1].cards[1].code"]
    assert problems["$.flows[0].nodes[1].cards[1].code"].startswith(CLOSES)


def test_twenty_breakout_cards_are_all_reported_quickly():
    cards = [card("code", code=BREAKOUT.replace("true", f"{i} < {i + 1}")) for i in range(20)]
    started = time.perf_counter()
    problems = problems_of(bot(main(node("a", *cards), start_next="a")))
    elapsed = time.perf_counter() - started
    assert sorted(problems) == sorted(f"$.flows[0].nodes[1].cards[{i}].code" for i in range(20))
    assert all(message.startswith(CLOSES) for message in problems.values())
    assert elapsed < 2.0, f"20 cards took {elapsed:.2f} s; each running its loop would take a second"


@pytest.mark.parametrize("source", [
    BREAKOUT,
    "}); throw new Error('ran'); (async function () {",
    "}); const t0 = 1; (async function () {",
    "*/ while (true) {} /*",
    "}); while (true) {}",
])
def test_no_breakout_runs_and_each_is_reported_the_same_every_time(source):
    first = syntax_error(source)
    started = time.perf_counter()
    again = [syntax_error(source) for _ in range(3)]
    assert first and first.startswith("SyntaxError") and again == [first] * 3
    assert time.perf_counter() - started < 1.0


def test_expressions_cannot_break_out_either():
    assert syntax_error("1); }); while (true) {} (function () { return (1", expression=True).startswith(CLOSES)
    problems = problems_of(bot(main(node("a", card("expression", condition="x ); while (true) { } ( x", next="a")),
                                    start_next="a")))
    assert "unexpected `)`" in problems["$.flows[0].nodes[1].cards[0].condition"]


def test_the_same_declarations_in_many_cards_and_many_checks_are_valid():
    code = "const t0 = Date.now();\nlet n = 1;\nclass Thing {}\nfunction helper() { return t0 }\nworkflow.t = n"
    definition = bot(main(node("a", card("code", code=code), card("code", code=code), text("ok")), start_next="a"))
    for _ in range(3):
        compile_bot(definition)
    assert syntax_error(code) is None and syntax_error(code) is None
    assert Chat(definition).say("hi") == ["ok"]


def test_a_card_redeclaring_a_scope_name_is_reported_at_check_as_it_would_fail_at_run():
    assert syntax_error("let user = 1") == "SyntaxError: Identifier 'user' has already been declared (line 1)"


def test_modern_syntax_is_accepted():
    for source in ("return workflow?.a ?? 1", "const {a, ...rest} = workflow; return [...Object.keys(rest)]",
                   "workflow.n = 1_000n.toString(); for await (const x of []) {}",
                   "class A { #x = 1; static has(o) { return #x in o } } return A.has(new A())"):
        assert syntax_error(source) is None, source


def test_running_a_breakout_card_is_a_syntax_error_that_runs_nothing():
    box = JSSandbox(timeout_ms=1500)
    try:
        started = time.perf_counter()
        with pytest.raises(CodeError) as err:
            box.run_code("bot", BREAKOUT, {"workflow": {}}, writable=("workflow",))
        assert err.value.kind == "syntax" and err.value.message.startswith(CLOSES)
        assert time.perf_counter() - started < 1.0
        assert box.run_code("bot", "return 'alive'", {}, writable=()).value == "alive"
    finally:
        box.close()
