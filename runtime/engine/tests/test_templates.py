"""Templates: `{{ expression }}` and `@scope.path` in message text."""
import math
import time

import pytest

from runtime.engine.expressions import UNDEFINED, ExpressionError
from runtime.engine.sandbox import JSSandbox
from runtime.engine.templates import compile_template, js_to_text

SCOPES = {
    "workflow": {"size": "l", "count": 3, "price": 2.5, "order": {"id": 7, "items": ["a", "b"]}, "none": None},
    "session": {"lang": "fr"},
    "user": {"firstName": "Ann"},
    "bot": {"name": "Helper"},
    "env": {"REGION": "eu"},
    "event": {"payload": {"text": "hi"}},
    "turn": {"KnowledgeAgent": {"answer": "42"}},
    "conversation": {"topic": "billing"},
}


def render(text, sandbox=None):
    return compile_template(text).render(SCOPES, sandbox, "bot")


@pytest.mark.parametrize(("text", "expected"), [
    ("{{workflow.size}}", "l"),
    ("{{session.lang}}", "fr"),
    ("{{user.firstName}}", "Ann"),
    ("{{bot.name}}", "Helper"),
    ("{{env.REGION}}", "eu"),
    ("{{event.payload.text}}", "hi"),
    ("{{turn.KnowledgeAgent.answer}}", "42"),
    ("{{conversation.topic}}", "billing"),
    ("@workflow.size @session.lang @user.firstName @bot.name @env.REGION @event.payload.text "
     "@turn.KnowledgeAgent.answer @conversation.topic", "l fr Ann Helper eu hi 42 billing"),
])
def test_every_scope_renders(text, expected):
    assert render(text) == expected


def test_bare_names_mean_workflow_variables():
    assert render("Size {{ size }}, {{count}} items") == "Size l, 3 items"


def test_missing_and_null_values_render_empty():
    assert render("[{{missing}}][{{ workflow.none }}][@user.lastName][{{ user.nope?.deep }}]") == "[][][][]"


def test_objects_render_as_json_and_numbers_like_javascript():
    assert render("{{order}}") == '{"id":7,"items":["a","b"]}'
    assert render("{{ count / 2 }} {{ price * 2 }} {{ 0.1 + 0.2 }} {{ 1 / 0 }} {{ true }}") == "1.5 5 0.30000000000000004 Infinity true"


def test_emails_and_sentence_punctuation():
    assert render("Write to help@workflow.size or ann@user.firstName") == "Write to help@workflow.size or ann@user.firstName"
    assert render("Your size is @workflow.size.") == "Your size is l."
    assert render("Order @workflow.order.id, thanks!") == "Order 7, thanks!"
    assert render("@nobody.here and @ alone") == "@nobody.here and @ alone"


def test_plain_text_is_a_precompiled_literal():
    template = compile_template("Hello there, no markers.")
    assert template.is_literal and template.is_fast
    assert template.render({}, None, "bot") == "Hello there, no markers."


def test_value_keeps_the_type_of_a_single_expression():
    assert compile_template("{{ order.items }}").value(SCOPES, None, "bot") == ["a", "b"]
    assert compile_template("{{count}}").value(SCOPES, None, "bot") == 3
    assert compile_template("@workflow.order").value(SCOPES, None, "bot") == {"id": 7, "items": ["a", "b"]}
    assert compile_template("{{missing}}").value(SCOPES, None, "bot") is UNDEFINED
    assert compile_template("n={{count}}").value(SCOPES, None, "bot") == "n=3"


def test_unclosed_braces_are_an_error_that_quotes_the_text():
    with pytest.raises(ExpressionError, match=r"position 7 has no matching"):
        compile_template("Hello {{ user.firstName")
    with pytest.raises(ExpressionError, match=r"in `\{\{ size === \}\}`"):
        compile_template("x {{ size === }}")
    with pytest.raises(ExpressionError, match="empty"):
        compile_template("{{  }}")


def test_braces_inside_strings_do_not_end_the_expression():
    assert render("{{ size === 'l' ? '}}' : 'no' }}") == "}}"


def test_javascript_expressions_in_templates():
    sandbox = JSSandbox(timeout_ms=1000)
    try:
        template = compile_template("Items: {{ order.items.join(', ') }}")
        assert not template.is_fast
        assert template.render(SCOPES, sandbox, "bot") == "Items: a, b"
    finally:
        sandbox.close()


@pytest.mark.parametrize(("value", "text"), [
    (UNDEFINED, ""), (None, ""), (True, "true"), (False, "false"), (3, "3"), (3.0, "3"), (-0.0, "0"),
    (1e21, "1e+21"), (math.nan, "NaN"), ("x", "x"),
    ([1, None, UNDEFINED, math.nan, "é"], '[1,null,null,null,"é"]'),
    ({"b": 1, "2": 2, "a": UNDEFINED, "1": [1.5]}, '{"1":[1.5],"2":2,"b":1}'),
    ({"q": 'say "hi"\n'}, '{"q":"say \\"hi\\"\\n"}'),
])
def test_js_to_text(value, text):
    assert js_to_text(value) == text


def test_rendering_costs_microseconds():
    template = compile_template("Hi @user.firstName, your {{size}} order #{{ order.id }} is ready.")
    rounds = 5000
    started = time.perf_counter()
    for _ in range(rounds):
        template.render(SCOPES, None, "bot")
    print(f"template render: {(time.perf_counter() - started) / rounds * 1e6:.2f} µs")
