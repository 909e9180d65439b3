"""Tag maps in requests: updates (merge, null removes) and the `?tags=` list filter."""
from __future__ import annotations

from contextlib import contextmanager

from django.db import connections
from django.db.models.fields.json import KeyTransform

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from flows import untrusted_json
from studio.api import errors
from flows.botfile.problems import json_path
from runtime import conversations as records

FILTER_PARAMETER = OpenApiParameter(
    "tags", OpenApiTypes.STR,
    description='JSON object of tags that must all match, e.g. `{"topic":"billing"}` (URL-encoded)',
)
MAX_FILTER_BYTES = 16 * 1024  # about what HTTP servers take in a request line; tags are short


@contextmanager
def tag_errors():
    """Turn a refused tag update into a 400 naming `$.tags.<name>`."""
    try:
        yield
    except records.TagsInvalid as exc:
        path = json_path(["tags", exc.key]) if exc.key is not None else "$.tags"
        raise errors.invalid(str(exc), [errors.detail(path, str(exc))]) from None


def filtered(queryset, request):
    raw = request.query_params.get("tags")
    if raw in (None, ""):
        return queryset
    shape = 'a JSON object of string values, e.g. {"topic":"billing"}'
    try:
        wanted = untrusted_json.decode(raw, max_bytes=MAX_FILTER_BYTES, what="the tags filter")
    except untrusted_json.UntrustedJSON as exc:
        path = "$query.tags" + exc.path[1:]
        raise errors.invalid(f"tags filter: {exc.message}", [errors.detail(path, exc.message)]) from None
    if not isinstance(wanted, dict) or not all(isinstance(key, str) and isinstance(value, str)
                                               for key, value in wanted.items()):
        raise errors.invalid("tags filter is not a JSON object of strings", [errors.detail("$query.tags", shape)])
    return matching(queryset, wanted)


def matching(queryset, wanted: dict[str, str]):
    """Rows whose tags hold every pair of `wanted`. PostgreSQL's jsonb containment (`@>`)
    where the database has it; elsewhere (SQLite, the embedded default) one JSON key lookup
    per pair, which any key can take (no `__` splitting)."""
    if not wanted:
        return queryset
    if connections[queryset.db].features.supports_json_field_contains:
        return queryset.filter(tags__contains=wanted)
    for index, (key, value) in enumerate(wanted.items()):
        # An alias, not `tags__<key>`: a key may hold "__" or be named like a lookup.
        alias = f"_tag_{index}"
        queryset = queryset.alias(**{alias: KeyTransform(key, "tags")}).filter(**{alias: value})
    return queryset
