"""Every rule of shared/spec/runtime-semantics.md, on small bots, with no database."""
import json

import pytest

from runtime.engine import STATE_LIMIT_BYTES, BuildError, compile_bot

from .chat import Chat, bot, card, flow, main, node, text

# ---- graph: cards in order, transitions, default next --------------------------------------------


def test_cards_run_top_to_bottom_then_default_next():
    chat = Chat(bot(main(
        node("a", text("one"), text("two"), next="b"),
        node("b", text("three")),
        start_next="a",
    )))
    assert chat.say("hi") == ["one", "two", "three"]
    assert chat.last.ended  # b has no transition: the dialog ends
    assert chat.state["frames"] == []


def test_first_transition_that_holds_fires_and_skips_the_rest():
    chat = Chat(bot(main(
        node("a",
             card("expression", condition="event.preview === 'left'", next="left"),
             card("expression", condition="event.preview.length > 0", next="right"),
             text("never reached when a transition fires"),
             next="fallback"),
        node("left", text("went left")),
        node("right", text("went right")),
        node("fallback", text("fallback")),
        start_next="a",
    )))
    assert chat.say("left") == ["went left"]
    assert chat.say("anything") == ["went right"]
    assert chat.say("") == ["never reached when a transition fires", "fallback"]


def test_unconnected_transition_card_is_skipped():
    chat = Chat(bot(main(node("a", card("expression", condition="true"), text("after"), next=None), start_next="a")))
    assert chat.say("x") == ["after"]


def test_node_without_next_ends_dialog_but_keeps_session():
    chat = Chat(bot(main(
        node("a", card("code", code="session.count = (session.count || 0) + 1; workflow.temp = 1"),
             text("count={{session.count}}")),
        start_next="a",
    )))
    assert chat.say("x") == ["count=1"]
    assert chat.say("x") == ["count=2"]  # session survives the dialog's end, workflow does not
    assert chat.state["frames"] == []


# ---- suspension ---------------------------------------------------------------------------


def test_node_suspends_mid_node_and_resumes_at_next_card_without_rerunning():
    chat = Chat(bot(main(
        node("a",
             card("code", code="session.runs = (session.runs || 0) + 1"),
             text("before wait"),
             card("wait", id="w1"),
             text("after wait: {{event.preview}} runs={{session.runs}}"),
             next="b"),
        node("b", text("in b")),
        start_next="a",
    )))
    assert chat.say("first") == ["before wait"]
    assert chat.last.waiting
    assert chat.state["waiting"] == "w1"
    assert chat.state["frames"][-1]["card"] == 2
    assert chat.say("second") == ["after wait: second runs=1", "in b"]
    assert not chat.last.waiting


def test_state_is_plain_json():
    chat = Chat(bot(main(node("a", text("x"), card("wait")), start_next="a")))
    chat.say("x")
    assert json.loads(json.dumps(chat.state)) == chat.state


# ---- flow calls ---------------------------------------------------------------------------


def _call_bot():
    return bot(
        main(
            node("ask",
                 card("call", id="call1", flow="double", name="doubler", inputs={"n": "{{ workflow.start }}"}),
                 text("result={{workflow.doubler.result}} type={{typeof workflow.doubler.result}}"),
                 next=None),
            start_next="ask",
            variables=[{"name": "start", "type": "number", "default": 21}],
        ),
        flow("double",
             node("entry", kind="entry", next="work"),
             node("work", card("code", code="workflow.result = workflow.n * 2; workflow.scratch = 'x'"),
                  text("in callee n={{n}} caller vars invisible: [{{workflow.start}}]"), next="exit"),
             node("exit", kind="exit"),
             variables=[{"name": "n", "type": "number", "input": True},
                        {"name": "result", "type": "number", "output": True},
                        {"name": "unused", "type": "string", "default": "d"}]),
    )


