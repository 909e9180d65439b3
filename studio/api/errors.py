"""One JSON shape for every error the API returns (docs/rest-api.md, "Errors"):

    {"error": {"code": "invalid", "message": "...", "details": [{"path": "$.name", "message": "..."}]}}

`path` is a JSON path into the request body (or `$query.<name>` / `$path.<name>` for query
and path parameters). Some errors add fields beside `code` (a 409 stale save carries
`currentRevision` and `changes`). Anything unexpected is logged and answered with the same
shape and status 500, never an HTML page.
"""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from flows.botfile.problems import json_path

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with a code, a message, details and optional extra fields."""

    def __init__(self, message: str, *, status_code: int, code: str, details=None, **extra):
        super().__init__(message, code)
        self.status_code = status_code
        self.code = code
        self.details = list(details or [])
        self.extra = extra


def invalid(message: str, details=None, *, code: str = "invalid") -> ApiError:
    return ApiError(message, status_code=status.HTTP_400_BAD_REQUEST, code=code, details=details)


def not_found(message: str) -> ApiError:
    return ApiError(message, status_code=status.HTTP_404_NOT_FOUND, code="not_found")


def conflict(message: str, *, code: str = "conflict", details=None, **extra) -> ApiError:
    return ApiError(message, status_code=status.HTTP_409_CONFLICT, code=code, details=details, **extra)


def too_large(message: str, details=None) -> ApiError:
    return ApiError(message, status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="payload_too_large",
                    details=details)


def detail(path: str, message: str) -> dict:
    return {"path": path, "message": str(message)}


def problem_details(problems, *, under: list | None = None) -> list[dict]:
    """Bot-file problems (paths rooted at the bot file) as details rooted at the request body,
    where the bot file sits at `under` (e.g. ["definition"])."""
    prefix = json_path(under or [])
    return [detail(prefix + problem.path[1:], problem.message) for problem in problems]


def body(code: str, message: str, details=(), **extra) -> dict:
    return {"error": {"code": code, "message": message, "details": list(details), **extra}}


def _flatten(data, parts: list) -> list[dict]:
    """DRF's nested validation errors as (JSON path, message) pairs."""
    if isinstance(data, dict):
        found = []
        for key, value in data.items():
            found += _flatten(value, parts if key == "non_field_errors" else parts + [str(key)])
        return found
    if isinstance(data, list):
        if all(not isinstance(item, (dict, list)) for item in data):
            return [detail(json_path(parts), item) for item in data]
        found = []
        for index, item in enumerate(data):
            found += _flatten(item, parts + [index])
        return found
    return [detail(json_path(parts), data)]


def _summary(details: list[dict]) -> str:
    if not details:
        return "the request is invalid"
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{first['path']}: {first['message']}{more}"


def handle(exc, context):
    """DRF exception handler: every error in the shape above."""
    headers = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "your role does not allow this")
    elif isinstance(exc, RequestDataTooBig):
        exc = too_large("the request body is too large")

    if isinstance(exc, ApiError):
        payload = body(exc.code, str(exc.detail), exc.details, **exc.extra)
        return Response(payload, status=exc.status_code)
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, exceptions.ValidationError):
            details = _flatten(exc.detail, [])
            payload = body("invalid", _summary(details), details)
        else:
            code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
            payload = body(code, str(exc.detail))
        return Response(payload, status=exc.status_code, headers=headers)

    view = context.get("view")
    logger.exception("unexpected error in %s", type(view).__name__ if view else "the API")
    return Response(body("server_error", "something went wrong on the server; it has been logged"),
                    status=status.HTTP_500_INTERNAL_SERVER_ERROR)


@csrf_exempt  # any method may land here; a CSRF refusal would answer 403 in HTML instead of 404
def unknown_endpoint(request, path=""):
    """The API's answer for a URL it does not have (plain Django view: nothing to resolve)."""
    hint = ""
    if request.path.endswith("/") and len(request.path) > 1:
        hint = " (API paths have no trailing slash)"
    return JsonResponse(body("not_found", f"no API endpoint at {request.path}{hint}"), status=404)
