"""`group` of a find (Botpress' aggregation): `{"status": ["key", "count"], "qty": ["sum"]}`
groups the matching rows by every column given `key` and gives, per group, one object with
the column's name and the operation as a suffix (`statusKey`, `statusCount`, `qtySum`).
Without a `key` every matching row is one group.

| op | gives | columns |
|---|---|---|
| key | the group's value | any but object |
| count | how many rows of the group have a value | any |
| sum, avg | of the values | number |
| max, min | the largest / smallest value | number, string, date |
| unique | the distinct values, in row order | any but object |

Computed here over the matching rows rather than in SQL (decided here): a table holds at
most FLOWSTUDIO_TABLE_MAX_ROWS rows (10,000 by default), so one pass in Python is cheap, and
the ops' rules for absent values and types stay in one readable place.
"""
from __future__ import annotations

from typing import Any

from flows.botfile.problems import json_path
from flows.tables.definition import SYSTEM_COLUMNS, TableDef, TableError

OPS = ("key", "count", "sum", "avg", "max", "min", "unique")
_NUMBER_OPS = ("sum", "avg")
_ORDERED_OPS = ("max", "min")


def check_group(table: TableDef, group: Any) -> dict[str, list[str]]:
    parts = ["group"]
    if not isinstance(group, dict) or not group:
        raise TableError(json_path(parts), 'an object of columns and their operations, e.g. {"status": ["key", '
                                           '"count"]}')
    out = {}
    for column, ops in group.items():
        here = parts + [column]
        column_type = table.column_type(column)
        if column_type is None:
            raise TableError(json_path(here), f"unknown column {column!r}; the table's columns: "
                                              f"{', '.join(table.column_names + tuple(SYSTEM_COLUMNS))}")
        if not isinstance(ops, list) or not ops:
            raise TableError(json_path(here), f"a non-empty list of operations: {', '.join(OPS)}")
        for i, op in enumerate(ops):
            if op not in OPS:
                raise TableError(json_path(here + [i]), f"unknown operation {op!r}; use one of {', '.join(OPS)}")
            if op in _NUMBER_OPS and column_type != "number":
                raise TableError(json_path(here + [i]), f"{op} applies to number columns")
            if op in _ORDERED_OPS and column_type not in ("number", "string", "date"):
                raise TableError(json_path(here + [i]), f"{op} applies to number, string and date columns")
            if op in ("key", "unique") and column_type == "object":
                raise TableError(json_path(here + [i]), f"{op} does not apply to object columns")
        out[column] = list(dict.fromkeys(ops))
    return out


def aggregate(rows: list[dict], group: dict[str, list[str]]) -> list[dict]:
    keys = [column for column, ops in group.items() if "key" in ops]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in keys), []).append(row)
    if not keys and not groups:
        groups[()] = []
    out = []
    for key, members in groups.items():
        result: dict[str, Any] = {}
        for column, ops in group.items():
            values = [row[column] for row in members if row.get(column) is not None]
            for op in ops:
                name = column + op[0].upper() + op[1:]
                if op == "key":
                    result[name] = key[keys.index(column)]
                elif op == "count":
                    result[name] = len(values)
                elif op == "sum":
                    result[name] = sum(values)
                elif op == "avg":
                    result[name] = sum(values) / len(values) if values else None
                elif op == "max":
                    result[name] = max(values) if values else None
                elif op == "min":
                    result[name] = min(values) if values else None
                elif op == "unique":
                    result[name] = list(dict.fromkeys(values))
        out.append(result)
    return out