def test_flow_call_binds_inputs_and_returns_outputs_under_card_name():
    chat = Chat(_call_bot())
    assert chat.say("go") == ["in callee n=21 caller vars invisible: []", "result=42 type=number"]
    types = chat.trace_types()
    assert "entered_flow" in types and "exited_flow" in types


def test_callee_starts_with_fresh_defaults_each_call():
    chat = Chat(bot(
        main(node("a", card("call", flow="sub", name="s1"), card("call", flow="sub", name="s2"),
                  text("{{workflow.s1.out}} {{workflow.s2.out}}")), start_next="a"),
        flow("sub", node("entry", kind="entry", next="n"),
             node("n", card("code", code="workflow.counter = workflow.counter + 1; workflow.out = workflow.counter"),
                  next="exit"),
             node("exit", kind="exit"),
             variables=[{"name": "counter", "type": "number", "default": 0},
                        {"name": "out", "type": "number", "output": True}]),
    ))
    assert chat.say("x") == ["1 1"]


def test_suspension_inside_a_called_flow_resumes_there():
    chat = Chat(bot(
        main(node("a", card("call", flow="ask", name="asked"), text("got {{workflow.asked.answer}}")), start_next="a"),
        flow("ask", node("entry", kind="entry", next="q"),
             node("q", text("what?"), card("wait"), card("code", code="workflow.answer = event.preview"), next="exit"),
             node("exit", kind="exit"),
             variables=[{"name": "answer", "type": "string", "output": True}]),
    ))
    assert chat.say("hi") == ["what?"]
    assert [f["flow"] for f in chat.state["frames"]] == ["main", "ask"]
    assert chat.say("blue") == ["got blue"]


def test_call_depth_limit_is_an_error():
    # Recursion is refused by validation; the engine still guards depth for builds made by hand.
    flows = [main(node("a", card("call", flow="f0", name="c")), start_next="a")]
    for i in range(20):
        nxt = [card("call", flow=f"f{i + 1}", name="c")] if i < 19 else []
        flows.append(flow(f"f{i}", node("entry", kind="entry", next="n"), node("n", *nxt, next="exit"),
                          node("exit", kind="exit")))
    chat = Chat(bot(*flows))
    chat.say("x")
    assert "call depth limit (16)" in chat.last.error["message"]


# ---- loop guard, errors ---------------------------------------------------------------------


def test_loop_guard_stops_a_node_entered_too_often_in_one_turn():
    chat = Chat(bot(main(node("loop", text("again"), next="loop"), start_next="loop"),
                    settings={"nodeRepetitionLimit": 3}))
    out = chat.say("x")
    # The messages before the failure do not stand in for the fallback message.
    assert out == ["again"] * 3 + ["Sorry, something went wrong."]
    assert "node repetition limit" in chat.last.error["message"]
    assert chat.last.error["node"] == "loop"


def test_loop_guard_counts_per_turn_not_per_conversation():
    chat = Chat(bot(main(node("a", text("hi"), card("wait"), next="a"), start_next="a"),
                    settings={"nodeRepetitionLimit": 2}))
    for _ in range(5):
        assert chat.say("x") == ["hi"]
        assert chat.last.error is None


def test_error_runs_error_flow_with_event_error():
    chat = Chat(bot(
        main(node("a", text("before"), card("code", id="boom", code="throw new Error('kaput')"), text("never")),
             start_next="a"),
        flow("error", node("entry", kind="entry", next="e"),
             node("e", text("Sorry: {{event.error.message}} at {{event.error.node}}/{{event.error.card}}"))),
    ))
    out = chat.say("x")
    assert out[0] == "before"
    assert out[1].startswith("Sorry: ") and "kaput" in out[1] and out[1].endswith("at a/boom")
    assert "error" in chat.trace_types()
    assert any(log["level"] == "error" and "kaput" in log["message"] for log in chat.last.logs)


def test_error_without_error_flow_ends_dialog_and_keeps_previous_writes():
    chat = Chat(bot(main(
        node("a", card("code", code="session.ok = 1"), card("code", code="session.bad = 1; throw new Error('no')")),
        start_next="a",
    )))
    chat.say("x")
    assert chat.last.ended and chat.state["frames"] == []
    assert chat.state["session"] == {"ok": 1}  # the throwing card applied nothing


