"""Every operation on a bot's tables: the definitions (in the bot's draft, through
`flows.services`) and the rows (`TableRow`). Cards (through runtime/table_gateway.py), the
REST API and the CLI all call these functions.

Row operations take the table's definition (`TableDef`): the studio passes the draft's, a
running bot its build's, so a column added in the draft is not written by a published
version that does not know it yet. Bad input raises `TableError` with the JSON path of what
is wrong (`$.values.price`, `$.filter.age["$gt"]`); limits are settings
(`FLOWSTUDIO_TABLE_MAX_ROWS`, `FLOWSTUDIO_TABLE_ROW_BYTES`).
"""
from __future__ import annotations

import copy
import json
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DataError, transaction
from django.db.models import Q
from django.dispatch import Signal

from flows import services
from flows.botfile.problems import BotFileInvalid, Problem, json_path
from flows.models import Bot, TableRow
from flows.tables.definition import (
    SYSTEM_COLUMNS,
    TableDef,
    TableError,
    UnknownTable,
    coerce_value,
    format_date,
    parse_definition,
)
from flows.tables import groups
from flows.tables.filters import column_expression, compile_filter

DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
MAX_ROWS_PER_CALL = 1_000
MAX_SEARCH_LENGTH = 200
MAX_OFFSET = 1_000_000


# Sent once a change to a table's rows commits (`bot_id`, `table`: its name): a knowledge
# base's table source re-indexes them (runtime/knowledge/jobs.py listens; flows never indexes).
rows_changed = Signal()


def _rows_changed(bot_id, *names: str) -> None:
    for name in names:
        transaction.on_commit(lambda name=name: rows_changed.send(sender=TableRow, bot_id=bot_id, table=name))


class RowNotFound(LookupError):
    def __init__(self, table: str, row_id):
        super().__init__(f"table {table!r} has no row {row_id}")
        self.table, self.row_id = table, row_id


class TableExists(ValueError):
    pass


def max_rows() -> int:
    return int(getattr(settings, "FLOWSTUDIO_TABLE_MAX_ROWS", 10_000))


def max_row_bytes() -> int:
    return int(getattr(settings, "FLOWSTUDIO_TABLE_ROW_BYTES", 16 * 1024))


# ---- definitions ------------------------------------------------------------------------------

def _entries(bot: Bot) -> list:
    tables = bot.draft.get("tables")
    return tables if isinstance(tables, list) else []


def list_tables(bot: Bot) -> list[TableDef]:
    """The draft's tables that are valid definitions, in file order."""
    out = []
    for i, entry in enumerate(_entries(bot)):
        try:
            out.append(parse_definition(entry, ["tables", i]))
        except TableError:
            continue  # an unfinished draft's broken entry; the problems panel names it
    return out


def get_table(bot: Bot, name: str) -> TableDef:
    for table in list_tables(bot):
        if table.name == name:
            return table
    raise UnknownTable(name, [t.name for t in list_tables(bot)])


def _save_tables(bot: Bot, entries: list, *, user, at: int | None) -> None:
    try:
        services.patch_draft_section(bot, "tables", entries, user=user, part="tables")
    except BotFileInvalid as exc:
        # The request is one table: point at its fields rather than at the draft's list.
        prefix = f"$.tables[{at}]" if at is not None else "$.tables"
        raise BotFileInvalid([Problem(p.path.replace(prefix, "$", 1) if p.path.startswith(prefix) else p.path,
                                      p.message) for p in exc.problems]) from None


def create_table(bot: Bot, entry: Any, *, user=None) -> TableDef:
    """Add a table to the draft; BotFileInvalid (paths into `entry`) or TableExists."""
    table = _checked_entry(entry)
    if any(isinstance(e, dict) and e.get("name") == table.name for e in _entries(bot)):
        raise TableExists(f"the bot already has a table {table.name!r}")
    entries = _entries(bot)
    _save_tables(bot, [*copy.deepcopy(entries), table.to_dict()], user=user, at=len(entries))
    return table


def _checked_entry(entry: Any) -> TableDef:
    try:
        return parse_definition(entry)
    except TableError as exc:
        raise BotFileInvalid([Problem(exc.path, exc.message)]) from None


