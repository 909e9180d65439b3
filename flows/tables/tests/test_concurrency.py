"""Two writers on one row at once (real PostgreSQL, real threads and connections): an update
merges into the row it has locked, so neither writer's columns are lost and each column
ends with one writer's whole value."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from flows import services
from flows.tables import service
from flows.tables.tests.conftest import COLUMNS


@pytest.mark.django_db(transaction=True)
def test_concurrent_updates_of_one_row_keep_both_writers_columns():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    bot = services.create_bot(services.default_workspace(), name="Race")
    table = service.create_table(bot, {"name": "Items", "columns": COLUMNS})
    row = service.insert_row(bot.pk, table, {"name": "start", "price": 0})["id"]
    start = threading.Barrier(2)
    failures = []

    def writer(values_for):
        try:
            start.wait()
            for i in range(25):
                service.update_row(bot.pk, table, row, values_for(i))
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(lambda i: {"price": i, "tags": {"by": "a", "n": i}},)),
               threading.Thread(target=writer, args=(lambda i: {"name": f"b{i}", "tags": {"by": "b", "n": i}},))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    final = service.get_row(bot.pk, table, row)
    assert final["price"] == 24 and final["name"] == "b24"
    assert final["tags"] in ({"by": "a", "n": 24}, {"by": "b", "n": 24})