def test_error_inside_error_flow_does_not_loop():
    chat = Chat(bot(
        main(node("a", card("code", code="throw new Error('first')")), start_next="a"),
        flow("error", node("entry", kind="entry", next="e"), node("e", card("code", code="throw new Error('second')"))),
    ))
    chat.say("x")
    assert chat.last.ended and chat.state["frames"] == []
    assert [t["message"] for t in chat.last.trace if t["type"] == "error"][-1].startswith("code exception: Error: second")


def test_expression_error_routes_to_error_flow():
    chat = Chat(bot(
        main(node("a", card("expression", condition="workflow.missing.deep === 1", next="a")), start_next="a"),
        flow("error", node("entry", kind="entry", next="e"), node("e", text("handled"))),
    ))
    assert chat.say("x") == ["handled"]
    assert "missing" in chat.last.error["message"]


# ---- end node, timeout -------------------------------------------------------------------------


def test_end_node_runs_conversation_end_flow_then_clears_workflow_and_session_keeps_user():
    chat = Chat(bot(
        main(node("a", card("code", code="session.s = 1; user.name = 'Ada'; workflow.w = 1; bot.hits = 1"),
                  text("bye"), next="end"),
             node("end", kind="end"), start_next="a"),
        flow("conversation_end", node("entry", kind="entry", next="e"), node("e", text("session still {{session.s}}"))),
        variables=[{"scope": "user", "name": "name", "type": "string"}, {"scope": "bot", "name": "hits", "type": "number"}],
    ))
    assert chat.say("x") == ["bye", "session still 1"]
    assert chat.last.ended
    assert chat.state["frames"] == [] and chat.state["session"] == {}
    assert chat.user == {"name": "Ada"} and chat.bot == {"hits": 1}


def test_end_node_without_conversation_end_flow():
    chat = Chat(bot(main(node("a", card("code", code="session.s = 1"), next="end"), node("end", kind="end"),
                         start_next="a")))
    chat.say("x")
    assert chat.state["session"] == {} and chat.last.ended


def test_timeout_clears_cursor_and_workflow_and_runs_timeout_flow():
    chat = Chat(bot(
        main(node("a", card("code", code="workflow.w = 1; session.s = 2"), text("q?"), card("wait"), text("answered")),
             start_next="a"),
        flow("timeout", node("entry", kind="entry", next="t"), node("t", text("timed out, w=[{{workflow.w}}] s={{session.s}}"))),
    ))
    assert chat.say("x") == ["q?"]
    assert chat.timeout() == ["timed out, w=[] s=2"]
    assert chat.state["frames"] == [] and chat.state["waiting"] is None
    assert chat.say("again") == ["q?"]  # a fresh dialog from main/start


def test_timeout_without_active_dialog_does_nothing():
    chat = Chat(bot(main(node("a", text("x")), start_next="a"),
                    flow("timeout", node("entry", kind="entry", next="t"), node("t", text("should not run")))))
    chat.say("x")
    assert chat.timeout() == []


def test_state_reset_command():
    chat = Chat(bot(main(node("a", card("code", code="session.s = 1"), text("q"), card("wait")), start_next="a")))
    chat.say("x")
    chat.say("//state/reset")
    assert chat.state == {"frames": [], "waiting": None, "session": {}}


# ---- variables -----------------------------------------------------------------------------------


def test_typed_variable_write_error_names_variable_and_types():
    chat = Chat(bot(main(node("a", card("code", code="workflow.age = 'old'")), start_next="a",
                         variables=[{"name": "age", "type": "number"}])))
    chat.say("x")
    msg = chat.last.error["message"]
    assert "workflow.age" in msg and "expected number" in msg and "got string" in msg


