"""Bot-file rules for trigger nodes, the Send Event card, metadata and the choice, dropdown
and bloc cards: every broken case names its place and the reason."""
import copy

import pytest

from flows.botfile import canonical_bot, validate_bot

from .bots import ask_cards, base_bot, main_flow


def with_trigger(trigger, **node):
    bot = base_bot()
    main_flow(bot)["nodes"].append({"id": "on-event", "kind": "trigger", "trigger": trigger, "next": "done", **node})
    return bot


def problems_at(bot, path):
    return [p.message for p in validate_bot(bot) if p.path == path]


def test_valid_triggers_and_new_cards_pass_and_survive_the_canonical_form():
    bot = with_trigger({"condition": "event.payload.amount > 1", "eventType": "buy", "type": "event"})
    main_flow(bot)["nodes"].append({"id": "hello", "kind": "trigger", "trigger": {"type": "conversation_started"},
                                    "next": "ask"})
    ask_cards(bot)[0]["metadata"] = "{{event.metadata}}"
    ask_cards(bot).insert(1, {"id": "relay", "type": "sendEvent", "payload": {"seen": "{{event.preview}}"}})
    ask_cards(bot).insert(1, {"id": "pick", "type": "choice", "text": "Pick",
                              "options": [{"label": "A", "value": "a"}], "metadata": {"k": 1}})
    ask_cards(bot).insert(1, {"id": "list", "type": "dropdown", "text": "Pick", "options": [{"label": "A", "value": "a"}]})
    ask_cards(bot).insert(1, {"id": "several", "type": "bloc", "items": [
        {"type": "text", "text": "hi"}, {"type": "image", "imageUrl": "https://example.org/i.png"}]})
    assert validate_bot(bot) == []
    canonical = canonical_bot(copy.deepcopy(bot))
    node = next(n for n in canonical["flows"][0]["nodes"] if n["id"] == "on-event")
    assert list(node) == ["id", "kind", "trigger", "cards", "next"]
    assert list(node["trigger"]) == ["type", "eventType", "condition"]
    assert canonical_bot(canonical) == canonical


@pytest.mark.parametrize("bot, path, phrase", [
    (with_trigger({"type": "webhooks"}), "$.flows[0].nodes[4].trigger.type", "'webhooks' is not allowed"),
    (with_trigger({"type": "event", "auth": "secret"}), "$.flows[0].nodes[4].trigger.auth",
     "only for triggers of type 'webhook'"),
    (with_trigger({"type": "webhook", "auth": "basic"}), "$.flows[0].nodes[4].trigger.auth", "'basic' is not"),
    (with_trigger({"type": "webhook", "cron": "* * * * *"}), "$.flows[0].nodes[4].trigger.cron",
     "only for triggers of type 'schedule'"),
    (with_trigger({"type": "schedule"}), "$.flows[0].nodes[4].trigger.cron", "needs a cron expression"),
    (with_trigger({"type": "schedule", "cron": "61 * * * *"}), "$.flows[0].nodes[4].trigger.cron",
     "is not a cron expression of five fields"),
    (with_trigger({"type": "schedule", "cron": "* * * * * *"}), "$.flows[0].nodes[4].trigger.cron",
     "is not a cron expression of five fields"),
    (with_trigger({"type": "schedule", "cron": "0 9 * * *", "timezone": "Mars/Olympus"}),
     "$.flows[0].nodes[4].trigger.timezone", "is not an IANA time zone"),
    (with_trigger({"type": "event", "colour": "red"}), "$.flows[0].nodes[4].trigger.colour", "unknown field 'colour'"),
    (with_trigger({"type": "conversation_started", "eventType": "x"}), "$.flows[0].nodes[4].trigger.eventType",
     "only for triggers of type 'event'"),
    (with_trigger({"type": "event", "condition": "event.payload.amount >"}),
     "$.flows[0].nodes[4].trigger.condition", "unexpected end of expression"),
    (with_trigger({"type": "event"}, next=None), "$.flows[0].nodes[4].next", "must lead somewhere"),
    (with_trigger({"type": "event"}, cards=[{"id": "x", "type": "wait"}]), "$.flows[0].nodes[4].cards",
     "trigger nodes hold no cards"),
])
def test_broken_trigger_nodes(bot, path, phrase):
    messages = problems_at(bot, path)
    assert any(phrase in m for m in messages), (path, [str(p) for p in validate_bot(bot)])


def test_webhook_and_schedule_triggers_pass_and_keep_their_fields_in_order():
    bot = with_trigger({"timezone": "Europe/Paris", "cron": "0 9 * * 1-5", "type": "schedule"})
    main_flow(bot)["nodes"].append({"id": "hook", "kind": "trigger", "trigger": {"auth": "secret", "type": "webhook"},
                                    "next": "ask"})
    assert validate_bot(bot) == []
    canonical = canonical_bot(copy.deepcopy(bot))
    nodes = {n["id"]: n for n in canonical["flows"][0]["nodes"]}
    assert list(nodes["on-event"]["trigger"]) == ["type", "cron", "timezone"]
    assert list(nodes["hook"]["trigger"]) == ["type", "auth"]


def test_a_trigger_node_without_a_trigger_and_a_trigger_on_another_kind():
    bot = base_bot()
    main_flow(bot)["nodes"].append({"id": "t", "kind": "trigger", "next": "done"})
    main_flow(bot)["nodes"][1]["trigger"] = {"type": "event"}
    assert any("needs a trigger" in m for m in problems_at(bot, "$.flows[0].nodes[4].trigger"))
    assert any("only trigger nodes have a trigger" in m for m in problems_at(bot, "$.flows[0].nodes[1].trigger"))


def test_nothing_may_transition_to_a_trigger_node():
    bot = with_trigger({"type": "event"})
    main_flow(bot)["nodes"][2]["next"] = "on-event"
    assert any("it is a trigger node" in m for m in problems_at(bot, "$.flows[0].nodes[2].next"))


@pytest.mark.parametrize("card, path, phrase", [
    ({"id": "e", "type": "sendEvent"}, ".payload", "is required"),
    ({"id": "e", "type": "sendEvent", "payload": 3}, ".payload", "must be an object"),
    ({"id": "e", "type": "sendEvent", "payload": {"a": "{{ oops"}}, ".payload", "has no matching"),
    ({"id": "m", "type": "text", "text": "x", "metadata": ["a"]}, ".metadata", "must be an object"),
    ({"id": "c", "type": "choice", "text": "x", "options": []}, ".options", "at least 1"),
    ({"id": "c", "type": "dropdown", "text": "x", "options": [{"label": "a"}]}, ".options[0].value", "is required"),
    ({"id": "b", "type": "bloc", "items": [{"type": "card", "title": "x"}]}, ".items[0]", "does not match any of the expected tags"),
    ({"id": "b", "type": "bloc", "items": [{"type": "image", "url": "x"}]}, ".items[0].image.imageUrl", "is required"),
])
def test_broken_new_cards(card, path, phrase):
    bot = base_bot()
    ask_cards(bot).insert(0, card)
    messages = problems_at(bot, "$.flows[0].nodes[1].cards[0]" + path)
    assert any(phrase in m for m in messages), [str(p) for p in validate_bot(bot)]
