"""What a table is: its columns and their types, and what a value of each type may be.

A definition in the bot file (`$.tables[i]`):

    {"name": "OrdersTable", "description": "...",
     "columns": [{"name": "item", "type": "string", "searchable": true},
                 {"name": "price", "type": "number"}]}

Every check here raises or returns a `TableError` naming the JSON path of what is wrong, so
a card, the REST API and the CSV import report the same words.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from flows.botfile.problems import json_path

COLUMN_TYPES = ("string", "number", "boolean", "date", "object")
# Botpress' hard limit, kept: a table is a record store, not a spreadsheet.
MAX_COLUMNS = 20
# Columns every row has; the database keeps them, a definition may not declare them.
SYSTEM_COLUMNS = {"id": "number", "createdAt": "date", "updatedAt": "date"}
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
MAX_TABLES = 100


class TableError(ValueError):
    """Bad input to a table operation: `path` is a JSON path into what the caller sent
    (`$.values.price`, `$.filter["$and"][1].age`), `message` says what is wrong there."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


class UnknownTable(LookupError):
    def __init__(self, name: str, known: list[str]):
        listed = ", ".join(known) if known else "none"
        super().__init__(f"the bot has no table {name!r} (its tables: {listed})")
        self.name = name


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    searchable: bool = False
    description: str = ""


@dataclass(frozen=True)
class TableDef:
    name: str
    columns: tuple[Column, ...]
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def column_type(self, name: str) -> str | None:
        """A declared column's type, or a system column's; None when there is no such column."""
        found = self.column(name)
        return found.type if found is not None else SYSTEM_COLUMNS.get(name)

    @property
    def searchable(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.searchable)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["columns"] = []
        for c in self.columns:
            col: dict[str, Any] = {"name": c.name, "type": c.type}
            if c.searchable:
                col["searchable"] = True
            if c.description:
                col["description"] = c.description
            out["columns"].append(col)
        return out


def definition_problems(entry: Any, parts: list) -> list[tuple[str, str]]:
    """(JSON path, message) for everything wrong with one table definition at `parts`."""
    at = json_path(parts)
    if not isinstance(entry, dict):
        return [(at, "a table is an object with a name and columns")]
    problems = []
    extra = sorted(set(entry) - {"name", "description", "columns"})
    for key in extra:
        problems.append((json_path(parts + [key]), "rows come with a new bot only (importing an export made with "
                                                   "rows); add rows through the table's rows" if key == "rows"
                         else "is not a field of a table (name, description, columns)"))
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append((json_path(parts + ["name"]),
                         "must be a name of letters, digits and _ starting with a letter (at most 64)"))
    if "description" in entry and not isinstance(entry["description"], str):
        problems.append((json_path(parts + ["description"]), "must be a string"))
    columns = entry.get("columns", [])
    if not isinstance(columns, list):
        return problems + [(json_path(parts + ["columns"]), "must be a list of columns")]
    if len(columns) > MAX_COLUMNS:
        problems.append((json_path(parts + ["columns"]),
                         f"a table has at most {MAX_COLUMNS} columns, this one {len(columns)}"))
    seen: set[str] = set()
    for i, column in enumerate(columns):
        cparts = parts + ["columns", i]
        if not isinstance(column, dict):
            problems.append((json_path(cparts), "a column is an object with a name and a type"))
            continue
        for key in sorted(set(column) - {"name", "type", "searchable", "description"}):
            problems.append((json_path(cparts + [key]),
                             "is not a field of a column (name, type, searchable, description)"))
        cname = column.get("name")
        if not isinstance(cname, str) or not _NAME.match(cname):
            problems.append((json_path(cparts + ["name"]),
                             "must be a name of letters, digits and _ starting with a letter (at most 64)"))
        elif cname in SYSTEM_COLUMNS:
            problems.append((json_path(cparts + ["name"]),
                             f"{cname!r} is a system column (id, createdAt, updatedAt); choose another name"))
        elif cname in seen:
            problems.append((json_path(cparts + ["name"]), f"duplicate column {cname!r}"))
        else:
            seen.add(cname)
        ctype = column.get("type")
        if ctype not in COLUMN_TYPES:
            problems.append((json_path(cparts + ["type"]), f"must be one of {', '.join(COLUMN_TYPES)}"))
        searchable = column.get("searchable", False)
        if not isinstance(searchable, bool):
            problems.append((json_path(cparts + ["searchable"]), "must be true or false"))
        elif searchable and ctype != "string":
            problems.append((json_path(cparts + ["searchable"]), "only string columns can be searchable"))
        if "description" in column and not isinstance(column["description"], str):
            problems.append((json_path(cparts + ["description"]), "must be a string"))
    return problems


def tables_problems(tables: Any) -> list[tuple[str, str]]:
    """The bot file's `tables` list (names are checked unique by the bot-file validator)."""
    if not isinstance(tables, list):
        return []
    problems = []
    if len(tables) > MAX_TABLES:
        problems.append(("$.tables", f"a bot has at most {MAX_TABLES} tables"))
    for i, entry in enumerate(tables):
        problems += definition_problems(entry, ["tables", i])
    return problems


def parse_definition(entry: dict, parts: list | None = None) -> TableDef:
    """A checked TableDef; TableError for the first problem."""
    problems = definition_problems(entry, parts or [])
    if problems:
        raise TableError(*problems[0])
    return _parsed(json.dumps(entry, sort_keys=True))


@lru_cache(maxsize=512)
def _parsed(text: str) -> TableDef:
    entry = json.loads(text)
    return TableDef(
        name=entry["name"], description=entry.get("description", ""),
        columns=tuple(Column(name=c["name"], type=c["type"], searchable=bool(c.get("searchable", False)),
                             description=c.get("description", "")) for c in entry.get("columns", [])),
    )


# ---- values -------------------------------------------------------------------------------

def format_date(moment: datetime) -> str:
    """Dates are stored as UTC ISO 8601 with milliseconds (`2026-12-03T07:30:00.000Z`): one
    fixed width, so comparing the text compares the moments."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_date(value: Any) -> datetime | None:
    """A date from an ISO 8601 string (a date alone is midnight UTC), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def coerce_value(column_type: str, value: Any, path: str) -> Any:
    """The stored form of a value for a column of `column_type`; None stays None (no value).
    Raises TableError naming `path` when the value is not of the type."""
    if value is None:
        return None
    if column_type == "string":
        if isinstance(value, str):
            return value
        raise TableError(path, f"must be a string, not {_kind(value)}")
    if column_type == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise TableError(path, "must be a finite number")
            if isinstance(value, int) and abs(value) > 2 ** 53:
                raise TableError(path, "must be a number between -2^53 and 2^53")
            return value
        raise TableError(path, f"must be a number, not {_kind(value)}")
    if column_type == "boolean":
        if isinstance(value, bool):
            return value
        raise TableError(path, f"must be true or false, not {_kind(value)}")
    if column_type == "date":
        moment = parse_date(value)
        if moment is None:
            raise TableError(path, "must be an ISO 8601 date such as 2026-12-03 or 2026-12-03T07:30:00Z")
        return format_date(moment)
    if column_type == "object":
        if isinstance(value, (dict, list)):
            return value
        raise TableError(path, f"must be a JSON object or array, not {_kind(value)}")
    raise TableError(path, f"unknown column type {column_type!r}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
