"""How table cards reach a bot's rows: the `TableHost` the runtime gives a turn
(`TurnInput.tables`; runtime/table_gateway.py over the database, a fake in engine
tests). The engine knows a table only as its definition from the bot file (`{"name",
"columns"}`), passed with every call so the host checks values against the columns of
the build that runs, not those of a newer draft. docs/tables.md."""
from __future__ import annotations

from typing import Any, Protocol


class TableFailure(Exception):
    """A table operation the host refused (a wrong type, an unknown column, a limit, a
    broken filter): `path` names what in the card's input, `message` what is wrong."""

    def __init__(self, message: str, *, path: str = ""):
        super().__init__(f"{path}: {message}" if path else message)
        self.message, self.path = message, path


class TableHost(Protocol):
    def get_record(self, table: dict, record_id: Any) -> dict | None:
        """The row with this id, or None."""
        ...

    def find_records(self, table: dict, *, filter: dict | None, search: str | None, order_by: str,
                     order_direction: str, limit: int, offset: int) -> list[dict]:
        ...

    def insert_record(self, table: dict, values: dict) -> dict:
        """The stored row (with `id`, `createdAt`, `updatedAt`)."""
        ...

    def update_record(self, table: dict, record_id: Any, values: dict) -> dict:
        """The row after the change; TableFailure when there is no such row."""
        ...

    def upsert_record(self, table: dict, key_column: str, values: dict) -> tuple[dict, bool]:
        """(the stored row, True when it was inserted rather than updated)."""
        ...

    def delete_records(self, table: dict, *, ids: list | None = None, filter: dict | None = None) -> int:
        """How many rows were deleted."""
        ...

    # Batches, for Execute Code: every row or none.
    def insert_records(self, table: dict, rows: list) -> list[dict]:
        ...

    def update_records(self, table: dict, rows: list) -> list[dict]:
        """Each row gives its `id` and the columns to change."""
        ...

    def upsert_records(self, table: dict, key_column: str, rows: list) -> dict:
        """{rows, inserted, updated}."""
        ...


# ---- the same operations from Execute Code (`await OrdersTable.findRecords({...})`) ---------
FIND_OPTIONS = ("filter", "search", "orderBy", "orderDirection", "limit", "offset")
CODE_FIND_LIMIT = 100


def _arity(method: str, args: list, names: tuple[str, ...]) -> list:
    if len(args) > len(names):
        raise TableFailure(f"takes {len(names)} argument{'s' if len(names) != 1 else ''} ({', '.join(names)}), "
                           f"got {len(args)}")
    return list(args) + [None] * (len(names) - len(args))


def _rows_argument(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise TableFailure(f"{what} must be an array of rows", path="$.rows")
    return value


def code_call(host: TableHost, table: dict, method: str, args: list) -> Any:
    """One table method called from code, on the host; TableFailure with the path of the
    argument that is wrong. Names and results follow Botpress' table globals (Tables.md,
    "Operations on Tables - via Code"); `insertRecord(s)` are `createRecord(s)`."""
    if method == "findRecords":
        (options,) = _arity(method, args, ("options",))
        options = {} if options is None else options
        if not isinstance(options, dict):
            raise TableFailure("the options must be an object, e.g. {filter: {...}, limit: 10}", path="$")
        unknown = [k for k in options if k not in FIND_OPTIONS]
        if "selectorName" in unknown:
            raise TableFailure("selectors are not available (they need a model); pass a filter", path="$.selectorName")
        if unknown:
            raise TableFailure(f"unknown option {unknown[0]!r}; the options are {', '.join(FIND_OPTIONS)}",
                               path=f"$.{unknown[0]}")
        search = options.get("search")
        return host.find_records(table, filter=options.get("filter") or None,
                                 search=None if search in (None, "") else search,
                                 order_by=options.get("orderBy", "id"),
                                 order_direction=options.get("orderDirection", "asc"),
                                 limit=options.get("limit", CODE_FIND_LIMIT), offset=options.get("offset", 0))
    if method == "getRecord":
        (record_id,) = _arity(method, args, ("id",))
        return host.get_record(table, record_id)
    if method in ("createRecord", "insertRecord"):
        (values,) = _arity(method, args, ("values",))
        return host.insert_record(table, {} if values is None else values)
    if method in ("createRecords", "insertRecords"):
        (rows,) = _arity(method, args, ("rows",))
        return host.insert_records(table, _rows_argument(rows, method))
    if method == "updateRecord":
        record_id, values = _arity(method, args, ("id", "values"))
        return host.update_record(table, record_id, {} if values is None else values)
    if method == "updateRecords":
        (rows,) = _arity(method, args, ("rows",))
        return host.update_records(table, _rows_argument(rows, method))
    if method == "upsertRecords":
        key_column, rows = _arity(method, args, ("keyColumn", "rows"))
        return host.upsert_records(table, key_column, _rows_argument(rows, method))
    if method == "deleteRecord":
        (record_id,) = _arity(method, args, ("id",))
        return host.delete_records(table, ids=[record_id])
    if method == "deleteRecords":
        (which,) = _arity(method, args, ("ids",))
        if isinstance(which, list):
            return host.delete_records(table, ids=which)
        if isinstance(which, dict) and set(which) == {"ids"}:
            return host.delete_records(table, ids=which["ids"])
        if isinstance(which, dict) and set(which) == {"filter"} and which["filter"]:
            return host.delete_records(table, filter=which["filter"])
        raise TableFailure("give an array of row ids, {ids: [...]} or {filter: {...}} (a non-empty filter)", path="$")
    raise TableFailure(f"there is no table method {method!r}")
