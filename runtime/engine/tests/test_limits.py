"""Size limits the engine enforces on what a turn stores (issue 14, item 5): user, bot and turn
variables are capped like the conversation state, and an oversized write fails its card with
an error naming the variable, storing nothing."""
import pytest

from runtime.engine import STATE_LIMIT_BYTES, VARIABLES_LIMIT_BYTES

from .chat import Chat, bot, card, main, node, text

ERROR_FLOW = {"name": "error", "variables": [], "nodes": [
    {"id": "start", "kind": "entry", "cards": [text("sorry")], "next": None}]}


def code_bot(code, **extra):
    return bot(main(node("a", card("code", id="writer", code=code), text("stored")), start_next="a"),
               ERROR_FLOW, **extra)


def test_a_20_mb_bot_variable_fails_the_card_and_is_not_stored():
    chat = Chat(code_bot("bot.big = 'y'.repeat(20 * 1024 * 1024)"), bot_vars={"kept": 1})
    assert chat.say("hi") == ["sorry"]
    message = chat.last.error["message"]
    assert chat.last.error["card"] == "writer" and "bot.big" in message and "nothing was written" in message
    assert chat.last.bot_changes == {} and chat.bot == {"kept": 1}


@pytest.mark.parametrize("scope", ["bot", "user", "turn"])
def test_variables_over_128_kb_are_refused_by_the_engine(scope):
    size = VARIABLES_LIMIT_BYTES  # under the sandbox's own 1 MB cap: the engine's limit decides
    chat = Chat(code_bot(f"{scope}.small = 1; {scope}.big = 'y'.repeat({size})"))
    assert chat.say("hi") == ["sorry"]
    message = chat.last.error["message"]
    assert f"{scope}.big ({size + 2} bytes) would make the {scope} variables" in message
    assert f"over the {VARIABLES_LIMIT_BYTES} byte limit; nothing was written" in message
    assert "small" not in chat.user and chat.last.bot_changes == {}


def test_variables_just_under_the_limit_are_stored():
    chat = Chat(code_bot(f"bot.big = 'y'.repeat({VARIABLES_LIMIT_BYTES - 100}); user.note = 'ok'"))
    assert chat.say("hi") == ["stored"]
    assert len(chat.bot["big"]) == VARIABLES_LIMIT_BYTES - 100 and chat.user["note"] == "ok"


def test_a_capture_card_cannot_store_an_oversized_user_variable():
    definition = bot(main(node("ask", card("capture", id="note", capture="raw", variable="user.note", prompt="Say?"),
                               text("stored")), start_next="ask"),
                     ERROR_FLOW, variables=[{"name": "note", "type": "string", "scope": "user"}])
    chat = Chat(definition)
    assert chat.say("hi") == ["Say?"]
    chat.say("z" * (VARIABLES_LIMIT_BYTES + 10))
    assert "user.note" in chat.last.error["message"] and "byte limit" in chat.last.error["message"]
    assert "note" not in chat.user or chat.user["note"] is None


def test_the_conversation_state_error_names_the_variable_too():
    chat = Chat(code_bot(f"session.big = 'x'.repeat({STATE_LIMIT_BYTES})"))
    chat.say("x")
    assert "session.big" in chat.last.error["message"] and "conversation state" in chat.last.error["message"]
    assert "big" not in chat.state.get("session", {})
