"""Table cards in whole conversations through the turn service (real PostgreSQL): a bot
that takes orders into its Orders table, finds them, updates and deletes them, and what a
user sees when a value does not fit its column."""
import pytest

from flows.models import TableRow
from flows.tables import service
from runtime import turns
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db

ORDERS = {"name": "Orders", "columns": [
    {"name": "item", "type": "string", "searchable": True},
    {"name": "qty", "type": "number"},
    {"name": "status", "type": "string"},
]}


def shop():
    variables = [{"name": n, "type": t} for n, t in (("row", "object"), ("rows", "array"), ("gone", "number"),
                                                     ("found", "object"))]
    return {
        "format": "flowstudio.bot/1", "name": "Order desk", "tables": [ORDERS],
        "flows": [{"name": "main", "variables": variables, "nodes": [
            {"id": "start", "kind": "start", "next": "save"},
            {"id": "save", "kind": "standard", "next": "report", "cards": [
                {"id": "insert", "type": "table_insert", "table": "Orders", "result": "workflow.row",
                 "values": {"item": "{{event.preview}}", "qty": 2, "status": "new"}, "onFailure": "refused"},
                {"id": "upsert", "type": "table_upsert", "table": "Orders", "keyColumn": "item",
                 "values": {"item": "stock check", "qty": 0, "status": "internal"}},
            ]},
            {"id": "report", "kind": "standard", "next": "confirm", "cards": [
                {"id": "find", "type": "table_find", "table": "Orders", "result": "workflow.rows",
                 "filter": {"status": "new", "qty": {"$gte": "{{workflow.row.qty}}"}}, "orderBy": "id"},
                {"id": "said", "type": "text",
                 "text": "Order {{workflow.row.id}} for {{workflow.row.item}} saved; {{workflow.rows.length}} new."},
            ]},
            {"id": "confirm", "kind": "standard", "next": "ship", "cards": [
                {"id": "wait", "type": "wait"},
            ]},
            {"id": "ship", "kind": "standard", "next": "end", "cards": [
                {"id": "update", "type": "table_update", "table": "Orders", "recordId": "{{workflow.row.id}}",
                 "values": {"status": "{{event.preview}}"}, "result": "workflow.row"},
                {"id": "get", "type": "table_get", "table": "Orders", "recordId": "{{workflow.row.id}}",
                 "result": "workflow.found"},
                {"id": "delete", "type": "table_delete", "table": "Orders", "filter": {"status": "internal"},
                 "result": "workflow.gone"},
                {"id": "shipped", "type": "text",
                 "text": "Order {{workflow.found.id}} is {{workflow.found.status}}; {{workflow.gone}} removed."},
            ]},
            {"id": "refused", "kind": "standard", "next": "end", "cards": [
                {"id": "sorry", "type": "text", "text": "That order could not be saved."},
            ]},
            {"id": "end", "kind": "end"},
        ]}],
    }


def say(conversation, text):
    outcome = turns.send_user_message(conversation, text)
    assert not outcome.failed, outcome.error
    return [output.get("text") for output in outcome.outputs], outcome


def start(bot):
    return turns.start_conversation(bot, turns.get_or_create_user(bot, None))


def test_a_published_bot_keeps_records_in_its_table():
    bot = create_bot(shop())
    first = start(bot)
    texts, _ = say(first, "blue pen")
    row = TableRow.objects.get(bot=bot, data__item="blue pen")
    assert texts == [f"Order {row.pk} for blue pen saved; 1 new."]
    texts, outcome = say(first, "shipped")
    assert texts == [f"Order {row.pk} is shipped; 1 removed."]
    assert [t["type"] for t in outcome.trace if t["type"].startswith("table_")] == [
        "table_update", "table_get", "table_delete"]
    # A second conversation sees the rows the first wrote.
    texts, _ = say(start(bot), "red ink")
    assert texts[0].endswith("saved; 1 new.")
    table = service.get_table(bot, "Orders")
    assert sorted(r["item"] for r in service.find_rows(bot.pk, table)["rows"]) == ["blue pen", "red ink",
                                                                                   "stock check"]


def test_a_value_the_column_refuses_takes_the_failure_port():
    definition = shop()
    definition["flows"][0]["nodes"][1]["cards"][0]["values"]["qty"] = "{{event.preview}}"
    bot = create_bot(definition)
    texts, outcome = say(start(bot), "lots")
    assert texts == ["That order could not be saved."]
    failed = [t for t in outcome.trace if t["type"] == "table_failed"]
    assert failed[0]["path"] == "$.values.qty" and "must be a number" in failed[0]["message"]
    assert not TableRow.objects.filter(bot=bot).exists()


