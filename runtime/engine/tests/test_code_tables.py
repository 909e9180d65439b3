"""Tables from Execute Code in the pure engine (`await OrdersTable.findRecords({...})`),
against an in-memory TableHost: what code gets back, what reaches the host, a refusal as an
Error the code can catch (with the path), and a table call counted inside the time limit."""
from __future__ import annotations

import time

import pytest

from runtime.engine.sandbox import JSSandbox
from runtime.engine.tables import TableFailure

from .chat import Chat, bot, card, main, node, text

ORDERS = {"name": "Orders", "columns": [{"name": "item", "type": "string"}, {"name": "qty", "type": "number"}]}
VARIABLES = [{"name": n, "type": t} for n, t in (("out", "string"), ("rows", "array"), ("row", "object"))]


class MemoryTables:
    """Rows in a dict; refuses a qty that is not a number, as the database host does."""

    def __init__(self, delay: float = 0.0):
        self.rows: dict[int, dict] = {}
        self.calls: list[str] = []
        self.delay = delay

    def _check(self, values, path):
        if "qty" in values and not isinstance(values["qty"], (int, float)):
            raise TableFailure("must be a number, not a string", path=f"{path}.qty")

    def get_record(self, table, record_id):
        self.calls.append("get")
        return self.rows.get(record_id)

    def find_records(self, table, *, filter, search, order_by, order_direction, limit, offset):
        self.calls.append(f"find {filter} {order_by} {order_direction} {limit} {offset}")
        time.sleep(self.delay)
        rows = [r for r in self.rows.values() if all(r.get(k) == v for k, v in (filter or {}).items())]
        return sorted(rows, key=lambda r: r[order_by], reverse=order_direction == "desc")[offset:offset + limit]

    def insert_record(self, table, values):
        self._check(values, "$.values")
        row = {"id": len(self.rows) + 1, **values}
        self.rows[row["id"]] = row
        return row

    def insert_records(self, table, rows):
        for i, values in enumerate(rows):
            self._check(values, f"$.rows[{i}]")
        return [self.insert_record(table, values) for values in rows]

    def update_record(self, table, record_id, values):
        if record_id not in self.rows:
            raise TableFailure(f"table 'Orders' has no row {record_id}", path="$.recordId")
        self.rows[record_id].update(values)
        return self.rows[record_id]

    def update_records(self, table, rows):
        return [self.update_record(table, r["id"], {k: v for k, v in r.items() if k != "id"}) for r in rows]

    def upsert_records(self, table, key_column, rows):
        return {"rows": [self.insert_record(table, r) for r in rows], "inserted": len(rows), "updated": 0}

    def delete_records(self, table, *, ids=None, filter=None):
        gone = [i for i in (ids or []) if self.rows.pop(i, None) is not None]
        return len(gone)


def desk(code, *, extra_tables=()):
    return bot(main(node("work", card("code", code=code), text("{{workflow.out}}"), next=None),
                    start_next="work", variables=VARIABLES), tables=[ORDERS, *extra_tables])


def test_code_reads_and_writes_rows_through_the_table_object():
    tables = MemoryTables()
    chat = Chat(desk("""
        const pen = await OrdersTable.insertRecord({item: 'pen', qty: 2});
        await OrdersTable.insertRecords([{item: 'ink', qty: 5}, {item: 'cap', qty: 2}]);
        await OrdersTable.updateRecord(pen.id, {qty: 3});
        await OrdersTable.updateRecords([{id: 3, qty: 9}]);
        const got = await OrdersTable.getRecord(pen.id);
        const found = await OrdersTable.findRecords({orderBy: 'qty', orderDirection: 'desc', limit: 2});
        const gone = await OrdersTable.deleteRecords([2, 99]);
        const missing = await OrdersTable.getRecord(2);
        workflow.out = [got.qty, found.map(r => r.item).join('+'), gone, missing === null].join(' ');
    """), tables=tables)
    assert chat.say("go") == ["3 cap+ink 1 true"]
    assert "find None qty desc 2 0" in tables.calls
    assert chat.trace_types().count("table_code_call") == 8


def test_a_refused_call_is_an_error_the_code_can_catch_with_the_path():
    chat = Chat(desk("""
        try { await OrdersTable.insertRecord({item: 'pen', qty: 'two'}); }
        catch (e) { workflow.out = e.message; }
    """), tables=MemoryTables())
    assert chat.say("go") == ["OrdersTable.insertRecord: $.values.qty: must be a number, not a string"]
    failed = [t for t in chat.last.trace if t["type"] == "table_failed"]
    assert failed[0]["path"] == "$.values.qty" and failed[0]["method"] == "insertRecord"


def test_an_uncaught_refusal_fails_the_turn_naming_the_call_and_line():
    chat = Chat(desk("workflow.out = 'x';\nawait OrdersTable.findRecords({colour: 'red'});"), tables=MemoryTables())
    chat.say("go")
    errors = [t for t in chat.last.trace if t["type"] == "error"]
    assert errors and "OrdersTable.findRecords: $.colour: unknown option 'colour'" in errors[0]["message"]
    assert "(line 2" in errors[0]["message"]


@pytest.mark.parametrize("code, words", [
    ("await OrdersTable.findRecords({selectorName: 'adults'})", "$.selectorName: selectors are not available"),
    ("await OrdersTable.updateRecord(1, {qty: 1}, 3)", "takes 2 arguments (id, values), got 3"),
    ("await OrdersTable.insertRecords({item: 'pen'})", "$.rows: insertRecords must be an array of rows"),
    ("await OrdersTable.deleteRecords({filter: {}})", "give an array of row ids"),
    ("await OrdersTable.findRecords({limit: 10n})", "the arguments are not JSON"),
])
def test_bad_calls_say_what_is_wrong(code, words):
    chat = Chat(desk(f"try {{ {code}; }} catch (e) {{ workflow.out = e.message; }}"), tables=MemoryTables())
    (said,) = chat.say("go")
    assert words in said


def test_a_table_named_with_table_keeps_its_name_and_a_scope_name_is_not_bound():
    extra = ({"name": "StockTable", "columns": [{"name": "item", "type": "string"}]},
             {"name": "user", "columns": [{"name": "item", "type": "string"}]})
    chat = Chat(desk("workflow.out = [typeof StockTable.findRecords, typeof userTable, typeof user].join(' ');",
                     extra_tables=extra), tables=MemoryTables())
    assert chat.say("go") == ["function object object"]


def test_without_a_table_host_the_code_gets_an_error():
    chat = Chat(desk("try { await OrdersTable.getRecord(1); } catch (e) { workflow.out = e.message; }"))
    assert chat.say("go") == ["OrdersTable.getRecord: tables are not available where this bot runs"]


def test_a_slow_table_call_counts_inside_the_codes_time_limit():
    sandbox = JSSandbox(timeout_ms=300)
    try:
        chat = Chat(desk("await OrdersTable.findRecords({}); await OrdersTable.findRecords({}); workflow.out = 'done';"),
                    tables=MemoryTables(delay=0.2), sandbox=sandbox)
        started = time.monotonic()
        chat.say("go")
        assert time.monotonic() - started < 1.0
        errors = [t for t in chat.last.trace if t["type"] == "error"]
        assert errors and "did not finish within 300 ms" in errors[0]["message"]
    finally:
        sandbox.close()


def test_a_call_not_awaited_before_the_code_returns_is_not_made():
    tables = MemoryTables()
    chat = Chat(desk("OrdersTable.insertRecord({item: 'pen'}); workflow.out = 'returned';"), tables=tables)
    assert chat.say("go") == ["returned"]
    assert tables.rows == {}
