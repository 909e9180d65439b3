"""Request body parsers with a size limit (413 beyond it) and strict JSON.

DRF's JSON parser reads the stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not
apply; the limit is enforced here instead, before anything is parsed.
"""
from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from studio.api import errors
from flows.services import nul_character_path

# A 300-node bot file is about 150 KB; 5 MB leaves room for big knowledge-base sections.
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024


def max_body_bytes() -> int:
    return getattr(settings, "FLOWSTUDIO_API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)


def read_limited(stream, request_meta) -> bytes:
    limit = max_body_bytes()
    try:
        declared = int(request_meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise errors.too_large(f"the request body is {declared} bytes; the limit is {limit}")
    data = stream.read(limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise errors.too_large(f"the request body is over the {limit} byte limit")
    return data


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def refuse_nul(value) -> None:
    path = nul_character_path(value)
    if path is not None:
        raise errors.invalid("text may not contain the NUL character (\\u0000)",
                             [errors.detail(path, "contains the NUL character (\\u0000)")])


class LimitedJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        raw = read_limited(stream, request.META)
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except UnicodeDecodeError:
            raise ParseError("the body is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"invalid JSON: {exc}") from None
        refuse_nul(data)
        return data


class BotFileParser(BaseParser):
    """The body as bytes, for endpoints that hand a whole bot file to the validator (which
    reports bad JSON with its line and column in the same problem list as everything else)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return read_limited(stream, parser_context["request"].META)
