"""Trigger nodes, custom events, the Send Event card and message metadata (docs/engine.md,
"Events and triggers"), with no database."""
import pytest

from runtime.engine import BuildError

from .chat import Chat, bot, card, flow, main, node, text


def custom(payload, **extra):
    return {"type": "event", "payload": payload, "preview": "", **extra}


def started():
    return {"type": "conversation_started", "payload": {}, "preview": ""}


def trigger(id, next, **spec):
    return {"id": id, "kind": "trigger", "trigger": spec, "next": next, "cards": []}


def texts(result):
    return [o.get("text") or o["type"] for o in result.outputs]


def _waiting_bot(*triggers):
    return bot(main(
        node("ask", text("What is your name?"), card("wait", id="w"), text("Hello {{event.preview}}")),
        *triggers,
        node("welcome", text("Welcome!")),
        node("relay", card("sendEvent", id="relay-card", payload="{{event.payload}}")),
        start_next="ask",
    ))


def test_conversation_started_trigger_runs_its_node():
    chat = Chat(_waiting_bot(trigger("t1", "welcome", type="conversation_started")))
    result = chat.send(started())
    assert texts(result) == ["Welcome!"]
    assert "triggered" in chat.trace_types()
    assert chat.state["frames"] == []  # welcome has no next: that dialog ended


def test_message_still_starts_main_and_resumes_waiting_card():
    chat = Chat(_waiting_bot(trigger("t1", "welcome", type="conversation_started")))
    assert chat.say("hi") == ["What is your name?"]
    assert chat.say("Ada") == ["Hello Ada"]


def test_unmatched_event_is_ignored_and_a_waiting_card_keeps_waiting():
    chat = Chat(_waiting_bot(trigger("t1", "welcome", type="conversation_started")))
    chat.say("hi")
    before = chat.state
    result = chat.send(custom({"type": "page_view"}))
    assert result.outputs == []
    assert chat.state == before
    assert chat.trace_types() == ["event_ignored"]
    assert chat.say("Ada") == ["Hello Ada"]


def test_event_trigger_clears_the_cursor_but_keeps_session():
    chat = Chat(bot(main(
        node("ask", card("code", code="session.n = 1; workflow.w = 2"), text("ask"), card("wait")),
        trigger("t", "hit", type="event"),
        node("hit", text("session={{session.n}} workflow=[{{workflow.w}}]")),
        start_next="ask",
    )))
    chat.say("x")
    assert chat.state["waiting"]
    result = chat.send(custom({"foo": 1}))
    assert texts(result) == ["session=1 workflow=[]"]
    assert chat.state["frames"] == [] and chat.state["session"] == {"n": 1}


def test_event_type_and_condition_select_the_trigger():
    chat = Chat(bot(main(
        node("idle", text("idle")),
        trigger("t-buy", "buy", type="event", eventType="buy"),
        trigger("t-big", "big", type="event", condition="event.payload.amount > 100"),
        trigger("t-any", "any", type="event"),
        node("buy", text("buy {{event.payload.item}}")),
        node("big", text("big")),
        node("any", text("any")),
        start_next="idle",
    )))
    assert texts(chat.send(custom({"type": "buy", "item": "pen"}))) == ["buy pen"]
    assert texts(chat.send(custom({"amount": 500}))) == ["big"]
    assert texts(chat.send(custom({"amount": 5}))) == ["any"]
    # conversation_started matches none of the event triggers
    assert chat.send(started()).outputs == []


def test_a_trigger_whose_condition_fails_does_not_match():
    chat = Chat(bot(main(
        node("idle", text("idle")),
        trigger("t-bad", "bad", type="event", condition="event.payload.a.b.c"),
        trigger("t-ok", "ok", type="event"),
        node("bad", text("bad")),
        node("ok", text("ok")),
        start_next="idle",
    )))
    result = chat.send(custom({}))
    assert texts(result) == ["ok"]
    assert any(entry["level"] == "error" and "t-bad" in entry["message"] for entry in result.logs)


def test_trigger_in_another_flow_runs_that_flow_until_its_exit():
    chat = Chat(bot(
        main(node("idle", text("idle")), start_next="idle"),
        flow("support",
             node("entry", kind="entry", next="help"),
             trigger("t", "help", type="event", eventType="help"),
             node("help", text("how can I help?"), next="exit"),
             node("exit", kind="exit")),
    ))
    result = chat.send(custom({"type": "help"}))
    assert texts(result) == ["how can I help?"]
    assert result.ended and chat.state["frames"] == []


def test_send_event_passes_a_custom_event_through():
    chat = Chat(_waiting_bot(trigger("t", "relay", type="event")))
    payload = {"foo": "bar", "nested": {"n": [1, 2]}, "type": "anything"}
    result = chat.send(custom(payload))
    assert result.outputs == [{"type": "event", "payload": payload}]


def test_send_event_with_an_object_of_templates():
    chat = Chat(bot(main(
        node("a", card("code", code="workflow.n = 3"),
             card("sendEvent", payload={"kind": "score", "value": "{{workflow.n}}", "label": "n={{workflow.n}}",
                                        "missing": "{{workflow.nothing}}", "list": ["{{workflow.n}}", 4]})),
        start_next="a",
        variables=[{"name": "n", "type": "number"}],
    )))
    chat.say("go")
    assert chat.last.outputs == [{"type": "event", "payload": {"kind": "score", "value": 3, "label": "n=3",
                                                               "list": [3, 4]}}]


