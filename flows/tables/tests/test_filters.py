"""The filter language against the database: explicit cases, the errors with their paths,
and a property test holding the database's answer equal to a plain-Python reading of the
same filter over the same rows (docs/tables.md, "Filters")."""
from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.models import TableRow
from flows.tables import service
from flows.tables.definition import TableError, format_date, parse_date

ROWS = [
    {"name": "Apple", "price": 3, "active": True, "born": "2026-01-05", "tags": ["red", "fruit"]},
    {"name": "banana", "price": 1.5, "active": False, "tags": {"kind": "fruit"}},
    {"name": "Cherry pie", "price": 12, "born": "2025-12-31T23:00:00Z"},
    {"name": "durian", "active": True},
    {"price": -4},
]


def names(bot, table, spec, **kwargs):
    found = service.find_rows(bot.pk, table, filter=spec, **kwargs)["rows"]
    return [row["name"] if "name" in row else f"#{row['price']}" for row in found]


@pytest.fixture
def stocked(bot, items):
    service.insert_rows(bot.pk, items, ROWS)
    return items


@pytest.mark.parametrize("spec, expected", [
    (None, ["Apple", "banana", "Cherry pie", "durian", "#-4"]),
    ({"name": "Apple"}, ["Apple"]),
    ({"price": {"$gt": 2}}, ["Apple", "Cherry pie"]),
    ({"price": {"$gte": 1.5, "$lt": 12}}, ["Apple", "banana"]),
    ({"price": {"$ne": 3}}, ["banana", "Cherry pie", "durian", "#-4"]),
    ({"price": None}, ["durian"]),
    ({"price": {"$exists": False}}, ["durian"]),
    ({"active": True}, ["Apple", "durian"]),
    ({"active": {"$ne": True}}, ["banana", "Cherry pie", "#-4"]),
    ({"name": {"$in": ["Apple", "durian", "zzz"]}}, ["Apple", "durian"]),
    ({"name": {"$nin": ["Apple", "durian"]}}, ["banana", "Cherry pie", "#-4"]),
    ({"price": {"$in": [3, None]}}, ["Apple", "durian"]),
    ({"price": {"$mod": [2, 0]}}, ["Cherry pie", "#-4"]),
    ({"price": {"$mod": [3, -1]}}, ["#-4"]),
    ({"tags": {"$size": 2}}, ["Apple"]),
    ({"name": {"$size": 6}}, ["banana", "durian"]),
    ({"name": {"$regex": "^[a-c]"}}, ["banana"]),
    ({"name": {"$regex": "^[a-c]", "$options": "i"}}, ["Apple", "banana", "Cherry pie"]),
    ({"born": {"$lt": "2026-01-01"}}, ["Cherry pie"]),
    ({"born": {"$gte": "2026-01-01T00:00:00+01:00"}}, ["Apple", "Cherry pie"]),
    ({"tags": {"kind": "fruit"}}, ["banana"]),
    ({"$or": [{"price": {"$lt": 0}}, {"name": "durian"}]}, ["durian", "#-4"]),
    ({"$and": [{"active": True}, {"price": {"$exists": True}}]}, ["Apple"]),
    ({"$not": {"price": {"$gt": 2}}}, ["banana", "durian", "#-4"]),
    ({"price": {"$not": {"$gt": 2}}}, ["banana", "durian", "#-4"]),
    ({"id": {"$gt": 0}, "name": {"$regex": "e"}}, ["Apple", "Cherry pie"]),
])
def test_a_filter_finds_the_rows_it_describes(bot, stocked, spec, expected):
    assert names(bot, stocked, spec) == expected


def test_rows_are_ordered_by_a_column_with_rows_without_a_value_last(bot, stocked):
    assert names(bot, stocked, None, order_by="price") == ["#-4", "banana", "Apple", "Cherry pie", "durian"]
    assert names(bot, stocked, None, order_by="price", order_direction="desc")[:2] == ["Cherry pie", "Apple"]
    assert names(bot, stocked, None, order_by="name", limit=2, offset=1) == ["Cherry pie", "banana"]


def test_search_finds_every_word_in_the_searchable_columns_ignoring_case(bot, stocked):
    assert names(bot, stocked, None, search="PIE cher") == ["Cherry pie"]
    assert names(bot, stocked, None, search="an") == ["banana", "durian"]


