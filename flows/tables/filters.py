"""The filter language of tables (Botpress' MongoDB-like JSON, docs/tables.md "Filters"),
compiled to Django query expressions: every value reaches the database as a parameter,
never as SQL text.

    {"price": {"$lt": 20}, "$or": [{"color": "red"}, {"tags": {"$size": 2}}]}

A column key holds a value (equality) or an object of operators, all of which must hold;
several keys in one object must all hold. `$and`, `$or` take lists of filters, `$not` takes
a filter (at the top) or an object of operators (under a column).

Absent values: a row without a value in a column (never set, or set to null) matches
`{"col": null}`, `{"col": {"$exists": false}}`, `$ne`, `$nin` and `$not`, and nothing
else. Each comparison below is two-valued (true or false, never SQL's unknown), so `$not`
and `$ne` are the exact complements of what they negate.
"""
from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.db.models import Case, CharField, F, FloatField, Func, IntegerField, Q, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Collate, Floor, Length, Mod
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IRegex,
    LessThan,
    LessThanOrEqual,
    Regex,
)

from flows.botfile.problems import json_path
from flows.tables.definition import SYSTEM_COLUMNS, TableDef, TableError, coerce_value, parse_date

MAX_DEPTH = 8
MAX_NODES = 500
MAX_IN_VALUES = 1_000
MAX_REGEX_LENGTH = 200
COMPARISONS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$mod", "$size", "$regex",
               "$options", "$not")
LOGICAL = ("$and", "$or", "$not")
_ORDERED = {"$gt": GreaterThan, "$gte": GreaterThanOrEqual, "$lt": LessThan, "$lte": LessThanOrEqual}
_SYSTEM_FIELDS = {"id": "id", "createdAt": "created_at", "updatedAt": "updated_at"}


class _JsonArrayLength(Func):
    output_field = IntegerField()

    def as_sql(self, compiler, conn, **extra):
        function = "jsonb_array_length" if conn.vendor == "postgresql" else "json_array_length"
        return super().as_sql(compiler, conn, function=function, **extra)


class _Budget:
    def __init__(self):
        self.nodes = 0

    def spend(self, parts: list) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise TableError(json_path(parts), f"the filter has more than {MAX_NODES} conditions")


def compile_filter(table: TableDef, spec: Any, parts: list | None = None) -> Q:
    """The Q of `spec` over `table`'s rows; TableError with the path of the first problem."""
    parts = list(parts or ["filter"])
    if spec is None:
        return Q()
    return _filter(table, spec, parts, 1, _Budget())


