"""Table cards in the pure engine, against a fake TableHost: what reaches the host (typed
template values, the build's table definition) and what a refusal does."""
from __future__ import annotations

import pytest

from runtime.engine import BuildError, compile_bot
from runtime.engine.tables import TableFailure

from .chat import Chat, bot, card, main, node, text

ORDERS = {"name": "Orders", "columns": [{"name": "item", "type": "string"}, {"name": "qty", "type": "number"}]}
VARIABLES = [{"name": "n", "type": "number", "default": 3}, {"name": "rows", "type": "array"},
             {"name": "row", "type": "object"}, {"name": "gone", "type": "number"}]


class FakeTables:
    def __init__(self, refuse: TableFailure | None = None):
        self.calls: list[tuple] = []
        self.refuse = refuse

    def _record(self, *call):
        self.calls.append(call)
        if self.refuse is not None:
            raise self.refuse

    def get_record(self, table, record_id):
        self._record("get", table["name"], record_id)
        return {"id": record_id, "item": "pen"}

    def find_records(self, table, **options):
        self._record("find", table["name"], options)
        return [{"id": 1, "item": "pen", "qty": 4}]

    def insert_record(self, table, values):
        self._record("insert", table["name"], values)
        return {"id": 7, **values}

    def update_record(self, table, record_id, values):
        self._record("update", table["name"], record_id, values)
        return {"id": record_id, **values}

    def upsert_record(self, table, key_column, values):
        self._record("upsert", table["name"], key_column, values)
        return {"id": 8, **values}, True

    def delete_records(self, table, *, ids=None, filter=None):
        self._record("delete", table["name"], ids, filter)
        return 2


def desk(*cards, failure=True):
    nodes = [node("work", *cards, next="done"), node("done", text("rows {{workflow.rows}}, row {{workflow.row.id}}"),
                                                      next=None)]
    if failure:
        nodes.append(node("refused", text("refused"), next=None))
    return bot(main(*nodes, start_next="work", variables=VARIABLES), tables=[ORDERS])


def test_templates_keep_their_types_and_unset_values_leave_their_key_out():
    tables = FakeTables()
    chat = Chat(desk(
        card("table_find", table="Orders", result="workflow.rows", filter={"qty": {"$gte": "{{workflow.n}}"}},
             search="{{event.preview}}", orderBy="qty", orderDirection="desc", limit=5),
        card("table_insert", table="Orders", result="workflow.row",
             values={"item": "{{event.preview}}", "qty": "{{workflow.missing}}"}),
    ), tables=tables)
    assert chat.say("pen")[0].endswith(", row 7")
    find, insert = tables.calls
    assert find == ("find", "Orders", {"filter": {"qty": {"$gte": 3}}, "search": "pen", "order_by": "qty",
                                       "order_direction": "desc", "limit": 5, "offset": 0})
    assert insert == ("insert", "Orders", {"item": "pen"})
    assert [t for t in chat.trace_types() if t.startswith("table_")] == ["table_find", "table_insert"]


def test_update_upsert_get_and_delete_reach_the_host():
    tables = FakeTables()
    chat = Chat(desk(
        card("table_update", table="Orders", recordId="{{workflow.n}}", values={"qty": 1}),
        card("table_upsert", table="Orders", keyColumn="item", values={"item": "ink"}),
        card("table_get", table="Orders", recordId="5", result="workflow.row"),
        card("table_delete", table="Orders", filter={"qty": 0}, result="workflow.gone"),
    ), tables=tables)
    assert chat.say("go") == ["rows , row 5"], chat.last.error
    assert [c[0] for c in tables.calls] == ["update", "upsert", "get", "delete"]
    assert tables.calls[0][2] == 3 and tables.calls[3][3] == {"qty": 0}


def test_a_refusal_takes_the_failure_port_or_reaches_the_error_flow():
    refusal = TableFailure("must be a number, not a string", path="$.values.qty")
    chat = Chat(desk(card("table_insert", table="Orders", values={"qty": "x"}, onFailure="refused")),
                tables=FakeTables(refusal))
    assert chat.say("go") == ["refused"]
    chat = Chat(desk(card("table_insert", id="save", table="Orders", values={"qty": "x"})),
                tables=FakeTables(refusal))
    chat.say("go")
    assert "table_insert card 'save' on table 'Orders' at $.values.qty: must be a number" in chat.last.error["message"]


def test_without_a_table_host_a_table_card_fails_with_a_plain_reason():
    chat = Chat(desk(card("table_get", id="get", table="Orders", recordId="1", result="workflow.row")))
    chat.say("go")
    assert "tables are not available" in chat.last.error["message"]


@pytest.mark.parametrize("bad, path", [
    (card("table_insert", table="Nope", values={}), ".table"),
    (card("table_insert", table="Orders", values={"colour": "red"}), ".values.colour"),
    (card("table_upsert", table="Orders", keyColumn="colour", values={}), ".keyColumn"),
    (card("table_find", table="Orders", orderBy="colour", result="workflow.rows"), ".orderBy"),
    (card("table_delete", table="Orders"), ".recordId"),
])
def test_a_card_naming_what_the_table_does_not_have_does_not_build(bad, path):
    with pytest.raises(BuildError) as caught:
        compile_bot(desk(bad))
    assert any(p.path.endswith(path) for p in caught.value.problems), caught.value.problems
