"""The engine's `TableHost` (runtime/engine/tables.py) over the database: table cards of
one bot's turn read and write its rows through `flows.tables.service`.

A table write is done when the card runs, not when the turn is stored: on PostgreSQL the
engine runs on the engine pool with no transaction (runtime/async_turns.py), so each call
is its own short transaction, and the connection it opened on the pool's thread is closed
again, so a turn that goes on to wait on a model holds no connection. On the ORM executor
(SQLite) the turn's transaction is open around the engine; the calls run inside it.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from django.db import OperationalError, connection, transaction
from psycopg.errors import QueryCanceled

from flows.tables import service
from flows.tables.definition import TableError, parse_definition
from runtime.engine.tables import TableFailure


class TableGateway:
    def __init__(self, bot_id):
        self.bot_id = bot_id

    def _call(self, operation, table: dict, *args, **kwargs):
        try:
            return operation(self.bot_id, parse_definition(table), *args, **kwargs)
        except TableError as exc:
            raise TableFailure(exc.message, path=exc.path) from None
        except service.RowNotFound as exc:
            raise TableFailure(str(exc), path="$.recordId") from None
        except OperationalError as exc:
            if not isinstance(exc.__cause__, QueryCanceled):
                raise
            raise TableFailure("the table call did not finish within the time the code had left") from None
        finally:
            if not connection.in_atomic_block:
                connection.close()

    @contextmanager
    def time_limit(self, seconds: float):
        """The calls inside may run for `seconds` at most (PostgreSQL's statement timeout),
        so a table call from Execute Code cannot outlast the code's time limit by a slow
        query. Only where no transaction is open (the engine pool): a SET LOCAL inside the
        turn's own transaction (SQLite has none to set anyway) would outlive the call."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            yield
            return
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('statement_timeout', %s, true)",
                                   [f"{max(1, int(seconds * 1000))}ms"])
                yield
        finally:
            connection.close()

    def get_record(self, table: dict, record_id: Any) -> dict | None:
        return self._call(service.get_row, table, record_id)

    def find_records(self, table: dict, *, filter, search, order_by, order_direction, limit, offset) -> list[dict]:
        return self._call(service.find_rows, table, filter=filter, search=search, order_by=order_by,
                          order_direction=order_direction, limit=limit, offset=offset)["rows"]

    def insert_record(self, table: dict, values: dict) -> dict:
        return self._call(service.insert_row, table, values)

    def update_record(self, table: dict, record_id: Any, values: dict) -> dict:
        return self._call(service.update_row, table, record_id, values)

    def upsert_record(self, table: dict, key_column: str, values: dict) -> tuple[dict, bool]:
        result = self._call(service.upsert_rows, table, key_column, [values], ["values"])
        return result["rows"][0], bool(result["inserted"])

    def delete_records(self, table: dict, *, ids=None, filter=None) -> int:
        return self._call(service.delete_rows, table, ids=ids, filter=filter)

    def insert_records(self, table: dict, rows: list) -> list[dict]:
        return self._call(service.insert_rows, table, rows, ["rows"])

    def update_records(self, table: dict, rows: list) -> list[dict]:
        return self._call(_update_rows, table, rows)

    def upsert_records(self, table: dict, key_column: str, rows: list) -> dict:
        return self._call(service.upsert_rows, table, key_column, rows, ["rows"])


def _update_rows(bot_id, table, rows: list) -> list[dict]:
    """Every update or none (one transaction); an error names the row: `$.rows[2].qty`."""
    if len(rows) > service.MAX_ROWS_PER_CALL:
        raise TableError("$.rows", f"at most {service.MAX_ROWS_PER_CALL} rows at once")
    out = []
    with transaction.atomic():
        for i, row in enumerate(rows):
            where = f"$.rows[{i}]"
            if not isinstance(row, dict) or "id" not in row:
                raise TableError(where, "each row gives its id and the columns to change, e.g. {id: 4, qty: 2}")
            values = {k: v for k, v in row.items() if k != "id"}
            try:
                out.append(service.update_row(bot_id, table, row["id"], values))
            except TableError as exc:
                path = exc.path.replace("$.values", where, 1).replace("$.id", f"{where}.id", 1)
                raise TableError(path, exc.message) from None
            except service.RowNotFound as exc:
                raise TableError(f"{where}.id", str(exc)) from None
    return out


def for_bot(bot_id) -> TableGateway:
    return TableGateway(bot_id)