@pytest.mark.parametrize("decl,value,ok", [
    ({"type": "boolean"}, "true", False),
    ({"type": "boolean"}, True, True),
    ({"type": "date"}, "2026-11-21T10:00:00Z", True),
    ({"type": "date"}, "next week", False),
    ({"type": "enum", "values": ["s", "m"]}, "m", True),
    ({"type": "enum", "values": ["s", "m"]}, "xl", False),
    ({"type": "pattern", "pattern": "[A-Z]{3}"}, "ABC", True),
    ({"type": "pattern", "pattern": "[A-Z]{3}"}, "ABCD", False),
    ({"type": "array"}, [1], True),
    ({"type": "object"}, [1], False),
])
def test_variable_types(decl, value, ok):
    chat = Chat(bot(main(node("a", card("code", code=f"user.v = {json.dumps(value)}")), start_next="a"),
                    variables=[{"scope": "user", "name": "v", **decl}]))
    chat.say("x")
    assert (chat.last.error is None) == ok
    assert ("v" in chat.user) == ok


def test_schema_typed_variable():
    chat = Chat(bot(
        main(node("a", card("code", code="user.addr = {city: 7}")), start_next="a"),
        variables=[{"scope": "user", "name": "addr", "type": "schema", "schema": "Address"}],
        schemas=[{"name": "Address", "schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
    ))
    chat.say("x")
    assert "user.addr" in chat.last.error["message"] and "city" in chat.last.error["message"]


def test_user_and_bot_variables_persist_across_dialogs_and_bot_changes_are_reported():
    chat = Chat(bot(
        main(node("a", card("code", code="user.visits = (user.visits || 0) + 1; bot.total = (bot.total || 0) + 1"),
                  text("visits={{user.visits}} total={{bot.total}}")), start_next="a"),
        variables=[{"scope": "user", "name": "visits", "type": "number", "default": 0},
                   {"scope": "bot", "name": "total", "type": "number"}],
    ))
    assert chat.say("x") == ["visits=1 total=1"]
    assert chat.last.bot_changes == {"total": 1}
    assert chat.say("x") == ["visits=2 total=2"]


def test_unset_variables_render_empty():
    chat = Chat(bot(main(node("a", text("[{{workflow.nothing}}][@user.nobody][{{session.none}}]")), start_next="a")))
    assert chat.say("x") == ["[][][]"]


def test_templates_render_every_scope():
    chat = Chat(bot(
        main(node("a",
                  card("code", code="session.s = 'S'; turn.t = 'T'; conversation.c = 'C'"),
                  text("{{workflow.w}} @user.u {{bot.b}} {{env.API}} {{event.preview}} {{session.s}} "
                       "{{turn.t}} {{conversation.c}} {{w}}")),
             start_next="a", variables=[{"name": "w", "type": "string", "default": "W"}]),
        variables=[{"scope": "user", "name": "u", "type": "string", "default": "U"},
                   {"scope": "bot", "name": "b", "type": "string", "default": "B"}],
    ), env={"API": "E"})
    assert chat.say("P") == ["W U B E P S T C W"]


def test_env_is_read_only_in_code():
    chat = Chat(bot(main(node("a", card("code", code="try { env.KEY = 'changed' } catch (e) {}"), text("{{env.KEY}}")),
                         start_next="a")), env={"KEY": "secret"})
    assert chat.say("x") == ["secret"]


def test_state_cap_is_an_error_not_a_truncation():
    chat = Chat(bot(main(node("a", card("code", code=f"session.big = 'x'.repeat({STATE_LIMIT_BYTES})")), start_next="a")))
    chat.say("x")
    assert "byte limit" in chat.last.error["message"]
    assert "big" not in chat.state["session"]


def test_console_log_and_log_card_reach_logs():
    chat = Chat(bot(main(node("a", card("code", code="console.log('from code', {a: 1})"),
                              card("log", level="warn", message="from card {{event.preview}}")), start_next="a")))
    chat.say("hey")
    logs = [(l["level"], l["message"]) for l in chat.last.logs]
    assert ("info", 'from code {"a":1}') in logs or ("log", 'from code {"a":1}') in logs
    assert ("warn", "from card hey") in logs


# ---- send cards --------------------------------------------------------------------------------


def test_send_cards_emit_typed_messages():
    chat = Chat(bot(main(node(
        "a",
        card("text", text="**bold** {{event.preview}}", markdown=True),
        card("image", url="https://x.test/{{event.preview}}.png", title="Pic"),
        card("audio", url="https://x.test/a.mp3", title="A"),
        card("video", url="https://x.test/v.mp4", title="V"),
        card("file", url="https://x.test/f.pdf", title="F"),
        card("location", latitude=45.5, longitude=-73.6, title="Office"),
        card("card", title="T", subtitle="S", imageUrl="https://x.test/i.png",
             actions=[{"action": "postback", "label": "Buy", "value": "buy"}]),
        card("carousel", items=[{"title": "One"}, {"title": "Two", "actions": [{"action": "url", "label": "Go", "value": "https://x.test"}]}]),
        card("comment", text="builders only"),
    ), start_next="a")))
    chat.say("cat")
    out = chat.last.outputs
    assert out[0] == {"type": "markdown", "markdown": "**bold** cat"}
    assert out[1] == {"type": "image", "imageUrl": "https://x.test/cat.png", "title": "Pic"}
    assert out[2]["type"] == "audio" and out[2]["audioUrl"] == "https://x.test/a.mp3"
    assert out[3]["videoUrl"] == "https://x.test/v.mp4" and out[4]["fileUrl"] == "https://x.test/f.pdf"
    assert out[5] == {"type": "location", "latitude": 45.5, "longitude": -73.6, "title": "Office"}
    assert out[6] == {"type": "card", "title": "T", "subtitle": "S", "imageUrl": "https://x.test/i.png",
                      "actions": [{"action": "postback", "label": "Buy", "value": "buy"}]}
    assert out[7]["type"] == "carousel" and [i["title"] for i in out[7]["items"]] == ["One", "Two"]
    assert len(out) == 8


# ---- compiling ---------------------------------------------------------------------------------


def test_compile_reports_card_problems_with_paths():
    with pytest.raises(BuildError) as info:
        compile_bot(bot(main(node("a", card("nope"), card("text"), card("expression", condition="x", next="ghost")),
                             start_next="a")))
    problems = {p.path: p.message for p in info.value.problems}
    assert "unknown card type 'nope'" in problems["$.flows[0].nodes[1].cards[0].type"]
    assert problems["$.flows[0].nodes[1].cards[1].text"] == "is required"
    assert "missing node 'ghost'" in problems["$.flows[0].nodes[1].cards[2].next"]


def test_trace_has_the_emulator_statuses():
    chat = Chat(bot(main(node("a", card("code", code="workflow.x = 1"), text("q"), card("wait")), start_next="a")))
    chat.say("x")
    types = chat.trace_types()
    for expected in ("conversation_started", "entered_flow", "transitioned", "code_started", "code_finished",
                     "variable_set", "card", "waiting_for_input"):
        assert expected in types
    assert all("t" in t for t in chat.last.trace)
    code = next(t for t in chat.last.trace if t["type"] == "code_finished")
    assert code["ms"] >= 0 and code["node"] == "a"


def test_compile_reports_javascript_syntax_errors_without_running_anything():
    with pytest.raises(BuildError) as info:
        compile_bot(bot(main(node("a",
                                  card("code", code="session.ran = true;\nworkflow.x = ;"),
                                  card("expression", condition="items.map(x => x) ==== 2", next="a")),
                             start_next="a")))
    problems = {p.path: p.message for p in info.value.problems}
    assert problems["$.flows[0].nodes[1].cards[0].code"] == "SyntaxError: Unexpected token ';' (line 2)"
    assert problems["$.flows[0].nodes[1].cards[1].condition"].startswith("SyntaxError: Unexpected token")
