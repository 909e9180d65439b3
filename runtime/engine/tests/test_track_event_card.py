"""The Track Event card: it sends nothing, writes a `tracked` trace entry with its name, value
and properties (what the runtime copies into the turn's analytics facts: tested with the
rollup in studio/tests/test_analytics_extras.py), refuses a bad name when the bot is built
and a value that is not a number when it runs."""
import pytest

from runtime.engine import BuildError, compile_bot

from .chat import Chat, bot, card, main, node, text


def tracking_bot(**fields):
    return bot(main(node("n", card("trackEvent", id="track", **fields), text("done"), card("wait"), next="n"),
                    start_next="n"))


def tracked(chat):
    return [t for t in chat.last.trace if t["type"] == "tracked"]


def test_the_card_traces_name_value_and_properties_and_sends_nothing_itself():
    chat = Chat(tracking_bot(name="order_placed", value="{{event.preview.length * 2}}",
                             properties={"said": "{{event.preview}}", "fixed": 1}))
    assert chat.say("four") == ["done"]
    [entry] = tracked(chat)
    assert (entry["name"], entry["value"], entry["properties"]) == ("order_placed", 8.0, {"said": "four", "fixed": 1})
    assert entry["card"] == "track" and entry["node"] == "n"


def test_without_value_and_properties_only_the_name_is_traced():
    chat = Chat(tracking_bot(name="faq.opened"))
    chat.say("hi")
    [entry] = tracked(chat)
    assert entry["name"] == "faq.opened" and "value" not in entry and "properties" not in entry


def test_a_value_that_is_not_a_number_is_a_bot_error_naming_the_card():
    chat = Chat(tracking_bot(name="x", value="{{event.preview}}"))
    chat.say("lots")
    [error] = [t for t in chat.last.trace if t["type"] == "error"]
    assert error["message"] == "the value of trackEvent card 'track' must be a number, got 'lots'"
    assert tracked(chat) == []


def test_properties_that_are_not_an_object_are_a_bot_error():
    chat = Chat(tracking_bot(name="x", properties="{{event.preview}}"))
    chat.say("text")
    [error] = [t for t in chat.last.trace if t["type"] == "error"]
    assert "properties of trackEvent card 'track' must be an object, got str" in error["message"]


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "-leading"])
def test_a_bad_name_is_refused_with_its_path(name):
    with pytest.raises(BuildError) as caught:
        compile_bot(tracking_bot(name=name))
    problems = {p.path: p.message for p in caught.value.problems}
    assert "$.flows[0].nodes[1].cards[0].name" in problems


def test_a_missing_name_is_refused():
    with pytest.raises(BuildError) as caught:
        compile_bot(bot(main(node("n", card("trackEvent", id="t")), start_next="n")))
    assert {p.path: p.message for p in caught.value.problems}["$.flows[0].nodes[1].cards[0].name"] == "is required"