def update_table(bot: Bot, name: str, entry: Any, *, user=None) -> TableDef:
    """Replace a table's definition (a new name renames it, rows included). A column whose
    type changes, or that goes, loses its values in every row (as in Botpress)."""
    old = get_table(bot, name)
    table = _checked_entry(entry)
    entries = copy.deepcopy(_entries(bot))
    index = next(i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("name") == name)
    if table.name != name and any(isinstance(e, dict) and e.get("name") == table.name for e in entries):
        raise TableExists(f"the bot already has a table {table.name!r}")
    entries[index] = table.to_dict()
    dropped = [c.name for c in old.columns if table.column_type(c.name) != c.type]
    with transaction.atomic():
        _save_tables(bot, entries, user=user, at=index)
        rows = TableRow.objects.filter(bot=bot, table=name)
        if dropped:
            for row in rows.select_for_update():
                kept = {k: v for k, v in row.data.items() if k not in dropped}
                if kept != row.data:
                    row.data = kept
                    row.save(update_fields=["data", "updated_at"])
        if table.name != name:
            TableRow.objects.filter(bot=bot, table=name).update(table=table.name)
        # The searchable columns may have changed too: a table source reads them.
        _rows_changed(bot.pk, *dict.fromkeys([name, table.name]))
    return table


def delete_table(bot: Bot, name: str, *, user=None) -> int:
    """Remove a table from the draft and delete its rows; returns how many rows went."""
    get_table(bot, name)
    entries = [e for e in _entries(bot) if not (isinstance(e, dict) and e.get("name") == name)]
    with transaction.atomic():
        _save_tables(bot, entries, user=user, at=None)
        deleted, _ = TableRow.objects.filter(bot=bot, table=name).delete()
        _rows_changed(bot.pk, name)
    return deleted


# ---- rows ---------------------------------------------------------------------------------------

def row_dict(row: TableRow) -> dict:
    """A row as cards, the API and exports show it: system columns, then the values."""
    return {"id": row.pk, "createdAt": format_date(row.created_at), "updatedAt": format_date(row.updated_at),
            **row.data}


def check_values(table: TableDef, values: Any, parts: list, *, partial: bool = False) -> dict:
    """`values` checked against the table's columns, in their stored form. A null value
    means "no value" (kept as such by an update: it clears the column)."""
    if not isinstance(values, dict):
        raise TableError(json_path(parts), "a row's values are an object of column names and values")
    out = {}
    for key, value in values.items():
        here = json_path(parts + [key])
        if key in SYSTEM_COLUMNS:
            if partial or key != "id":
                raise TableError(here, f"{key!r} is a system column; it cannot be written")
            continue  # an exported row's id is ignored on insert
        column = table.column(key)
        if column is None:
            raise TableError(here, f"unknown column {key!r}; the table's columns: "
                                   f"{', '.join(table.column_names) or 'none'}")
        out[key] = coerce_value(column.type, value, here)
    return out


