"""Hooks in the engine (docs/hooks-and-triggers.md): each of the four types changes or drops
what it is documented to, runs in file order, and a broken hook is logged and traced but
never stops the turn."""
import pytest

from runtime.engine import BuildError, compile_bot

from .chat import Chat, bot, card, main, node, text


def hook(name, type, code, **extra):
    return {"name": name, "type": type, "code": code, **extra}


def echo_bot(*hooks, **extra):
    return bot(main(node("echo", text("you said {{event.payload.text}}"), card("wait", id="w"),
                         text("then {{event.payload.text}}"), next="echo"), start_next="echo"),
               hooks=list(hooks), **extra)


def test_before_incoming_changes_the_event_the_dialog_sees():
    chat = Chat(echo_bot(hook("upper", "before_incoming", "event.payload.text = event.payload.text.toUpperCase();")))
    assert chat.say("hello") == ["you said HELLO"]
    assert "hook_finished" in chat.trace_types()


def test_hooks_of_one_type_run_in_file_order():
    chat = Chat(echo_bot(hook("a", "before_incoming", "event.payload.text += 'a';"),
                         hook("b", "before_incoming", "event.payload.text += 'b';"),
                         hook("off", "before_incoming", "event.payload.text += 'X';", enabled=False)))
    assert chat.say("x") == ["you said xab"]


def test_before_incoming_returning_false_drops_the_event_and_keeps_the_state():
    chat = Chat(echo_bot(hook("quiet", "before_incoming", "if (event.payload.text === 'ping') return false;")))
    chat.say("hi")
    before = chat.state
    result = chat.send({"type": "text", "payload": {"text": "ping"}, "preview": "ping"})
    assert result.outputs == [] and chat.state == before
    assert "event_dropped" in chat.trace_types()
    assert chat.say("next") == ["then next", "you said next"]


def test_after_incoming_sees_the_nlu_and_may_drop():
    definition = echo_bot(hook("no-greetings", "after_incoming",
                               "if (event.nlu && event.nlu.intent === 'greet') return false;"))
    definition["intents"] = [{"name": "greet", "utterances": [
        "hello", "hi", "hey there", "good morning", "hello there", "hi bot", "hey", "greetings", "good evening",
        "hiya"]}]
    chat = Chat(definition)
    assert chat.say("hello") == []
    assert "event_dropped" in chat.trace_types() and "nlu" in chat.trace_types()
    assert chat.say("where is my parcel 12345") == ["you said where is my parcel 12345"]


def test_before_outgoing_changes_or_drops_each_reply():
    chat = Chat(bot(main(node("two", text("secret: 1234"), text("visible"), text("drop me")), start_next="two"),
                    hooks=[hook("mask", "before_outgoing",
                                "if (outgoingEvent.payload.text === 'drop me') return false;\n"
                                "outgoingEvent.payload.text = outgoingEvent.payload.text.replace(/\\d/g, '*');")]))
    result = chat.send({"type": "text", "payload": {"text": "go"}, "preview": "go"})
    assert [o["text"] for o in result.outputs] == ["secret: ****", "visible"]
    assert "reply_dropped" in chat.trace_types()


def test_after_turn_sees_the_replies_and_cannot_change_them():
    chat = Chat(echo_bot(hook("count", "after_turn",
                              "console.log('replies', outgoing.length, outgoing[0].text); outgoing.length = 0;")))
    result = chat.send({"type": "text", "payload": {"text": "yo"}, "preview": "yo"})
    assert [o["text"] for o in result.outputs] == ["you said yo"]
    assert {"level": "info", "message": "replies 1 you said yo", "source": "hook"}.items() <= result.logs[-1].items()


@pytest.mark.parametrize("code, phrase", [
    ("throw new Error('analytics down')", "Error: analytics down"),
    ("while (true) {}", "did not finish within"),
    ("event.type = 5;", "without a string `type`"),
])
def test_a_broken_hook_is_logged_and_traced_and_the_turn_goes_on(code, phrase):
    chat = Chat(echo_bot(hook("broken", "before_incoming", code),
                         hook("after", "before_incoming", "event.payload.text += '!';")))
    result = chat.send({"type": "text", "payload": {"text": "hi"}, "preview": "hi"})
    assert [o["text"] for o in result.outputs] == ["you said hi!"]
    errors = [t for t in result.trace if t["type"] == "hook_error"]
    assert errors and phrase in errors[0]["message"] and "'broken'" in errors[0]["message"]
    assert any(log["level"] == "error" and log["source"] == "hook" and phrase in log["message"] for log in result.logs)
    assert result.error is None


def test_a_broken_outgoing_hook_sends_the_reply_unchanged():
    chat = Chat(echo_bot(hook("bad", "before_outgoing", "outgoingEvent.payload = 3;")))
    assert chat.say("hi") == ["you said hi"]
    assert "hook_error" in chat.trace_types()


def test_hooks_see_env_and_write_user_session_conversation_and_bot_variables():
    chat = Chat(bot(main(node("echo", text("{{session.count}} {{conversation.last}} {{user.tagged}} {{bot.hits}}"),
                              card("wait", id="w"), next="echo"), start_next="echo"),
                    hooks=[hook("tag", "before_incoming",
                                "user.tagged = true; event.payload.text += env.SUFFIX;"
                                "session.count = (session.count || 0) + 1;"),
                           hook("last", "after_incoming", "conversation.last = event.payload.text;"),
                           hook("hits", "after_turn", "bot.hits = (bot.hits || 0) + outgoing.length;")]),
                env={"SUFFIX": "?"})
    # The dialog sees what the incoming hooks wrote; after_turn's write is there next turn.
    assert chat.say("hi") == ["1 hi? true "]
    assert chat.user["tagged"] is True and chat.bot["hits"] == 1
    assert chat.state["session"]["count"] == 1 and chat.state["conversation"]["last"] == "hi?"
    assert chat.say("again") == ["2 again? true 1"]
    assert chat.bot["hits"] == 2
    assert "variable_set" in chat.trace_types()


def test_a_hook_write_that_does_not_fit_applies_none_and_the_turn_goes_on():
    definition = echo_bot(hook("bad", "before_incoming", "user.age = 'old'; user.name = 'Ann'; event.payload.text += '!';"))
    definition["variables"] = [{"name": "age", "scope": "user", "type": "number"}]
    chat = Chat(definition)
    result = chat.send({"type": "text", "payload": {"text": "hi"}, "preview": "hi"})
    # Its event change is dropped with its writes: a failed hook is as if it had not run.
    assert [o["text"] for o in result.outputs] == ["you said hi"]
    errors = [t["message"] for t in result.trace if t["type"] == "hook_error"]
    assert len(errors) == 1 and "'bad'" in errors[0] and "age" in errors[0] and "none of its changes" in errors[0]
    assert "name" not in chat.user and chat.user.get("age") != "old"


def test_a_hook_with_a_syntax_error_or_unknown_type_does_not_compile():
    with pytest.raises(BuildError) as info:
        compile_bot(echo_bot(hook("bad", "before_incoming", "if ("), hook("odd", "sometimes", "")))
    paths = {p.path for p in info.value.problems}
    assert paths == {"$.hooks[0].code", "$.hooks[1].type"}
