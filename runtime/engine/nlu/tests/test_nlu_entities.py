from datetime import datetime, timezone

from runtime.engine.nlu import extract_system_entities

NOW = datetime(2025, 3, 12, 14, 30, tzinfo=timezone.utc)


def test_finds_each_system_entity_with_its_span():
    text = ("Email bob@example.com or call 514 555 0123 before tomorrow at 3pm; budget $1,200, "
            "15% off, see https://shop.example.com/a. I need 3 rooms")
    entities = extract_system_entities(text, now=NOW, tz="America/New_York")
    by_type = {e["type"]: e for e in entities}
    assert by_type["email"]["value"] == "bob@example.com"
    assert by_type["phone"]["value"] == "+15145550123"
    assert by_type["datetime"]["value"] == "2025-03-13T15:00:00-04:00"
    assert by_type["money"]["value"] == {"amount": 1200.0, "currency": "USD"}
    assert by_type["percentage"]["value"] == 15
    assert by_type["url"]["value"] == "https://shop.example.com/a"
    assert by_type["number"]["value"] == 3
    for e in entities:
        assert text[e["start"]:e["end"]] == e["text"]
    # The phone's digits, the price and the percentage are not reported again as numbers.
    assert [e["type"] for e in entities].count("number") == 1


def test_plain_text_has_no_entities():
    assert extract_system_entities("hello there, how are you", now=NOW) == []
