"""A table as CSV (docs/tables.md, "CSV"): the header names the columns; each cell is read
by its column's type (a number, true/false, an ISO 8601 date, JSON for an object; an empty
cell is no value). Importing into a new table detects the types from the cells. An import
checks every cell first and writes nothing when any is wrong; the errors name the line and
the column (`$.csv[3].price`: line 3 of the file, the header being line 1).

Export writes `id`, the columns in their order, `createdAt` and `updatedAt`; the system
columns are ignored on import, so an export imports back (as new rows)."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from flows.tables import service
from flows.tables.definition import (
    MAX_COLUMNS,
    SYSTEM_COLUMNS,
    TableDef,
    TableError,
    coerce_value,
    parse_date,
)

MAX_ERRORS = 50
MAX_CSV_BYTES = 10 * 1024 * 1024
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


class CsvInvalid(ValueError):
    """Every problem found (up to MAX_ERRORS), each (path, message); nothing was written."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors[:5]))


def _records(text: str) -> list[list[str]]:
    if len(text.encode()) > MAX_CSV_BYTES:
        raise CsvInvalid([("$.csv", f"the file is over {MAX_CSV_BYTES // (1024 * 1024)} MB")])
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), strict=True)
    try:
        records = [record for record in reader]
    except csv.Error as exc:
        raise CsvInvalid([(f"$.csv[{reader.line_num}]", f"not valid CSV: {exc}")]) from None
    records = [r for r in records if any(cell.strip() for cell in r)]
    if not records:
        raise CsvInvalid([("$.csv", "the file is empty; its first line names the columns")])
    return records


def _cell(column_type: str, text: str, path: str) -> Any:
    text = text.strip()
    if text == "":
        return None
    if column_type == "number":
        try:
            value = float(text)
        except ValueError:
            raise TableError(path, f"{text!r} is not a number") from None
        return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
    if column_type == "boolean":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise TableError(path, f"{text!r} is not true or false")
    if column_type == "object":
        try:
            return json.loads(text)
        except ValueError:
            raise TableError(path, f"{text[:40]!r} is not JSON") from None
    return text


def detect_type(cells: list[str]) -> str:
    """The narrowest type every non-empty cell of a column reads as."""
    filled = [c.strip() for c in cells if c.strip()]
    if not filled:
        return "string"
    for column_type in ("number", "boolean", "date", "object"):
        try:
            values = [_cell(column_type, c, "$") for c in filled]
            if column_type == "date" and any(parse_date(v) is None for v in values):
                continue
            if column_type == "object" and any(not isinstance(v, (dict, list)) for v in values):
                continue
            return column_type
        except TableError:
            continue
    return "string"


def detect_definition(name: str, text: str) -> dict:
    """A table definition for a CSV file: its header's columns with the detected types."""
    records = _records(text)
    header = [h.strip() for h in records[0]]
    columns = []
    for index, column in enumerate(header):
        if column in SYSTEM_COLUMNS:
            continue
        columns.append({"name": column, "type": detect_type([r[index] if index < len(r) else "" for r in records[1:]])})
    if len(columns) > MAX_COLUMNS:
        raise CsvInvalid([("$.csv[1]", f"the file has {len(columns)} columns; a table has at most {MAX_COLUMNS}")])
    return {"name": name, "columns": columns}


def parse_rows(table: TableDef, text: str) -> list[dict]:
    """The file's rows as values for `table`; CsvInvalid with every problem."""
    records = _records(text)
    header = [h.strip() for h in records[0]]
    errors: list[tuple[str, str]] = []
    for index, column in enumerate(header):
        if column not in SYSTEM_COLUMNS and table.column(column) is None:
            errors.append((f"$.csv[1][{index}]", f"unknown column {column!r}; the table's columns: "
                                                 f"{', '.join(table.column_names) or 'none'}"))
    if len(set(header)) != len(header):
        errors.append(("$.csv[1]", "a column is named twice"))
    if errors:
        raise CsvInvalid(errors)
    rows = []
    for line, record in enumerate(records[1:], start=2):
        if len(record) > len(header):
            errors.append((f"$.csv[{line}]", f"{len(record)} cells, the header names {len(header)} columns"))
            continue
        values = {}
        for column, text in zip(header, record):
            if column in SYSTEM_COLUMNS:
                continue
            path = f"$.csv[{line}].{column}"
            try:
                values[column] = coerce_value(table.column(column).type,
                                              _cell(table.column(column).type, text, path), path)
            except TableError as exc:
                errors.append((exc.path, exc.message))
        rows.append({k: v for k, v in values.items() if v is not None})
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise CsvInvalid(errors[:MAX_ERRORS])
    return rows


def import_csv(bot, table: TableDef, text: str) -> int:
    """Insert the file's rows into `table` (all or none); how many were inserted."""
    rows = parse_rows(table, text)
    try:
        return len(service.insert_rows(bot.pk, table, rows))
    except TableError as exc:
        raise CsvInvalid([(exc.path, exc.message)]) from None


def _text(column_type: str, value: Any) -> str:
    if value is None:
        return ""
    if column_type == "boolean":
        return "true" if value else "false"
    if column_type == "object":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def export_csv(bot, table: TableDef) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", *table.column_names, "createdAt", "updatedAt"])
    offset = 0
    while True:
        page = service.find_rows(bot.pk, table, limit=service.MAX_LIMIT, offset=offset)["rows"]
        for row in page:
            writer.writerow([row["id"], *(_text(c.type, row.get(c.name)) for c in table.columns),
                             row["createdAt"], row["updatedAt"]])
        if len(page) < service.MAX_LIMIT:
            return out.getvalue()
        offset += len(page)