def test_without_a_failure_port_the_error_flow_names_the_card_and_the_column():
    definition = shop()
    card = definition["flows"][0]["nodes"][1]["cards"][0]
    card["values"]["qty"] = "{{event.preview}}"
    del card["onFailure"]
    bot = create_bot(definition)
    texts, outcome = say(start(bot), "lots")
    errors = [t for t in outcome.trace if t["type"] == "error"]
    assert errors and "table_insert card 'insert' on table 'Orders' at $.values.qty: must be a number" in \
        errors[0]["message"]


@pytest.mark.django_db(transaction=True)
def test_the_loops_executor_writes_rows_from_the_engine_pool():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the loop's executor is PostgreSQL's")
    from runtime import async_turns
    from runtime.tests.server_loop import close_pools, run

    try:
        bot = create_bot(shop())
        conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "someone"))
        texts = []
        for text in ("green pen", "shipped"):
            event = run(async_turns.receive_event(conversation, "text", {"text": text}))
            outcome = next(o for o in run(async_turns.process_pending(conversation.pk)) if o.event.pk == event.pk)
            texts.append([output.get("text") for output in outcome.outputs])
        row = TableRow.objects.get(bot=bot, data__item="green pen")
        assert texts == [[f"Order {row.pk} for green pen saved; 1 new."], [f"Order {row.pk} is shipped; 1 removed."]]
        assert row.data["status"] == "shipped"
    finally:
        close_pools()


CODE = """
const saved = await OrdersTable.insertRecord({item: event.preview, qty: 2, status: 'new'});
await OrdersTable.insertRecords([{item: 'ink', qty: 1, status: 'new'}, {item: 'cap', qty: 7, status: 'old'}]);
await OrdersTable.updateRecord(saved.id, {qty: 4});
const fresh = await OrdersTable.findRecords({filter: {status: 'new'}, orderBy: 'qty', orderDirection: 'desc'});
let refused = '';
try { await OrdersTable.updateRecords([{id: saved.id, qty: 'many'}]); } catch (e) { refused = e.message; }
const gone = await OrdersTable.deleteRecords({filter: {status: 'old'}});
workflow.said = fresh.map(r => r.item + ':' + r.qty).join(', ') + ' | ' + gone + ' | ' + refused;
"""


def coder():
    return {
        "format": "flowstudio.bot/1", "name": "Code desk", "tables": [ORDERS],
        "flows": [{"name": "main", "variables": [{"name": "said", "type": "string"}], "nodes": [
            {"id": "start", "kind": "start", "next": "work"},
            {"id": "work", "kind": "standard", "next": "end", "cards": [
                {"id": "code", "type": "code", "code": CODE},
                {"id": "say", "type": "text", "text": "{{workflow.said}}"}]},
            {"id": "end", "kind": "end"},
        ]}],
    }


EXPECTED = "blue pen:4, ink:1 | 1 | OrdersTable.updateRecords: $.rows[0].qty: must be a number, not a string"


def test_execute_code_reads_and_writes_the_table_rows():
    bot = create_bot(coder())
    texts, outcome = say(start(bot), "blue pen")
    assert texts == [EXPECTED]
    assert sorted(TableRow.objects.filter(bot=bot).values_list("data__item", flat=True)) == ["blue pen", "ink"]
    assert TableRow.objects.get(bot=bot, data__item="blue pen").data["qty"] == 4


@pytest.mark.django_db(transaction=True)
def test_execute_code_table_calls_run_on_the_engine_pool_not_the_event_loop():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the loop's executor is PostgreSQL's")
    from runtime import async_turns
    from runtime.tests.server_loop import close_pools, run

    try:
        bot = create_bot(coder())
        conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "someone"))
        event = run(async_turns.receive_event(conversation, "text", {"text": "green pen"}))
        outcome = next(o for o in run(async_turns.process_pending(conversation.pk)) if o.event.pk == event.pk)
        # Django refuses database work on a thread with a running event loop
        # (SynchronousOnlyOperation), so rows written means the calls ran off the loop.
        assert [output.get("text") for output in outcome.outputs] == [EXPECTED.replace("blue", "green")]
        assert TableRow.objects.filter(bot=bot).count() == 2
    finally:
        close_pools()


@pytest.mark.django_db(transaction=True)
def test_a_table_call_from_code_is_bounded_by_the_time_the_code_has_left():
    from django.db import OperationalError, connection

    from runtime import table_gateway

    if connection.vendor != "postgresql":
        pytest.skip("a statement timeout is PostgreSQL's")
    gateway = table_gateway.for_bot(create_bot(coder()).pk)
    with pytest.raises(OperationalError, match="statement timeout"):
        with gateway.time_limit(0.05):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(1)")
    # The limit went with its transaction: the next statement may take its time.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.1)")
    with gateway.time_limit(1):
        assert gateway.insert_record(ORDERS, {"item": "pen"})["item"] == "pen"
    assert TableRow.objects.filter(data__item="pen").count() == 1
