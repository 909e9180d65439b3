"""The card tray's catalogue: every card can be told apart in the tray (title, icon) and
explains itself on hover (hint)."""
from runtime.engine import CARD_TYPES
from studio.editor.catalogue import card_catalogue


def test_every_card_type_of_the_registry_is_in_the_catalogue():
    assert sorted(entry["type"] for entry in card_catalogue()) == sorted(CARD_TYPES)


def test_every_tray_entry_has_a_hint_in_a_sentence():
    missing = [entry["type"] for entry in card_catalogue() if not entry["hint"].strip()]
    assert missing == []
    assert all(entry["hint"].rstrip().endswith(".") for entry in card_catalogue())


def test_no_two_cards_share_an_icon_or_a_title():
    entries = card_catalogue()
    assert all(entry["icon"] for entry in entries), [entry["type"] for entry in entries if not entry["icon"]]
    icons = {}
    for entry in entries:
        icons.setdefault(entry["icon"], []).append(entry["type"])
    assert [types for types in icons.values() if len(types) > 1] == []
    titles = [entry["title"] for entry in entries]
    assert sorted(set(titles)) == sorted(titles)


def test_written_types_are_the_type_flow_checkers_for_the_picker_and_completion():
    from studio.editor.catalogue import trigger_types, written_types

    written = written_types()
    assert written["capture"]["person"] == {"type": "object", "fields": {"first": "string", "last": "string"}}
    assert written["capture"]["number"] == {"type": "number", "fields": None}
    assert written["capture"]["email"] == {"type": "string", "fields": None}
    assert written["cards"]["webchatGetUserData"]["fields"] == {
        "id": "string", "name": "string", "pictureUrl": "string", "data": "object"}
    assert written["cards"]["ai_generate_text"] == {"type": "string", "fields": None}
    assert "capture" not in written["cards"] and "text" not in written["cards"]
    assert trigger_types() == ["conversation_started", "event", "state_expired",
                               "workflow_request", "workflow_notify", "workflow_callback", "webhook", "schedule"]
