"""Parsing, the examples, the canonical form and the committed schema."""
import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from flows.botfile import BotFileInvalid, Problem, canonical_bot, normalize_bot, parse_bot_file, validate_bot
from flows.botfile.schema import SCHEMA_PATH, build_schema, render_schema

from .bots import ask_cards, base_bot, main_flow

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.bot.json"))


def test_bad_json_text_is_reported_with_line_and_column():
    text = '{\n  "format": "flowstudio.bot/1",\n  "name": "Oops",,\n}'
    with pytest.raises(BotFileInvalid) as caught:
        parse_bot_file(text)
    [problem] = caught.value.problems
    assert problem.path == "$"
    assert "invalid JSON at line 3, column 18" in problem.message


def test_json_that_is_not_an_object_is_refused():
    with pytest.raises(BotFileInvalid) as caught:
        parse_bot_file("[1, 2]")
    assert caught.value.problems == [Problem("$", "a bot file is a JSON object, not list")]


def test_nan_is_not_json():
    with pytest.raises(BotFileInvalid) as caught:
        parse_bot_file('{"format": "flowstudio.bot/1", "name": "x", "settings": {"intentConfidence": NaN}}')
    assert "NaN is not a JSON number" in caught.value.problems[0].message


def test_a_byte_order_mark_is_tolerated():
    assert parse_bot_file('\ufeff{"name": "x"}') == {"name": "x"}


def test_every_problem_is_reported_not_just_the_first():
    bot = base_bot()
    bot["colour"] = "blue"
    bot["settings"] = {"timezone": "Nowhere/Land"}
    ask_cards(bot)[0]["type"] = "txt"
    ask_cards(bot)[1]["next"] = "upsell"
    bot["layout"]["main"]["ghost"] = [0, 0]
    paths = [problem.path for problem in validate_bot(bot)]
    assert sorted(paths) == sorted([
        "$.colour",
        "$.settings.timezone",
        "$.flows[0].nodes[1].cards[0].type",
        "$.flows[0].nodes[1].cards[1].next",
        "$.layout.main.ghost",
    ])


def test_bot_file_invalid_reads_as_a_list_of_places_and_reasons():
    error = BotFileInvalid([Problem("$.name", "must not be empty"), Problem("$.flows", "no flow named 'main'")])
    assert str(error) == (
        "the bot file has 2 problems:\n"
        "  $.name: must not be empty\n"
        "  $.flows: no flow named 'main'"
    )


def test_a_minimal_file_gets_every_default():
    bot = normalize_bot({
        "format": "flowstudio.bot/1",
        "name": "Tiny",
        "flows": [{"name": "main", "nodes": [{"id": "start", "kind": "start", "next": "hi"},
                                             {"id": "hi", "kind": "standard",
                                              "cards": [{"id": "t", "type": "text", "text": "hi"}]}]}],
    })
    assert bot["settings"] == {
        "inactivityTimeoutMinutes": 30, "nodeRepetitionLimit": 10, "timezone": "UTC",
        "languages": ["en"], "defaultLanguage": "en", "intentConfidence": 0.6,
        "fallbackMessage": "Sorry, something went wrong.",
    }
    for key in ("variables", "config", "schemas", "folders", "intents", "entities", "tables", "knowledgeBases",
                "hooks", "tests"):
        assert bot[key] == []
    assert (bot["agents"], bot["webchat"], bot["layout"], bot["description"]) == ({}, {}, {}, "")
    start, hi = bot["flows"][0]["nodes"]
    assert start["cards"] == [] and hi["next"] is None
    assert bot["flows"][0]["variables"] == []


def test_canonical_form_has_every_key_in_a_fixed_order():
    bot = base_bot()
    shuffled = dict(reversed(list(bot.items())))
    main_flow(shuffled)["nodes"][1] = dict(reversed(list(main_flow(shuffled)["nodes"][1].items())))
    canonical = canonical_bot(shuffled)
    assert list(canonical) == [
        "format", "name", "description", "settings", "variables", "config", "schemas", "folders", "flows",
        "intents", "entities", "tables", "knowledgeBases", "hooks", "agents", "webchat", "tests", "layout",
    ]
    assert list(canonical["flows"][0]["nodes"][1]) == ["id", "kind", "cards", "next"]
    assert json.dumps(canonical) == json.dumps(canonical_bot(base_bot()))


def test_canonical_form_fills_card_defaults_and_flow_variable_flags():
    canonical = canonical_bot(base_bot())
    hello = canonical["flows"][0]["nodes"][1]["cards"][0]
    assert list(hello)[:2] == ["id", "type"] and hello["markdown"] is False
    amount = canonical["flows"][1]["variables"][0]
    assert (amount["input"], amount["output"]) == (True, False)