def _filter(table: TableDef, spec: Any, parts: list, depth: int, budget: _Budget) -> Q:
    if depth > MAX_DEPTH:
        raise TableError(json_path(parts), f"the filter is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(spec, dict):
        raise TableError(json_path(parts), "a filter is an object of columns and $and, $or, $not")
    out = Q()
    for key, value in spec.items():
        here = parts + [key]
        budget.spend(here)
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise TableError(json_path(here), f"{key} takes a non-empty list of filters")
            subs = [_filter(table, item, here + [i], depth + 1, budget) for i, item in enumerate(value)]
            combined = subs[0]
            for sub in subs[1:]:
                combined = (combined & sub) if key == "$and" else (combined | sub)
            out &= combined
        elif key == "$not":
            out &= ~_filter(table, value, here, depth + 1, budget)
        elif key.startswith("$"):
            raise TableError(json_path(here), f"unknown operator {key!r} here; use a column name or "
                                              f"one of {', '.join(LOGICAL)}")
        else:
            column_type = table.column_type(key)
            if column_type is None:
                known = ", ".join(table.column_names + tuple(SYSTEM_COLUMNS))
                raise TableError(json_path(here), f"unknown column {key!r}; the table's columns: {known}")
            out &= _column(table, key, column_type, value, here, depth + 1, budget)
    return out


def _is_operators(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(k, str) and k.startswith("$") for k in value)


def _column(table, name: str, column_type: str, spec: Any, parts: list, depth: int, budget: _Budget) -> Q:
    if depth > MAX_DEPTH:
        raise TableError(json_path(parts), f"the filter is nested deeper than {MAX_DEPTH} levels")
    if not _is_operators(spec):
        return _eq(name, column_type, spec, parts)
    options = spec.get("$options")
    if options is not None and "$regex" not in spec:
        raise TableError(json_path(parts + ["$options"]), "$options goes with $regex")
    out = Q()
    for op, value in spec.items():
        here = parts + [op]
        budget.spend(here)
        if op == "$options":
            continue
        if op not in COMPARISONS:
            raise TableError(json_path(here), f"unknown operator {op!r}; use one of {', '.join(COMPARISONS)}")
        if op == "$eq":
            out &= _eq(name, column_type, value, here)
        elif op == "$ne":
            out &= ~_eq(name, column_type, value, here)
        elif op in _ORDERED:
            out &= _ordered(name, column_type, op, value, here)
        elif op in ("$in", "$nin"):
            found = _in(name, column_type, value, here)
            out &= found if op == "$in" else ~found
        elif op == "$exists":
            if not isinstance(value, bool):
                raise TableError(json_path(here), "$exists takes true or false")
            out &= _present(name) if value else ~_present(name)
        elif op == "$mod":
            out &= _mod(name, column_type, value, here)
        elif op == "$size":
            out &= _size(name, column_type, value, here)
        elif op == "$regex":
            out &= _regex(name, column_type, value, options, parts)
        elif op == "$not":
            if not _is_operators(value):
                raise TableError(json_path(here), "$not under a column takes an object of operators, "
                                                  'e.g. {"$gt": 5}')
            out &= ~_column(table, name, column_type, value, here, depth + 1, budget)
    return out


# ---- the column expressions -------------------------------------------------------------------

def _text(name: str):
    expression = KeyTextTransform(name, "data")
    # Text compares in code-point order on every database, whatever the server's collation.
    return Collate(expression, "C" if connection.vendor == "postgresql" else "BINARY")


def column_expression(name: str, column_type: str):
    """The expression a column is compared and ordered by."""
    if name in _SYSTEM_FIELDS:
        return F(_SYSTEM_FIELDS[name])
    if column_type == "number":
        return _number(name)
    if column_type in ("string", "date"):
        return _text(name)
    return KeyTransform(name, "data")


def _json_type_is(name: str, kind: str) -> Q:
    if connection.vendor == "postgresql":
        kind_of = Func(KeyTransform(name, "data"), function="jsonb_typeof", output_field=CharField())
        return Q(Exact(kind_of, Value(kind)))
    # SQLite: json_type(data, path) (its json_extract gives SQL values, not JSON), and it
    # names integers and reals apart. Column names are identifiers, so the path is plain.
    kind_of = Func(F("data"), Value(f"$.{name}"), function="json_type", output_field=CharField())
    return Q(In(kind_of, ["integer", "real"] if kind == "number" else [kind]))


def _number(name: str):
    # Only a JSON number is cast: a row written under another definition of the column (a
    # published version older than the draft) may hold text there, and casting it would fail
    # the whole query. CASE is evaluated in order, so the cast never sees anything else.
    return Case(When(_json_type_is(name, "number"), then=Cast(KeyTextTransform(name, "data"), FloatField())),
                default=None, output_field=FloatField())


def _present(name: str) -> Q:
    # Rows never store null (service.py drops it), so a key that is there has a value.
    if name in _SYSTEM_FIELDS:
        return Q(pk__isnull=False)
    return Q(data__has_key=name)


def _operand(name: str, column_type: str, value: Any, parts: list):
    if name in ("createdAt", "updatedAt"):
        moment = parse_date(value)
        if moment is None:
            raise TableError(json_path(parts), "must be an ISO 8601 date such as 2026-12-03T07:30:00Z")
        return moment
    if name == "id":
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2 ** 63:
            raise TableError(json_path(parts), "a row id is a whole number")
        return value
    stored = coerce_value(column_type, value, json_path(parts))
    if isinstance(stored, str) and "\x00" in stored:
        raise TableError(json_path(parts), "contains the NUL character")
    return float(stored) if column_type == "number" else stored


def _eq(name: str, column_type: str, value: Any, parts: list) -> Q:
    if value is None:
        return ~_present(name)
    operand = _operand(name, column_type, value, parts)
    if column_type in ("boolean", "object") and name not in _SYSTEM_FIELDS:
        return _present(name) & Q(**{f"data__{name}": operand})
    return _present(name) & Q(Exact(column_expression(name, column_type), Value(operand)))


def _ordered(name: str, column_type: str, op: str, value: Any, parts: list) -> Q:
    if column_type in ("boolean", "object"):
        raise TableError(json_path(parts), f"{op} compares numbers, strings and dates, not a {column_type} column")
    if value is None:
        raise TableError(json_path(parts), f"{op} needs a value, not null")
    operand = _operand(name, column_type, value, parts)
    return _present(name) & Q(_ORDERED[op](column_expression(name, column_type), Value(operand)))


def _in(name: str, column_type: str, values: Any, parts: list) -> Q:
    if not isinstance(values, list):
        raise TableError(json_path(parts), "takes a list of values")
    if len(values) > MAX_IN_VALUES:
        raise TableError(json_path(parts), f"takes at most {MAX_IN_VALUES} values")
    out = Q(pk__in=[])
    plain = []
    for i, value in enumerate(values):
        if value is None:
            out |= ~_present(name)
        elif column_type in ("boolean", "object") and name not in _SYSTEM_FIELDS:
            out |= _eq(name, column_type, value, parts + [i])
        else:
            plain.append(_operand(name, column_type, value, parts + [i]))
    if plain:
        out |= _present(name) & Q(In(column_expression(name, column_type), plain))
    return out


def _mod(name: str, column_type: str, value: Any, parts: list) -> Q:
    if column_type != "number":
        raise TableError(json_path(parts), "$mod applies to number columns")
    if (not isinstance(value, list) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)):
        raise TableError(json_path(parts), "$mod takes [divisor, remainder], two whole numbers")
    divisor, remainder = value
    if divisor == 0:
        raise TableError(json_path(parts + [0]), "the divisor must not be 0")
    # The remainder has the dividend's sign (MongoDB's and SQL's MOD); non-whole values never match.
    # Django's Mod works in NUMERIC on PostgreSQL, exact for whole numbers up to 2^53.
    expression = column_expression(name, column_type)
    whole = Q(Exact(Floor(expression), expression))
    return _present(name) & whole & Q(Exact(Mod(expression, Value(float(divisor))), Value(float(remainder))))


