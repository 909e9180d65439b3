"""Cursor pagination for every list: `?limit=` (1-100, default 20) and `?nextToken=`.

A page answers `{"<items>": [...], "meta": {"nextToken": "..." | null}}`, the shape of
Botpress's list calls (seed 001: `do { ... nextToken = meta.nextToken } while (nextToken)`).
The token is an opaque keyset cursor (the sort key of the last item), so pages stay stable
while rows are added or deleted: nothing is skipped or repeated, unlike offsets.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

from studio.api import errors

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

PARAMETERS = [
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"items per page, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})"),
    OpenApiParameter("nextToken", OpenApiTypes.STR, description="`meta.nextToken` of the previous page"),
]


class MetaSerializer(serializers.Serializer):
    nextToken = serializers.CharField(allow_null=True, help_text="pass as `nextToken` for the next page; null on the last")


def page_schema(name: str, key: str, item_serializer) -> serializers.Serializer:
    """The OpenAPI shape of one page of `item_serializer`s under `key`."""
    return inline_serializer(name=name, fields={key: item_serializer(many=True), "meta": MetaSerializer()})


@dataclass(frozen=True)
class Page:
    items: list
    next_token: str | None

    def data(self, key: str, serialize) -> dict:
        return {key: [serialize(item) for item in self.items], "meta": {"nextToken": self.next_token}}


def _limit(request) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise errors.invalid("limit is out of range",
                             [errors.detail("$query.limit", f"a whole number from 1 to {MAX_LIMIT}")])
    return int(raw)


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str, fields: list, model) -> list:
    bad = errors.invalid("nextToken is not a token this list gave out",
                         [errors.detail("$query.nextToken", "pass meta.nextToken of the previous page unchanged")])
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(values, list) or len(values) != len(fields):
        raise bad
    try:
        return [model._meta.get_field(name if name != "pk" else model._meta.pk.name).to_python(value)
                for (name, _), value in zip(fields, values)]
    except (ValidationError, TypeError, ValueError):
        raise bad from None


def _after(fields: list, values: list) -> Q:
    """Rows strictly after `values` in the (field, descending) ordering: a keyset condition."""
    condition = Q()
    for index, (name, descending) in enumerate(fields):
        equal = {fields[j][0]: values[j] for j in range(index)}
        step = Q(**equal, **{f"{name}__{'lt' if descending else 'gt'}": values[index]})
        condition |= step
    return condition


def paginate(request, queryset, ordering: list[tuple[str, bool]]) -> Page:
    """One page of `queryset` in `ordering` ((field, descending) pairs ending in a unique field)."""
    limit = _limit(request)
    token = request.query_params.get("nextToken")
    ordered = queryset.order_by(*[f"-{name}" if desc else name for name, desc in ordering])
    if token:
        ordered = ordered.filter(_after(ordering, _decode(token, ordering, queryset.model)))
    rows = list(ordered[: limit + 1])
    items, more = rows[:limit], len(rows) > limit
    next_token = None
    if more:
        last = items[-1]
        next_token = _encode([_plain(getattr(last, name)) for name, _ in ordering])
    return Page(items, next_token)


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, str, float)) or value is None:
        return value
    return str(value)
