"""A new bot starts with an error flow that tells the visitor something went wrong."""
import pytest

from flows import services
from runtime.engine.tests.chat import Chat

pytestmark = pytest.mark.django_db


def test_a_new_bot_has_an_error_flow_that_apologises(workspace):
    bot = services.create_bot(workspace, name="Fresh")
    document = services.draft_document(bot)
    assert [flow["name"] for flow in document["flows"]] == ["main", "error"]
    assert set(bot.layout["error"]) == {"entry", "apologise", "exit"}  # every node placed on the canvas

    # Make main fail as a builder's first code card might: the error flow speaks, not the fallback.
    main = document["flows"][0]
    main["nodes"][0]["next"] = "work"
    main["nodes"].append({"id": "work", "kind": "standard", "next": "end",
                          "cards": [{"id": "oops", "type": "code", "code": "user.x.y = 1"}]})
    chat = Chat(document)
    assert chat.say("hi") == ["Sorry, something went wrong on our side. Please try again."]
    assert chat.last.error["card"] == "oops"
    assert chat.say("hi again") == ["Sorry, something went wrong on our side. Please try again."]