def _size(name: str, column_type: str, value: Any, parts: list) -> Q:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TableError(json_path(parts), "$size takes a whole number of at least 0")
    if column_type == "string":
        return _present(name) & Q(Exact(Length(KeyTextTransform(name, "data")), Value(value)))
    if column_type == "object":
        # Only arrays have a size; CASE keeps the length function off anything else.
        length = Case(When(_json_type_is(name, "array"), then=_JsonArrayLength(KeyTransform(name, "data"))),
                      default=Value(-1), output_field=IntegerField())
        return _present(name) & Q(Exact(length, Value(value)))
    raise TableError(json_path(parts), "$size applies to string and object (array) columns")


def _regex(name: str, column_type: str, pattern: Any, options: Any, parts: list) -> Q:
    here = parts + ["$regex"]
    if column_type != "string":
        raise TableError(json_path(here), "$regex applies to string columns")
    if not isinstance(pattern, str) or len(pattern) > MAX_REGEX_LENGTH:
        raise TableError(json_path(here), f"$regex takes a pattern of at most {MAX_REGEX_LENGTH} characters")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise TableError(json_path(here), f"not a regular expression: {exc}") from None
    if options is not None and (not isinstance(options, str) or set(options) - {"i", "c"}):
        raise TableError(json_path(parts + ["$options"]), "$options is 'i' (ignore case) or 'c' (match case)")
    lookup = IRegex if options and "i" in options and "c" not in options else Regex
    return _present(name) & Q(lookup(KeyTextTransform(name, "data"), Value(pattern)))