def _check_size(data: dict, parts: list) -> None:
    if _has_nul(data):  # PostgreSQL's JSON cannot hold it
        raise TableError(json_path(parts), "a value contains the NUL character")
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > max_row_bytes():
        raise TableError(json_path(parts), f"the row is {size} bytes of JSON, over the {max_row_bytes()} byte limit")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _stored(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


def rows_of(bot_id, table: TableDef):
    """The table's rows as a queryset (a knowledge base's table source reads them all)."""
    return TableRow.objects.filter(bot_id=bot_id, table=table.name)



def _lock_bot(bot_id) -> None:
    # Inserts of one bot take turns, so two of them cannot both pass the row limit.
    Bot.objects.select_for_update().filter(pk=bot_id).values_list("pk", flat=True).first()


def _check_room(bot_id, table: TableDef, adding: int, parts: list) -> None:
    count = rows_of(bot_id, table).count()
    if count + adding > max_rows():
        raise TableError(json_path(parts), f"table {table.name!r} has {count} rows; {adding} more would pass "
                                           f"its limit of {max_rows()} (FLOWSTUDIO_TABLE_MAX_ROWS)")


def insert_rows(bot_id, table: TableDef, rows: Any, parts: list | None = None) -> list[dict]:
    """Insert every row or none; the stored rows, with their ids."""
    parts = list(parts or ["rows"])
    if not isinstance(rows, list):
        raise TableError(json_path(parts), "a list of rows")
    if len(rows) > MAX_ROWS_PER_CALL:
        raise TableError(json_path(parts), f"at most {MAX_ROWS_PER_CALL} rows at once")
    datas = []
    for i, values in enumerate(rows):
        data = _stored(check_values(table, values, parts + [i]))
        _check_size(data, parts + [i])
        datas.append(data)
    with transaction.atomic():
        _lock_bot(bot_id)
        _check_room(bot_id, table, len(datas), parts)
        created = [TableRow.objects.create(bot_id=bot_id, table=table.name, data=data) for data in datas]
        _rows_changed(bot_id, table.name)
    return [row_dict(row) for row in created]


def insert_row(bot_id, table: TableDef, values: Any) -> dict:
    """Insert one row (errors at `$.values...`)."""
    data = _stored(check_values(table, values, ["values"]))
    _check_size(data, ["values"])
    with transaction.atomic():
        _lock_bot(bot_id)
        _check_room(bot_id, table, 1, ["values"])
        row = TableRow.objects.create(bot_id=bot_id, table=table.name, data=data)
        _rows_changed(bot_id, table.name)
    return row_dict(row)


def _row_id(row_id: Any, parts: list) -> int:
    if isinstance(row_id, str) and row_id.strip().isdigit():
        row_id = int(row_id.strip())
    if isinstance(row_id, bool) or not isinstance(row_id, int) or not 1 <= row_id < 2 ** 63:
        raise TableError(json_path(parts), "a row id is a whole number of at least 1")
    return row_id


def get_row(bot_id, table: TableDef, row_id: Any) -> dict | None:
    found = rows_of(bot_id, table).filter(pk=_row_id(row_id, ["id"])).first()
    return row_dict(found) if found is not None else None


def update_row(bot_id, table: TableDef, row_id: Any, values: Any) -> dict:
    """Change the given columns of one row (null clears one); RowNotFound. The row is locked
    while its values are merged, so of two concurrent updates the later one wins whole on
    the columns both set, and neither loses the other's other columns."""
    pk = _row_id(row_id, ["id"])
    changes = check_values(table, values, ["values"], partial=True)
    with transaction.atomic():
        row = rows_of(bot_id, table).select_for_update().filter(pk=pk).first()
        if row is None:
            raise RowNotFound(table.name, pk)
        row.data = _stored({**row.data, **changes})
        _check_size(row.data, ["values"])
        row.save(update_fields=["data", "updated_at"])
        _rows_changed(bot_id, table.name)
    return row_dict(row)


def upsert_rows(bot_id, table: TableDef, key_column: Any, rows: Any, parts: list | None = None) -> dict:
    """Each row updates the one row whose `key_column` equals its own, or is inserted when
    there is none; more than one match is an error. Returns {rows, inserted, updated}."""
    parts = list(parts or ["rows"])
    if not isinstance(key_column, str) or table.column(key_column) is None:
        raise TableError("$.keyColumn", f"unknown column {key_column!r}; the table's columns: "
                                        f"{', '.join(table.column_names) or 'none'}")
    key_type = table.column(key_column).type
    if key_type in ("object",):
        raise TableError("$.keyColumn", "an object column cannot be a key")
    if not isinstance(rows, list):
        raise TableError(json_path(parts), "a list of rows")
    if len(rows) > MAX_ROWS_PER_CALL:
        raise TableError(json_path(parts), f"at most {MAX_ROWS_PER_CALL} rows at once")
    checked = []
    for i, values in enumerate(rows):
        data = check_values(table, values, parts + [i])
        if data.get(key_column) is None:
            raise TableError(json_path(parts + [i, key_column]), f"the key column {key_column!r} needs a value")
        checked.append(data)
    out, inserted, updated = [], 0, 0
    with transaction.atomic():
        _lock_bot(bot_id)
        for i, data in enumerate(checked):
            match = compile_filter(table, {key_column: data[key_column]}, parts + [i])
            found = list(rows_of(bot_id, table).filter(match).select_for_update()[:2])
            if len(found) > 1:
                raise TableError(json_path(parts + [i, key_column]),
                                 f"more than one row has {key_column} = {data[key_column]!r}")
            if found:
                row = found[0]
                row.data = _stored({**row.data, **data})
                _check_size(row.data, parts + [i])
                row.save(update_fields=["data", "updated_at"])
                updated += 1
            else:
                stored = _stored(data)
                _check_size(stored, parts + [i])
                _check_room(bot_id, table, 1, parts + [i])
                row = TableRow.objects.create(bot_id=bot_id, table=table.name, data=stored)
                inserted += 1
            out.append(row_dict(row))
        _rows_changed(bot_id, table.name)
    return {"rows": out, "inserted": inserted, "updated": updated}


def delete_rows(bot_id, table: TableDef, *, ids: Any = None, filter: Any = None, delete_all: bool = False) -> int:
    """Delete by ids, or by filter, or every row (`delete_all`); exactly one of them."""
    given = [name for name, v in (("ids", ids), ("filter", filter)) if v is not None] + (
        ["deleteAllRows"] if delete_all else [])
    if len(given) != 1:
        raise TableError("$", "give exactly one of ids, filter or deleteAllRows")
    rows = rows_of(bot_id, table)
    if ids is not None:
        if not isinstance(ids, list) or len(ids) > MAX_ROWS_PER_CALL:
            raise TableError("$.ids", f"a list of at most {MAX_ROWS_PER_CALL} row ids")
        rows = rows.filter(pk__in=[_row_id(v, ["ids", i]) for i, v in enumerate(ids)])
    elif filter is not None:
        rows = rows.filter(compile_filter(table, filter))
    with transaction.atomic(), _database_refusal():
        deleted, _ = rows.delete()
        if deleted:
            _rows_changed(bot_id, table.name)
    return deleted


def _search(table: TableDef, text: Any) -> Q:
    if not isinstance(text, str) or len(text) > MAX_SEARCH_LENGTH:
        raise TableError("$.search", f"a text of at most {MAX_SEARCH_LENGTH} characters")
    if not table.searchable:
        raise TableError("$.search", f"table {table.name!r} has no searchable column")
    out = Q()
    for word in text.split():
        any_column = Q(pk__in=[])
        for name in table.searchable:
            any_column |= Q(**{f"data__{name}__icontains": word})
        out &= any_column
    return out


def find_rows(bot_id, table: TableDef, *, filter: Any = None, search: Any = None, order_by: Any = "id",
              order_direction: Any = "asc", limit: Any = DEFAULT_LIMIT, offset: Any = 0, group: Any = None) -> dict:
    """{rows, total, limit, offset}: the rows matching `filter` (and `search`: every word in
    some searchable column, ignoring case), in order, one page of them. With `group`
    (flows/tables/groups.py) `rows` are the groups' aggregates instead, paged the same way."""
    rows = rows_of(bot_id, table).filter(compile_filter(table, filter))
    if search not in (None, ""):
        rows = rows.filter(_search(table, search))
    checked_group = groups.check_group(table, group) if group is not None else None
    column_type = table.column_type(order_by) if isinstance(order_by, str) else None
    if column_type is None:
        raise TableError("$.orderBy", f"unknown column {order_by!r}")
    if order_direction not in ("asc", "desc"):
        raise TableError("$.orderDirection", "asc or desc")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise TableError("$.limit", f"a whole number from 1 to {MAX_LIMIT}")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise TableError("$.offset", f"a whole number from 0 to {MAX_OFFSET}")
    expression = column_expression(order_by, column_type)
    ordering = expression.desc(nulls_last=True) if order_direction == "desc" else expression.asc(nulls_last=True)
    if checked_group is not None:
        with _database_refusal():
            ordered = [row_dict(row) for row in rows.order_by(ordering, "id" if order_direction == "asc" else "-id")]
        found = groups.aggregate(ordered, checked_group)
        return {"rows": found[offset: offset + limit], "total": len(found), "limit": limit, "offset": offset}
    with _database_refusal():
        total = rows.count()
        page = list(rows.order_by(ordering, "id" if order_direction == "asc" else "-id")[offset: offset + limit])
    return {"rows": [row_dict(row) for row in page], "total": total, "limit": limit, "offset": offset}


@contextmanager
def _database_refusal():
    """A filter the checks let through but the database refuses (a `$regex` PostgreSQL's
    POSIX syntax does not know, such as Python's `(?P<name>...)`) is bad input, not a
    failure; the savepoint keeps the caller's transaction usable."""
    try:
        with transaction.atomic():
            yield
    except DataError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TableError("$.filter", f"the database refused the filter: {reason}") from None


def count_rows(bot_id, table: TableDef) -> int:
    return rows_of(bot_id, table).count()
