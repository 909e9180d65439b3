"""The autonomous node's fields in a bot file: what the validator says about them."""
import pytest

from flows.botfile import check_bot, validate_bot

from .bots import base_bot


def with_node(**fields) -> dict:
    bot = base_bot()
    bot["flows"][0]["nodes"][1].update(fields)
    return bot


def problems(bot) -> list[str]:
    return [str(p) for p in validate_bot(bot)]


def test_a_complete_autonomous_node_is_valid_and_keeps_its_fields():
    bot = with_node(kind="autonomous", instructions="Sell a {{bot.size}} shirt.", maxIterations=5,
                    model="Fast", temperature=0.2, useMemory=True, mcpServers=["shop"], transitions=["done"])
    assert problems(bot) == []
    node = check_bot(bot)["flows"][0]["nodes"][1]
    assert node["instructions"] == "Sell a {{bot.size}} shirt." and node["transitions"] == ["done"]


@pytest.mark.parametrize("fields, expected", [
    ({"kind": "autonomous"},
     "$.flows[0].nodes[1].instructions: an autonomous node needs instructions: what the model should do here"),
    ({"kind": "autonomous", "instructions": "x", "maxIterations": 51},
     "$.flows[0].nodes[1].maxIterations: must be at most 50, not 51"),
    ({"kind": "autonomous", "instructions": "x", "transitions": ["nowhere"]},
     "$.flows[0].nodes[1].transitions[0]: no node 'nowhere' in flow 'main' (nodes: ask, done, end, start)"),
    ({"kind": "autonomous", "instructions": "Hi {{"},
     "$.flows[0].nodes[1].instructions: `{{` at position 4 has no matching `}}`: `{{`"),
    ({"kind": "autonomous", "instructions": "x", "temperature": 5},
     "$.flows[0].nodes[1].temperature: must be at most 2, not 5"),
    ({"instructions": "x"},
     "$.flows[0].nodes[1].instructions: only autonomous nodes have instructions; this is a standard node"),
])
def test_bad_autonomous_fields_are_named_once_with_their_path(fields, expected):
    assert problems(with_node(**fields)) == [expected]


def test_a_card_of_an_autonomous_node_may_not_take_a_built_in_tool_name():
    bot = with_node(kind="autonomous", instructions="x")
    bot["flows"][0]["nodes"][1]["cards"][0]["id"] = "send_message"
    assert problems(bot) == ["$.flows[0].nodes[1].cards[0].id: 'send_message' is a built-in tool of the "
                             "autonomous node; give the card another id"]
