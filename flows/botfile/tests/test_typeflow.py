"""Type flow: what cards write against what is declared and read, loops, inputs, reachability."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from flows.botfile.tests.bots import base_bot
from flows.botfile.typeflow import PatchFailed, apply_patch, check
from flows.botfile.validate import validate_bot

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.bot.json"))


def person_bot(declared: str | None = "string", reply: str = "Nice to meet you, {{user.name}}!") -> dict:
    variables = [{"scope": "user", "name": "name", "type": declared}] if declared else []
    return {
        "format": "flowstudio.bot/1",
        "name": "Greeter",
        "variables": variables,
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "ask"},
            {"id": "ask", "kind": "standard", "cards": [
                {"id": "ask-name", "type": "capture", "capture": "person", "variable": "user.name",
                 "prompt": "What is your name?"},
                {"id": "greet", "type": "text", "text": reply},
            ], "next": "end"},
            {"id": "end", "kind": "end"},
        ]}],
    }


def messages(problems) -> dict[str, str]:
    return {p.path: p.message for p in problems}


def flow_bot(nodes: list[dict], *, variables=None, extra_flows=()) -> dict:
    return {"format": "flowstudio.bot/1", "name": "B", "variables": variables or [],
            "flows": [{"name": "main", "nodes": nodes}, *extra_flows]}


# ---- type mismatches: errors with fixes -----------------------------------------------------

def test_a_person_capture_into_a_string_variable_is_an_error_on_the_card():
    report = check(person_bot())
    [error] = report.errors
    assert error.path == "$.flows[0].nodes[1].cards[0].variable"
    assert error.message == ('a Person capture stores an object {first, last}, but user.name is declared string '
                             '("expected string, got object"); the conversation would fail here')
    assert [fix["label"] for fix in error.fixes] == [
        "Declare user.name as object", "Declare user.name as object and read user.name.first where it is used"]


def test_declaring_the_variable_as_object_fixes_it():
    bot = person_bot()
    declare = check(bot).errors[0].fixes[0]
    fixed = apply_patch(bot, declare["patch"])
    assert fixed["variables"] == [{"scope": "user", "name": "name", "type": "object"}]
    assert check(fixed).errors == []
    assert validate_bot(fixed) == []


def test_reading_the_first_name_fix_rewrites_the_templates_that_print_the_whole_object():
    bot = person_bot(reply="Nice to meet you, {{user.name}}! (@user.name, {{ user.name.last }})")
    fixed = apply_patch(bot, check(bot).errors[0].fixes[1]["patch"])
    cards = fixed["flows"][0]["nodes"][1]["cards"]
    assert cards[1]["text"] == "Nice to meet you, {{user.name.first}}! (@user.name.first, {{ user.name.last }})"
    assert cards[0]["variable"] == "user.name"  # where it is stored does not change
    assert check(fixed).errors == [] and check(fixed).warnings == []


def test_a_fix_is_refused_once_the_file_changed_under_it():
    bot = person_bot()
    patch = check(bot).errors[0].fixes[0]["patch"]
    bot["variables"][0]["type"] = "number"
    with pytest.raises(PatchFailed):
        apply_patch(bot, patch)


def test_a_declaration_whose_extra_keys_do_not_fit_the_new_type_loses_them():
    bot = person_bot(declared="enum")
    bot["variables"][0].update(values=["a"], default="a")
    fixed = apply_patch(bot, check(bot).errors[0].fixes[0]["patch"])
    assert fixed["variables"][0] == {"scope": "user", "name": "name", "type": "object"}


@pytest.mark.parametrize(("capture", "declared", "fits"), [
    ("person", "object", True), ("number", "number", True), ("number", "string", False),
    ("email", "string", True), ("email", "date", False), ("datetime", "date", True), ("datetime", "string", True),
    ("raw", "date", True), ("boolean", "boolean", True), ("confirmation", "string", False),
    ("address", "object", True), ("address", "string", False), ("price", "number", False),
    ("people_count", "number", True), ("color", "array", False), ("phone", "pattern", True),
])
def test_each_capture_type_writes_its_own_type(capture, declared, fits):
    bot = person_bot(declared=declared)
    bot["flows"][0]["nodes"][1]["cards"][0]["capture"] = capture
    bot["flows"][0]["nodes"][1]["cards"][1]["text"] = "Thanks"
    if declared == "pattern":
        bot["variables"][0]["pattern"] = r"\+\d+"
    assert (check(bot).errors == []) is fits


def test_choice_values_decide_what_a_single_choice_capture_writes():
    bot = person_bot(declared="number")
    card = bot["flows"][0]["nodes"][1]["cards"][0]
    card.update(capture="single_choice", choices=[{"label": "One", "value": 1}, {"label": "Two", "value": 2}])
    assert check(bot).errors == []
    card["choices"] = ["One", "Two"]
    assert "stores text, but user.name is declared number" in check(bot).errors[0].message


def test_an_undeclared_variable_takes_anything():
    assert check(person_bot(declared=None)).errors == []


def test_a_schema_variable_is_held_to_its_schema():
    bot = person_bot(declared="schema")
    bot["variables"][0]["schema"] = "Contact"
    bot["schemas"] = [{"name": "Contact", "schema": {"type": "object", "required": ["email"],
                                                     "properties": {"email": {"type": "string"}}}}]
    [error] = check(bot).errors
    assert "with schema 'Contact', which requires email" in error.message


def test_ai_generate_text_writes_text_and_ai_task_outputs_take_their_declared_types():
    bot = person_bot(declared="number")
    node = bot["flows"][0]["nodes"][1]
    node["cards"] = [{"id": "gen", "type": "ai_generate_text", "prompt": "Say hi", "variable": "user.name"},
                     {"id": "task", "type": "ai_task", "instructions": "Count", "outputs": [{"variable": "user.name"}]}]
    [error] = check(bot).errors
    assert error.path == "$.flows[0].nodes[1].cards[0].variable"
    assert "an AI Generate Text card stores text" in error.message
    # two cards write different types: no single declaration pleases both, so no "declare" fix
    assert error.fixes == ()


def test_code_writes_are_unknown_and_never_a_mismatch():
    bot = person_bot()
    bot["flows"][0]["nodes"][1]["cards"][0] = {"id": "c", "type": "code", "code": "user.name = {first: 'a'}"}
    assert check(bot).errors == []


def test_type_mismatches_are_not_part_of_the_bot_file_validator():
    # a file with one imports and saves; only publishing (and the problems panel) refuse it
    assert validate_bot(person_bot()) == []


# ---- missing inputs: errors -----------------------------------------------------------------

def test_a_flow_called_without_an_input_it_needs_is_an_error():
    bot = base_bot()
    bot["flows"][0]["nodes"][1]["cards"][2]["inputs"] = {}
    assert messages(check(bot).errors) == {
        "$.flows[0].nodes[1].cards[2].inputs":
            "flow 'checkout' needs the input 'amount' (it has no default); give it a value here"}
    bot["flows"][1]["variables"][0]["default"] = 10
    assert check(bot).errors == []


def test_an_input_written_as_text_into_a_number_input_is_an_error_with_a_fix():
    bot = base_bot()
    bot["flows"][0]["nodes"][1]["cards"][2]["inputs"] = {"amount": "12"}
    [error] = check(bot).errors
    assert error.path == "$.flows[0].nodes[1].cards[2].inputs.amount"
    assert error.message == ("the input 'amount' is passed as text, but flow 'checkout' declares it number "
                             '("expected number, got string"); only {{ expression }} alone keeps its type; '
                             "the conversation would fail here")
    assert error.fixes[0]["label"] == "Pass 12 as a number: {{12}}"
    assert check(apply_patch(bot, error.fixes[0]["patch"])).errors == []
    for fine in ("{{ 12 }}", " {{workflow.total}} ", "{{ workflow.size === 'l' ? 18 : 12 }}"):
        bot["flows"][0]["nodes"][1]["cards"][2]["inputs"] = {"amount": fine}
        assert check(bot).errors == [], fine
    bot["flows"][0]["nodes"][1]["cards"][2]["inputs"] = {"amount": "{{workflow.total}} euros"}
    assert check(bot).errors[0].fixes == ()


def test_the_base_bot_has_no_type_flow_problem():
    assert check(base_bot()).errors == []


# ---- missing nodes: the validator's, held ---------------------------------------------------

def test_a_transition_to_a_missing_node_stays_a_validation_error():
    bot = person_bot(declared="object")
    bot["flows"][0]["nodes"][1]["next"] = "nowhere"
    assert ("$.flows[0].nodes[1].next", "no node 'nowhere' in flow 'main' (nodes: ask, end, start)") in \
        {(p.path, p.message) for p in validate_bot(bot)}


# ---- warnings -------------------------------------------------------------------------------

def test_an_unreachable_node_is_a_warning():
    bot = person_bot(declared="object", reply="Hi {{user.name.first}}")
    bot["flows"][0]["nodes"].append({"id": "lost", "kind": "standard", "name": "Lost", "cards": [], "next": "end"})
    assert messages(check(bot).warnings) == {"$.flows[0].nodes[3]": "node 'Lost' is never reached: no transition leads to it"}


def test_a_read_of_a_variable_nothing_writes_and_nobody_declared_is_a_warning():
    bot = person_bot(declared="object", reply="Hi {{user.name.first}}, your plan is {{user.plan}} {{session.cart}}")
    assert [(p.path, p.message) for p in check(bot).warnings] == [
        ("$.flows[0].nodes[1].cards[1].text",
         "user.plan is not declared and no card or code writes it; add it to the user variables"),
        ("$.flows[0].nodes[1].cards[1].text", "session.cart is read here but no card or code writes it"),
    ]


def test_a_variable_written_by_code_or_a_card_is_not_reported_as_never_written():
    bot = person_bot(declared="object", reply="{{session.cart}} {{user.plan}}")
    bot["flows"][0]["nodes"][1]["cards"].insert(0, {"id": "c", "type": "code", "code": "session.cart = []"})
    found = [p.message for p in check(bot).warnings]
    assert found == ["user.plan is not declared and no card or code writes it; add it to the user variables"]
    bot["flows"][0]["nodes"][1]["cards"][0]["code"] = "session.cart = []; Object.assign(user, {plan: 'x'})"
    assert [p.message for p in check(bot).warnings] == ["user.plan is not declared; add it to the user variables"]


@pytest.mark.parametrize("declared", ["object", None])
def test_a_template_showing_a_captured_person_whole_is_a_warning_with_a_fix(declared):
    bot = person_bot(declared=declared, reply="Nice to meet you, {{ user.name }}! @user.name. @user.name.first")
    [warning] = [p for p in check(bot).warnings if "shown whole" in p.message]
    assert warning.path == "$.flows[0].nodes[1].cards[1].text"
    assert warning.message == ("user.name holds what a Person capture stores, an object {first, last}: shown whole, "
                               "the message reads as JSON; show user.name.first?")
    assert warning.fixes[0]["label"] == "Show user.name.first"
    fixed = apply_patch(bot, warning.fixes[0]["patch"])
    assert fixed["flows"][0]["nodes"][1]["cards"][1]["text"] == \
        "Nice to meet you, {{ user.name.first }}! @user.name.first. @user.name.first"
    assert [p for p in check(fixed).warnings if "shown whole" in p.message] == []


def test_a_whole_object_passed_on_or_of_unknown_shape_is_not_a_warning():
    bot = person_bot(declared="object", reply="{{ JSON.stringify(user.name) }}")
    assert check(bot).warnings == []
    bot["flows"][0]["nodes"][1]["cards"][0]["capture"] = "email"
    bot["variables"][0]["type"] = "string"
    bot["flows"][0]["nodes"][1]["cards"][1]["text"] = "Mail: {{user.name}}"
    assert check(bot).warnings == []


def test_a_field_a_person_does_not_have_is_a_warning_with_a_fix():
    bot = person_bot(declared="object", reply="Hi {{user.name.frist}}!")
    [warning] = check(bot).warnings
    assert warning.path == "$.flows[0].nodes[1].cards[1].text"
    assert warning.message == ("user.name has no field 'frist': a Person capture gives it {first, last}; "
                               "did you mean user.name.first?")
    fixed = apply_patch(bot, warning.fixes[0]["patch"])
    assert fixed["flows"][0]["nodes"][1]["cards"][1]["text"] == "Hi {{user.name.first}}!"
    assert check(fixed).warnings == []


def test_a_field_a_declared_schema_does_not_have_is_a_warning():
    bot = person_bot(declared="schema", reply="{{user.name.cty}} {{user.name.city}}")
    bot["variables"][0]["schema"] = "Address"
    bot["schemas"] = [{"name": "Address", "schema": {"type": "object", "properties": {"city": {}, "zip": {}}}}]
    bot["flows"][0]["nodes"][1]["cards"][0]["capture"] = "address"
    assert [p.message for p in check(bot).warnings] == [
        "user.name has no field 'cty': schema 'Address' gives it {city, zip}; did you mean user.name.city?"]


def test_fields_of_a_called_flows_outputs_are_checked_and_code_may_add_fields():
    bot = base_bot()
    bot["flows"][0]["nodes"][2]["cards"][0]["text"] = "Paid: {{workflow.checkout.payd}}"
    def about_checkout():
        return [p.message for p in check(bot).warnings if "workflow.checkout" in p.message]

    assert about_checkout() == ["workflow.checkout has no field 'payd': the Workflow card calling 'checkout' gives it "
                                "{paid}; did you mean workflow.checkout.paid?"]
    bot["flows"][0]["nodes"][2]["cards"][0] = {"id": "bye", "type": "code", "code": "workflow.checkout.payd = 1"}
    assert about_checkout() == []


def wait_free_loop() -> list[dict]:
    return [
        {"id": "start", "kind": "start", "next": "a"},
        {"id": "a", "kind": "standard", "name": "Ping", "cards": [{"id": "t1", "type": "text", "text": "ping"}],
         "next": "b"},
        {"id": "b", "kind": "standard", "cards": [{"id": "t2", "type": "text", "text": "pong"},
                                                  {"id": "out", "type": "expression", "condition": "false",
                                                   "next": "end"}], "next": "a"},
        {"id": "end", "kind": "end"},
    ]


def test_a_loop_with_nothing_that_waits_for_the_user_is_a_warning():
    [warning] = check(flow_bot(wait_free_loop())).warnings
    assert warning.path == "$.flows[0].nodes[1]"
    assert warning.message.startswith("the nodes 'Ping' → 'b' → 'Ping' loop without waiting for the user")


@pytest.mark.parametrize("waiting", [
    {"id": "w", "type": "wait"},
    {"id": "w", "type": "capture", "capture": "raw", "variable": "workflow.x", "prompt": "?"},
    {"id": "w", "type": "call", "flow": "ask", "name": "asked"},
])
def test_a_loop_that_waits_somewhere_is_fine(waiting):
    nodes = wait_free_loop()
    nodes[2]["cards"].insert(0, waiting)
    asks = {"name": "ask", "nodes": [{"id": "entry", "kind": "entry", "next": "q"},
                                     {"id": "q", "kind": "standard", "cards": [{"id": "q1", "type": "wait"}],
                                      "next": "exit"}, {"id": "exit", "kind": "exit"}]}
    bot = flow_bot(nodes, extra_flows=[asks])
    assert [p for p in check(bot).warnings if "loop" in p.message] == []


def test_a_node_looping_on_itself_without_waiting_is_a_warning_and_with_a_wait_is_not():
    nodes = [{"id": "start", "kind": "start", "next": "a"},
             {"id": "a", "kind": "standard", "cards": [{"id": "t", "type": "text", "text": "x"}], "next": "a"}]
    assert check(flow_bot(nodes)).warnings[0].message.startswith(
        "the node 'a' leads back to itself without waiting for the user")
    nodes[1]["cards"].append({"id": "w", "type": "wait"})
    assert check(flow_bot(nodes)).warnings == []


def test_any_shape_is_tolerated():
    for doc in ([], None, {"flows": "x"}, {"flows": [None, {"nodes": "x"}, {"name": "main", "nodes": [1, {"id": "a"}]}]},
                {"variables": [1], "flows": [{"nodes": [{"id": "a", "cards": [{"type": "capture", "variable": 3}]}]}]}):
        check(doc)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_no_false_positives_on_the_examples(path):
    bot = json.loads(path.read_text())
    report = check(copy.deepcopy(bot))
    assert report.errors == [] and report.warnings == []