@pytest.mark.parametrize("spec, path, words", [
    ({"colour": "red"}, "$.filter.colour", "unknown column 'colour'"),
    ({"price": {"$gt": "cheap"}}, '$.filter.price["$gt"]', "must be a number"),
    ({"price": {"$between": [1, 2]}}, '$.filter.price["$between"]', "unknown operator '$between'"),
    ({"$xor": []}, '$.filter["$xor"]', "unknown operator '$xor'"),
    ({"$or": [{"name": "a"}, {"active": "yes"}]}, '$.filter["$or"][1].active', "must be true or false"),
    ({"$and": {}}, '$.filter["$and"]', "non-empty list"),
    ({"active": {"$gt": True}}, '$.filter.active["$gt"]', "not a boolean column"),
    ({"price": {"$mod": [0, 1]}}, '$.filter.price["$mod"][0]', "must not be 0"),
    ({"name": {"$regex": "("}}, '$.filter.name["$regex"]', "not a regular expression"),
    ({"name": {"$regex": "a", "$options": "x"}}, '$.filter.name["$options"]', "'i'"),
    ({"born": {"$gt": "last week"}}, '$.filter.born["$gt"]', "ISO 8601"),
    ({"price": {"$in": 3}}, '$.filter.price["$in"]', "list"),
    ("price > 3", "$.filter", "a filter is an object"),
])
def test_a_bad_filter_is_refused_with_its_path(bot, stocked, spec, path, words):
    with pytest.raises(TableError) as caught:
        service.find_rows(bot.pk, stocked, filter=spec)
    assert caught.value.path == path
    assert words in caught.value.message


def test_a_filter_nested_too_deep_is_refused(bot, stocked):
    spec = {"name": "a"}
    for _ in range(12):
        spec = {"$not": spec}
    with pytest.raises(TableError) as caught:
        service.find_rows(bot.pk, stocked, filter=spec)
    assert "nested deeper" in caught.value.message
    assert caught.value.path.startswith('$.filter["$not"]["$not"]')


# ---- the property: the database agrees with a plain reading of the filter --------------------

def _present(row, column):
    return row.get(column) is not None


def _operand(column_type, value):
    if column_type == "date":
        return format_date(parse_date(value))
    if column_type == "number":
        return float(value)
    return value


def _eq(row, column, column_type, value):
    if value is None:
        return not _present(row, column)
    return _present(row, column) and row[column] == _operand(column_type, value)


_COMPARE = {"$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b,
            "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b}


def _ops(row, column, column_type, spec):
    if not (isinstance(spec, dict) and spec and all(k.startswith("$") for k in spec)):
        return _eq(row, column, column_type, spec)
    result = True
    for op, value in spec.items():
        here = row.get(column)
        if op == "$eq":
            ok = _eq(row, column, column_type, value)
        elif op == "$ne":
            ok = not _eq(row, column, column_type, value)
        elif op in _COMPARE:
            ok = _present(row, column) and _COMPARE[op](here, _operand(column_type, value))
        elif op == "$in":
            ok = any(_eq(row, column, column_type, v) for v in value)
        elif op == "$nin":
            ok = not any(_eq(row, column, column_type, v) for v in value)
        elif op == "$exists":
            ok = _present(row, column) == value
        elif op == "$mod":
            ok = _present(row, column) and float(here).is_integer() and math.fmod(here, value[0]) == value[1]
        elif op == "$size":
            ok = _present(row, column) and (isinstance(here, str) or isinstance(here, list)) and len(here) == value
        elif op == "$regex":
            flags = re.IGNORECASE if spec.get("$options") == "i" else 0
            ok = _present(row, column) and re.search(value, here, flags) is not None
        elif op == "$options":
            ok = True
        elif op == "$not":
            ok = not _ops(row, column, column_type, value)
        result = result and ok
    return result


def matches(row, spec, types):
    for key, value in spec.items():
        if key == "$and":
            ok = all(matches(row, s, types) for s in value)
        elif key == "$or":
            ok = any(matches(row, s, types) for s in value)
        elif key == "$not":
            ok = not matches(row, value, types)
        else:
            ok = _ops(row, key, types[key], value)
        if not ok:
            return False
    return True


TYPES = {"name": "string", "price": "number", "active": "boolean", "born": "date", "tags": "object"}
_text = st.text(alphabet="abcAB é😀", max_size=4)
_numbers = st.one_of(st.integers(-20, 20), st.integers(-200, 200).map(lambda n: n / 10))
_dates = st.sampled_from(["2025-12-31T23:00:00.000Z", "2026-01-01T00:00:00.000Z", "2026-06-15T12:30:00.500Z"])
_tags = st.one_of(st.lists(st.sampled_from(["a", "b"]), max_size=3), st.just({"k": 1}))
_VALUES = {"name": _text, "price": _numbers, "active": st.booleans(), "born": _dates, "tags": _tags}

rows_strategy = st.lists(st.fixed_dictionaries({}, optional={k: v for k, v in _VALUES.items()}), max_size=8)


def _column_filter(column):
    values = _VALUES[column]
    ops = [values, st.none(), st.fixed_dictionaries({"$eq": values}), st.fixed_dictionaries({"$ne": values}),
           st.fixed_dictionaries({"$in": st.lists(st.one_of(values, st.none()), min_size=1, max_size=3)}),
           st.fixed_dictionaries({"$nin": st.lists(values, max_size=3)}),
           st.fixed_dictionaries({"$exists": st.booleans()})]
    if column in ("name", "price", "born"):
        ops += [st.dictionaries(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), values, min_size=1, max_size=2)]
    if column == "price":
        ops += [st.fixed_dictionaries({"$mod": st.tuples(st.sampled_from([2, 3, -3]), st.integers(-2, 2))
                                       .map(list)})]
    if column in ("name", "tags"):
        ops += [st.fixed_dictionaries({"$size": st.integers(0, 3)})]
    if column == "name":
        ops += [st.fixed_dictionaries({"$regex": st.sampled_from(["a", "^b", "A$", "a.", "[ab]{2}"]),
                                       "$options": st.sampled_from(["i", "c"])})]
    return st.one_of(ops).map(lambda spec: {column: spec})


