"""The version diff (flows.versions_diff): what a person comparing two versions needs to see."""
import copy

from flows.versions_diff import diff_definitions, summary_text

BASE = {
    "format": "flowstudio.bot/1",
    "name": "Shop",
    "settings": {"timezone": "UTC"},
    "variables": [{"scope": "user", "name": "plan", "type": "string"}],
    "config": [{"name": "KEY"}],
    "flows": [
        {"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "ask"},
            {"id": "ask", "kind": "standard", "cards": [
                {"id": "greet", "type": "text", "text": "Hi"},
                {"id": "wait1", "type": "wait"},
            ], "next": "end"},
            {"id": "end", "kind": "end"},
        ]},
        {"name": "checkout", "nodes": [{"id": "entry", "kind": "entry", "next": "exit"}, {"id": "exit", "kind": "exit"}]},
    ],
    "layout": {"main": {"start": [0, 0]}},
}


def _edit(change):
    doc = copy.deepcopy(BASE)
    change(doc)
    return doc


def test_identical_documents_have_no_changes():
    diff = diff_definitions(BASE, copy.deepcopy(BASE))
    assert diff["identical"] is True
    assert summary_text(diff) == "no changes"


def test_added_removed_and_changed_nodes_and_cards():
    def change(doc):
        main = doc["flows"][0]["nodes"]
        main[1]["cards"][0]["text"] = "Hello"          # card changed
        del main[1]["cards"][1]                          # card removed
        main.insert(2, {"id": "bye", "kind": "standard", "cards": [{"id": "bye-t", "type": "text", "text": "Bye"}],
                        "next": "end"})                  # node + card added
        main[1]["next"] = "bye"                          # node changed
        doc["flows"].pop()                               # flow removed

    diff = diff_definitions(BASE, _edit(change))
    assert diff["flows"] == {"added": [], "removed": ["checkout"], "changed": ["main"]}
    assert [n["id"] for n in diff["nodes"]["added"]] == ["bye"]
    assert {(n["flow"], n["id"]) for n in diff["nodes"]["removed"]} == {("checkout", "entry"), ("checkout", "exit")}
    assert diff["nodes"]["changed"] == [{"flow": "main", "id": "ask", "name": None, "kind": "standard",
                                          "fields": ["next", "cards"]}]
    assert diff["cards"]["added"] == [{"flow": "main", "node": "bye", "id": "bye-t", "type": "text"}]
    assert diff["cards"]["removed"] == [{"flow": "main", "node": "ask", "id": "wait1", "type": "wait"}]
    assert diff["cards"]["changed"] == [{"flow": "main", "node": "ask", "id": "greet", "type": "text",
                                          "fields": ["text"]}]
    assert diff["counts"]["cards"] == 3
    assert summary_text(diff).startswith("1 flow removed, 1 flow changed, 1 node added, 2 nodes removed")


def test_a_card_moved_to_another_node_is_changed_with_where_it_came_from():
    def change(doc):
        nodes = doc["flows"][0]["nodes"]
        card = nodes[1]["cards"].pop(0)
        nodes.insert(2, {"id": "other", "kind": "standard", "cards": [card], "next": "end"})

    diff = diff_definitions(BASE, _edit(change))
    moved = diff["cards"]["changed"][0]
    assert moved["id"] == "greet" and moved["node"] == "other" and moved["fields"] == ["node"]
    assert moved["from"] == {"flow": "main", "node": "ask"}


def test_bot_settings_variables_config_and_layout():
    def change(doc):
        doc["settings"]["timezone"] = "Europe/Paris"
        doc["variables"].append({"scope": "bot", "name": "total", "type": "number"})
        doc["config"] = []
        doc["layout"] = {}

    diff = diff_definitions(BASE, _edit(change))
    assert diff["bot"]["changed"] == ["settings"]
    assert diff["variables"]["added"] == ["bot.total"]
    assert diff["config"]["removed"] == ["KEY"]
    assert diff["layoutChanged"] is True
    assert diff["identical"] is False


def test_unfinished_or_garbage_documents_do_not_break_the_diff():
    broken = {"flows": [None, {"name": "main", "nodes": [{"kind": "start"}, "x", {"id": "a", "cards": "no"}]}]}
    diff = diff_definitions(BASE, broken)
    assert diff["flows"]["removed"] == ["checkout"]
    assert diff_definitions(None, None)["identical"] is True


def test_a_version_stored_before_folders_existed_differs_only_by_the_folders_a_builder_made():
    # Versions published before the bot file had `folders` lack the key: that is no folder.
    assert diff_definitions(BASE, _edit(lambda doc: doc.update(folders=[])))["identical"] is True
    diff = diff_definitions(BASE, _edit(lambda doc: doc.update(folders=["shop"])))
    assert diff["bot"]["changed"] == ["folders"]
