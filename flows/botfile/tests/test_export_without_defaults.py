"""Bot files for git: the export leaves out every value equal to its default, so a diff
shows only what the builder changed; importing it fills the defaults back."""
import copy
import json
from pathlib import Path

import pytest

from flows.botfile import canonical_bot, parse_bot_file
from flows.botfile.canonical import for_export
from flows.botfile.tests.bots import add_flow, ask_cards, base_bot

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.bot.json"))


def richer_bot() -> dict:
    """base_bot with a non-default setting, markdown on, metadata, a flow variable with
    only `output`, an autonomous-free sub-flow with an empty node."""
    bot = base_bot()
    bot["settings"] = {"timezone": "Europe/Paris", "fallbackMessage": "Oops.", "languages": ["en"]}
    ask_cards(bot)[0].update(markdown=True, metadata={"tag": "{{user.firstName}}"})
    flow = add_flow(bot, "side", [{"id": "side-text", "type": "text", "text": "side", "markdown": False,
                                   "metadata": None}],
                    variables=[{"name": "out", "type": "string", "input": False, "output": True}])
    flow["nodes"].insert(1, {"id": "empty", "kind": "standard", "cards": [], "next": None})
    return bot


BOTS = [pytest.param(path, id=path.name) for path in EXAMPLES] + [
    pytest.param("base", id="bots.base_bot"), pytest.param("richer", id="bots.richer")]


def load(which) -> dict:
    if which == "base":
        return base_bot()
    if which == "richer":
        return richer_bot()
    return parse_bot_file(which.read_text(encoding="utf-8"))


@pytest.mark.parametrize("which", BOTS)
def test_export_import_export_is_stable_and_imports_as_the_same_bot(which):
    doc = load(which)
    exported = for_export(copy.deepcopy(doc))
    imported = canonical_bot(json.loads(json.dumps(exported)))  # what import stores
    assert imported == canonical_bot(doc)
    assert for_export(imported) == exported
    assert json.dumps(for_export(imported), indent=2) == json.dumps(exported, indent=2)


@pytest.mark.parametrize("which", BOTS)
def test_the_export_carries_no_default_value(which):
    exported = for_export(load(which))
    assert len(json.dumps(exported)) < len(json.dumps(canonical_bot(load(which))))
    for key in ("settings", "config", "schemas", "folders", "intents", "entities", "tables", "knowledgeBases",
                "hooks", "agents", "webchat", "tests", "layout"):
        assert exported.get(key, "absent") not in ({}, [], ""), key
    for node in (n for flow in exported["flows"] for n in flow["nodes"]):
        assert node.get("cards", "absent") != [] and node.get("next", "absent") is not None
        for card in node.get("cards", []):
            assert card.get("markdown", "absent") is not False, card
            assert card.get("metadata", "absent") is not None, card
    for flow in exported["flows"]:
        assert flow.get("variables", "absent") != []
        for variable in flow.get("variables", []):
            assert variable.get("input", "absent") is not False and variable.get("output", "absent") is not False


def test_only_what_the_builder_set_is_written():
    exported = for_export(richer_bot())
    assert exported["settings"] == {"timezone": "Europe/Paris", "fallbackMessage": "Oops."}
    hello, side = ask_cards(exported)[0], exported["flows"][3]
    assert hello == {"id": "hello", "type": "text", "text": "Hi {{user.firstName}}", "markdown": True,
                     "metadata": {"tag": "{{user.firstName}}"}}
    assert side["variables"] == [{"name": "out", "type": "string", "output": True}]
    assert side["nodes"][1] == {"id": "empty", "kind": "standard"}
    assert side["nodes"][2]["cards"] == [{"id": "side-text", "type": "text", "text": "side"}]
    assert list(exported)[:4] == ["format", "name", "settings", "variables"]  # the fixed key order stays


def test_a_minimal_bot_exports_as_little_as_a_builder_would_write():
    doc = {"format": "flowstudio.bot/1", "name": "Tiny", "description": "",
           "flows": [{"name": "main", "nodes": [{"id": "start", "kind": "start", "next": "end"},
                                                {"id": "end", "kind": "end"}]}]}
    assert for_export(doc) == {"format": "flowstudio.bot/1", "name": "Tiny",
                               "flows": [{"name": "main", "nodes": [{"id": "start", "kind": "start", "next": "end"},
                                                                    {"id": "end", "kind": "end"}]}]}


def test_the_stored_canonical_form_keeps_every_default():
    canonical = canonical_bot(for_export(base_bot()))
    assert ask_cards(canonical)[0]["markdown"] is False
    assert canonical["settings"]["fallbackMessage"] == "Sorry, something went wrong."
    assert canonical["flows"][1]["variables"][0]["output"] is False