def test_canonical_form_does_not_change_its_input():
    bot = base_bot()
    before = copy.deepcopy(bot)
    canonical_bot(bot)
    assert bot == before


def test_canonical_refuses_an_invalid_bot():
    bot = base_bot()
    del bot["flows"][0]["nodes"][0]
    with pytest.raises(BotFileInvalid) as caught:
        canonical_bot(bot)
    assert any(p.path == "$.flows[0].nodes" for p in caught.value.problems)


def test_there_are_example_bots():
    assert {path.name for path in EXAMPLES} >= {"demo.bot.json", "hello.bot.json", "bench20.bot.json"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_is_valid(path):
    assert validate_bot(parse_bot_file(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_canonical_of_canonical_is_canonical(path):
    once = canonical_bot(parse_bot_file(path.read_text(encoding="utf-8")))
    assert canonical_bot(once) == once
    assert json.dumps(canonical_bot(json.loads(json.dumps(once)))) == json.dumps(once)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_node_has_a_position(path):
    bot = parse_bot_file(path.read_text(encoding="utf-8"))
    for flow in bot["flows"]:
        assert set(bot["layout"][flow["name"]]) == {node["id"] for node in flow["nodes"]}, flow["name"]


def test_bench_bot_has_exactly_twenty_nodes():
    bench = parse_bot_file((EXAMPLES[0].parent / "bench20.bot.json").read_text(encoding="utf-8"))
    assert sum(len(flow["nodes"]) for flow in bench["flows"]) == 20
    code_cards = [card for flow in bench["flows"] for node in flow["nodes"]
                  for card in node.get("cards", []) if card["type"] == "code"]
    assert len(code_cards) == 1


def test_committed_schema_matches_the_card_registry():
    # if this fails: python -m flows.botfile.schema
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(build_schema())


def test_committed_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_external_tools_can_check_examples_with_the_schema_alone(path):
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert [e.message for e in validator.iter_errors(json.loads(path.read_text(encoding="utf-8")))] == []


def test_the_schema_alone_rejects_a_card_field_typo():
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    bot = base_bot()
    ask_cards(bot)[1]["conditon"] = ask_cards(bot)[1].pop("condition")
    assert not validator.is_valid(bot)


def test_the_example_in_the_format_doc_is_valid():
    doc = (Path(__file__).resolve().parents[3] / "docs" / "bot-format.md").read_text(encoding="utf-8")
    section = doc.split("## A complete example", 1)[1]
    block = section.split("```json", 1)[1].split("```", 1)[0]
    assert validate_bot(parse_bot_file(block)) == []


def test_the_command_line_check_prints_every_problem(tmp_path, capsys):
    from flows.botfile.__main__ import main

    good = EXAMPLES[0]
    bad = tmp_path / "bad.bot.json"
    bad.write_text('{"format": "flowstudio.bot/1", "name": "x", "flows": [], "colour": 1}')
    assert main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{bad}: $.colour: unknown top-level key 'colour'; allowed: format, name, description, settings, "
        "variables, config, schemas, folders, flows, intents, entities, tables, knowledgeBases, hooks, agents, "
        "webchat, tests, layout",
        f"{bad}: $.flows: the bot has no flow named 'main'; every bot starts at main's start node",
    ]
    assert main([str(good)]) == 0


def test_canonical_form_fills_library_defaults_in_a_fixed_key_order():
    canonical = canonical_bot(base_bot())
    intent = canonical["intents"][0]
    assert list(intent) == ["name", "description", "utterances"] and intent["description"] == ""
    sku, size = canonical["entities"]
    assert sku == {"name": "sku", "type": "pattern", "description": "", "pattern": "[A-Z]{3}-[0-9]{4}",
                   "ignoreCase": False, "sensitive": False}
    assert list(size) == ["name", "type", "description", "fuzzy", "values"] and size["fuzzy"] == "medium"
    assert size["values"] == [{"name": "large", "synonyms": ["big", "xl"]}]
    assert canonical_bot(canonical) == canonical


def test_the_schema_describes_library_entries_for_editors():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    bot = base_bot()
    assert validator.is_valid(bot)
    bot["intents"][0]["utterances"] = bot["intents"][0]["utterances"][:3]
    bot["entities"][1]["fuzzy"] = "very"
    assert {tuple(e.absolute_path)[:2] for e in validator.iter_errors(bot)} == {("intents", 0), ("entities", 1)}
    intent_card = schema["$defs"]["card.intent"]["properties"]
    assert intent_card["intent"]["x-options"] == "intents" and intent_card["utterances"]["title"] == "Inline intent"