leaf = st.one_of([_column_filter(c) for c in TYPES])
filters = st.recursive(leaf, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3).map(lambda fs: {"$and": fs}),
    st.lists(inner, min_size=1, max_size=3).map(lambda fs: {"$or": fs}),
    inner.map(lambda f: {"$not": f}),
), max_leaves=6)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, spec=filters)
def test_the_database_agrees_with_a_plain_reading_of_the_filter(bot, items, rows, spec):
    TableRow.objects.filter(bot=bot).delete()
    stored = service.insert_rows(bot.pk, items, rows)
    expected = [row["id"] for row in stored if matches(row, spec, TYPES)]
    found = [row["id"] for row in service.find_rows(bot.pk, items, filter=spec, limit=100)["rows"]]
    assert found == expected


# ---- group ------------------------------------------------------------------------------------------

def test_group_aggregates_the_matching_rows_per_key(bot, items):
    service.insert_rows(bot.pk, items, [
        {"name": "a", "price": 2, "active": True}, {"name": "b", "price": 4, "active": True},
        {"name": "c", "active": False}, {"name": "a", "price": 10, "active": False}])
    found = service.find_rows(bot.pk, items, group={"active": ["key", "count"], "price": ["sum", "avg", "max"],
                                                    "name": ["unique", "min"]})
    assert found["rows"] == [
        {"activeKey": True, "activeCount": 2, "priceSum": 6, "priceAvg": 3, "priceMax": 4,
         "nameUnique": ["a", "b"], "nameMin": "a"},
        {"activeKey": False, "activeCount": 2, "priceSum": 10, "priceAvg": 10, "priceMax": 10,
         "nameUnique": ["c", "a"], "nameMin": "a"},
    ]
    whole = service.find_rows(bot.pk, items, filter={"price": {"$gt": 3}}, group={"price": ["count", "min"]})
    assert whole["rows"] == [{"priceCount": 2, "priceMin": 4}]


@pytest.mark.parametrize("group, path, words", [
    ({"colour": ["key"]}, "$.group.colour", "unknown column"),
    ({"name": ["sum"]}, "$.group.name[0]", "number columns"),
    ({"price": ["median"]}, "$.group.price[0]", "unknown operation"),
    ({"tags": ["key"]}, "$.group.tags[0]", "object columns"),
    ([], "$.group", "an object"),
])
def test_a_bad_group_is_refused_with_its_path(bot, items, group, path, words):
    with pytest.raises(TableError) as caught:
        service.find_rows(bot.pk, items, group=group)
    assert caught.value.path == path and words in caught.value.message


def test_rows_written_under_another_definition_of_a_column_do_not_break_a_query(bot, stocked):
    # A published version may still call `price` a number after the draft made it text.
    TableRow.objects.filter(bot=bot, data__name="durian").update(data={"name": "durian", "price": "cheap",
                                                                       "tags": "flat"})
    assert names(bot, stocked, {"price": {"$gt": 2}}) == ["Apple", "Cherry pie"]
    assert names(bot, stocked, {"tags": {"$size": 2}}) == ["Apple"]
    assert names(bot, stocked, None, order_by="price")[-1] == "durian"


def test_a_pattern_the_database_refuses_is_bad_input(bot, stocked):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs patterns with Python's re")
    with pytest.raises(TableError) as caught:
        service.find_rows(bot.pk, stocked, filter={"name": {"$regex": "(?P<x>a)"}})
    assert caught.value.path == "$.filter" and "the database refused the filter" in caught.value.message
    assert names(bot, stocked, {"name": "Apple"}) == ["Apple"]  # the transaction is still usable
