"""Locating problems in the bot, the editor's warnings, and the card catalogue."""
from studio.editor.catalogue import card_catalogue
from studio.editor.problems import locate, path_parts, warnings

DOC = {
    "format": "flowstudio.bot/1",
    "name": "Shop",
    "variables": [{"scope": "user", "name": "plan", "type": "string"}],
    "config": [{"name": "KEY"}],
    "flows": [
        {"name": "main", "variables": [{"name": "size", "type": "string"}], "nodes": [
            {"id": "start", "kind": "start", "next": "ask"},
            {"id": "ask", "kind": "standard", "cards": [
                {"id": "c1", "type": "text", "text": "{{workflow.size}} {{user.plan}} @user.ghost {{ env.KEY }}"},
                {"id": "c2", "type": "call", "flow": "pay-now", "name": "pay", "inputs": {"amount": "{{workflow.total}}"}},
                {"id": "c3", "type": "code", "code": "workflow.pay.ok; bot.missing = 1; event.preview"},
                {"id": "c4", "type": "expression", "condition": "true", "next": "yes"},
                {"id": "c5", "type": "comment", "text": "workflow.notes are fine in comments"},
            ], "next": None},
            {"id": "yes", "kind": "standard", "cards": [], "next": None},
            {"id": "orphan", "kind": "standard", "cards": [], "next": "yes"},
        ]},
        {"name": "pay-now", "nodes": [{"id": "entry", "kind": "entry", "next": "exit"}, {"id": "exit", "kind": "exit"}]},
        {"name": "unused", "nodes": [{"id": "entry", "kind": "entry", "next": "exit"}, {"id": "exit", "kind": "exit"}]},
    ],
}


def test_path_parts_reads_dots_indexes_and_quoted_keys():
    assert path_parts('$.flows[1].nodes[0].cards[2].inputs.amount') == ["flows", 1, "nodes", 0, "cards", 2, "inputs", "amount"]
    assert path_parts('$.layout["pay-now"].entry') == ["layout", "pay-now", "entry"]
    assert path_parts("$") == []


def test_locate_names_flow_node_card_and_field():
    assert locate(DOC, "$.flows[0].nodes[1].cards[1].inputs.amount") == {
        "section": "flows", "flow": "main", "node": "ask", "card": "c2", "field": "inputs"}
    assert locate(DOC, "$.flows[0].nodes[1].next") == {"section": "flows", "flow": "main", "node": "ask", "field": "next"}
    assert locate(DOC, "$.flows[0].variables[0].default") == {"section": "flows", "flow": "main", "variable": "size", "field": "default"}
    assert locate(DOC, '$.layout["pay-now"].ghost') == {"section": "layout", "flow": "pay-now", "node": "ghost"}
    assert locate(DOC, "$.variables[0].type") == {"section": "variables", "variable": "plan"}
    assert locate(DOC, "$.flows[9].nodes[0]") == {"section": "flows"}  # out of range: no guess


def test_warnings():
    found = {(w.path, w.message) for w in warnings(DOC)}
    assert ("$.flows[0].nodes[3]", "node 'orphan' is never reached: no transition leads to it") in found
    assert ("$.flows[0].nodes[1].cards[0].text", "user.ghost is not declared and no card or code writes it; add it to the user variables") in found
    assert ("$.flows[0].nodes[1].cards[1].inputs.amount", "workflow.total is not declared and no card or code writes it; add it to this flow's variables") in found
    assert ("$.flows[0].nodes[1].cards[2].code", "bot.missing is not declared; add it to the bot variables") in found
    assert ("$.flows[2]", "flow 'unused' is never called: no Workflow card uses it") in found
    messages = " ".join(message for _, message in found)
    for fine in ("workflow.size", "user.plan", "env.KEY", "workflow.pay ", "workflow.notes", "'yes'", "'pay-now'"):
        assert fine not in messages


def test_warnings_tolerate_any_shape():
    assert warnings({"flows": [None, {"nodes": "x"}, {"name": "main", "nodes": [1, {"id": "a", "kind": "start"}]}]}) == []
    assert warnings([]) == []


def test_catalogue_gives_every_card_a_schema_a_category_and_field_editors():
    catalogue = {entry["type"]: entry for entry in card_catalogue()}
    assert catalogue["text"]["editors"] == {"text": "template"}
    assert catalogue["code"]["editors"] == {"code": "code"}
    assert catalogue["expression"]["editors"] == {"condition": "expression", "next": "node"}
    assert catalogue["capture"]["editors"]["onFailure"] == "node"
    assert catalogue["capture"]["editors"]["variable"] == "variable"
    assert catalogue["call"]["editors"] == {"flow": "flow", "inputs": "inputs"}
    assert catalogue["image"]["title"] == "Image"
    for entry in catalogue.values():
        # The tray's categories as Card_Tray.md lists them.
        assert entry["category"] in ("Send Messages", "Execute", "Webchat", "Flow Logic", "AI",
                                     "Capture Information", "Events", "Agents", "Utilities")
        assert entry["schema"]["properties"]["type"] == {"const": entry["type"]}
