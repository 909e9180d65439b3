"""Tag maps in requests: updates (merge, null removes) and the `?tags=` list filter."""
from __future__ import annotations

import json
from contextlib import contextmanager

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from studio.api import errors
from flows.botfile.problems import json_path
from runtime import conversations as records

FILTER_PARAMETER = OpenApiParameter(
    "tags", OpenApiTypes.STR,
    description='JSON object of tags that must all match, e.g. `{"topic":"billing"}` (URL-encoded)',
)


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
    bad = errors.invalid("tags filter is not a JSON object of strings",
                         [errors.detail("$query.tags", 'a JSON object of string values, e.g. {"topic":"billing"}')])
    try:
        wanted = json.loads(raw)
    except ValueError:
        raise bad from None
    if not isinstance(wanted, dict) or not all(isinstance(key, str) and isinstance(value, str)
                                               for key, value in wanted.items()):
        raise bad
    return queryset.filter(tags__contains=wanted) if wanted else queryset
