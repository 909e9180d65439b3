"""The Webchat cards: what they emit for the widget, what Get User Data reads, and the
problems a bad card reports when the bot is validated."""
import pytest

from runtime.engine import BuildError, compile_bot

from .chat import Chat, bot, card, main, node, text


def run(*cards, event=None, variables=()):
    chat = Chat(bot(main(node("n", *cards), start_next="n", variables=variables)))
    return chat.send(event or {"type": "text", "payload": {"text": "hi"}, "preview": "hi"})


def test_show_hide_toggle_and_configure_emit_events_the_widget_acts_on():
    result = run(
        card("webchatShow"), card("webchatHide"), card("webchatToggle"),
        card("webchatConfigure", configuration={"themeMode": "dark", "botName": "Night {{event.preview}}"}),
        card("webchatSendEvent", event={"type": "track", "page": "{{event.preview}}"}),
    )
    assert result.outputs == [
        {"type": "event", "payload": {"type": "webchat:show"}},
        {"type": "event", "payload": {"type": "webchat:hide"}},
        {"type": "event", "payload": {"type": "webchat:toggle"}},
        {"type": "event", "payload": {"type": "webchat:configure",
                                      "configuration": {"themeMode": "dark", "botName": "Night hi"}}},
        {"type": "event", "payload": {"type": "track", "page": "hi"}},
    ]


def test_get_user_data_reads_what_the_webchat_sent_with_the_event():
    user = {"id": "u1", "name": "Ada", "pictureUrl": "https://example.com/a.png", "data": {"plan": "pro"}, "verified": False}
    result = run(card("webchatGetUserData", variable="workflow.who"), text("{{workflow.who.name}} / {{workflow.who.data.plan}}"),
                 event={"type": "text", "payload": {"text": "hi"}, "preview": "hi", "userId": "u1",
                        "metadata": {"webchat": {"user": user}}},
                 variables=[{"name": "who", "type": "object"}])
    assert result.outputs == [{"type": "text", "text": "Ada / pro"}]
    # Outside the webchat there is nothing to read: the variable is left unset.
    result = run(card("webchatGetUserData", variable="workflow.who"), text("[{{workflow.who}}]"))
    assert result.outputs == [{"type": "text", "text": "[]"}]


def test_bad_webchat_cards_are_reported_with_their_path():
    definition = bot(main(node("n",
                               card("webchatConfigure", id="cfg", configuration={"colour": "red"}),
                               card("webchatGetUserData", id="get", variable="who"),
                               card("webchatShow", id="show", extra=1)), start_next="n"))
    with pytest.raises(BuildError) as caught:
        compile_bot(definition)
    problems = {p.path: p.message for p in caught.value.problems}
    assert "colour cannot be configured" in problems["$.flows[0].nodes[1].cards[0].configuration"]
    assert "should match pattern" in problems["$.flows[0].nodes[1].cards[1].variable"]
    assert problems["$.flows[0].nodes[1].cards[2].extra"] == "is not a field of a webchatShow card"


def test_a_configuration_template_that_gives_an_unknown_key_fails_at_run_time():
    result = run(card("webchatConfigure", id="cfg", configuration="{{ {hack: 1} }}"))
    assert result.outputs == [{"type": "text", "text": "Sorry, something went wrong."}]
    assert "hack cannot be configured" in result.error["message"]