def test_send_event_whose_payload_is_not_an_object_is_an_error():
    chat = Chat(bot(main(node("a", card("sendEvent", id="bad", payload="{{event.preview}}")), start_next="a")))
    assert chat.say("text, not an object") == ["Sorry, something went wrong."]
    assert "bad" in chat.last.error["message"] and "must be an object" in chat.last.error["message"]


def test_metadata_travels_beside_the_payload():
    chat = Chat(bot(main(
        node("a",
             text("echo", metadata="{{event.metadata}}"),
             text("fixed", metadata={"source": "bot", "user": "{{event.userId}}"}),
             text("none", metadata="{{event.metadata}}")),
        start_next="a",
    )))
    chat.send({"type": "text", "payload": {"text": "m"}, "preview": "m", "userId": "u1",
               "metadata": {"foo": "bar"}})
    first, second, third = chat.last.outputs
    assert first == {"type": "text", "text": "echo", "metadata": {"foo": "bar"}}
    assert second == {"type": "text", "text": "fixed", "metadata": {"source": "bot", "user": "u1"}}
    assert third == {"type": "text", "text": "none", "metadata": {"foo": "bar"}}
    chat.say("no metadata this time")
    assert all("metadata" not in output for output in chat.last.outputs[:1])


def test_metadata_that_is_not_an_object_is_an_error():
    chat = Chat(bot(main(node("a", text("x", id="t", metadata="{{event.preview}}")), start_next="a")))
    chat.say("plain")
    assert "metadata of card 't' must be an object" in chat.last.error["message"]


def test_choice_dropdown_and_bloc_cards():
    chat = Chat(bot(main(
        node("a",
             card("choice", text="Pick {{event.preview}}", options=[{"label": "Yes", "value": "y"},
                                                                   {"label": "No", "value": "n"}]),
             card("dropdown", text="Size", options=[{"label": "S", "value": "s"}]),
             card("bloc", items=[
                 {"type": "text", "text": "hello {{event.preview}}"},
                 {"type": "image", "imageUrl": "https://example.org/a.png"},
                 {"type": "location", "latitude": 45.5, "longitude": -73.6, "title": "Here"},
                 {"type": "file", "fileUrl": "https://example.org/f.pdf"},
             ])),
        start_next="a",
    )))
    chat.say("one")
    choice, dropdown, bloc = chat.last.outputs
    assert choice == {"type": "choice", "text": "Pick one",
                      "options": [{"label": "Yes", "value": "y"}, {"label": "No", "value": "n"}]}
    assert dropdown == {"type": "dropdown", "text": "Size", "options": [{"label": "S", "value": "s"}]}
    assert bloc == {"type": "bloc", "items": [
        {"type": "text", "text": "hello one"},
        {"type": "image", "imageUrl": "https://example.org/a.png"},
        {"type": "location", "latitude": 45.5, "longitude": -73.6, "title": "Here"},
        {"type": "file", "fileUrl": "https://example.org/f.pdf"},
    ]}


@pytest.mark.parametrize("bad_node, where", [
    ({"id": "t", "kind": "trigger", "next": "a", "cards": []}, "trigger"),
    ({"id": "t", "kind": "trigger", "trigger": {"type": "webhooks"}, "next": "a", "cards": []}, "trigger.type"),
    ({"id": "t", "kind": "trigger", "trigger": {"type": "schedule", "cron": "0 25 * * *"}, "next": "a", "cards": []},
     "trigger.cron"),
    ({"id": "t", "kind": "trigger", "trigger": {"type": "event"}, "next": None, "cards": []}, "next"),
    ({"id": "t", "kind": "trigger", "trigger": {"type": "event", "condition": "a ==="}, "next": "a", "cards": []},
     "trigger.condition"),
])
def test_compiler_refuses_broken_triggers(bad_node, where):
    with pytest.raises(BuildError) as info:
        Chat(bot(main(node("a", text("a")), bad_node, start_next="a")))
    assert any(p.path == f"$.flows[0].nodes[2].{where}" for p in info.value.problems), info.value.problems


def test_webhook_and_schedule_events_start_only_the_trigger_node_they_name():
    chat = Chat(bot(main(
        node("idle", text("idle")),
        trigger("hook-a", "a", type="webhook"),
        trigger("hook-b", "b", type="webhook"),
        trigger("daily", "d", type="schedule", cron="0 9 * * *", timezone="Europe/Paris"),
        node("a", text("a got {{event.payload.order}}")),
        node("b", text("b")),
        node("d", text("daily at {{event.payload.scheduledFor}}")),
        start_next="idle",
    )))
    hook = {"type": "webhook", "payload": {"order": 7}, "preview": "", "trigger": {"flow": "main", "node": "hook-a"}}
    assert texts(chat.send(hook)) == ["a got 7"]
    other = {**hook, "trigger": {"flow": "main", "node": "hook-b"}}
    assert texts(chat.send(other)) == ["b"]
    nameless = {"type": "webhook", "payload": {}, "preview": ""}
    assert chat.send(nameless).outputs == []
    due = {"type": "schedule", "payload": {"scheduledFor": "2026-12-04T09:00:00+01:00"}, "preview": "",
           "trigger": {"flow": "main", "node": "daily"}}
    assert texts(chat.send(due)) == ["daily at 2026-12-04T09:00:00+01:00"]
