"""Chat API errors, in the shape the `@botpress/chat` client parses.

The client (`errorFrom` in its dist) turns a response body into a typed error only when it
has `id`, `code`, `type` and `message`; anything else becomes an "Unknown" error. The body
also carries Botpress's documented `description` and `status`, so raw HTTP callers reading
either convention find what they expect:

    {"id": "err_20260101120000xA1B2C3D4", "code": 404, "type": "ResourceNotFound",
     "message": "conversation 'c1' does not exist", "description": "...", "status": 404}
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

DESCRIPTIONS = {
    "InvalidPayload": (400, "The request payload is invalid."),
    "Unauthorized": (401, "The request requires to be authenticated."),
    "Forbidden": (403, "The requested action can't be performed by this resource."),
    "ResourceNotFound": (404, "The requested resource does not exist."),
    "MethodNotFound": (405, "The requested method does not exist."),
    "AlreadyExists": (409, "The resource already exists."),
    "PayloadTooLarge": (413, "The request payload is too large."),
    "UnsupportedMediaType": (415, "The request is invalid because the content-type is not supported."),
    "RateLimited": (429, "The request has been rate limited."),
    "Internal": (500, "An internal error occurred."),
}


class ChatApiError(Exception):
    type = "Internal"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def status(self) -> int:
        return DESCRIPTIONS[self.type][0]

    def body(self) -> dict:
        status, description = DESCRIPTIONS[self.type]
        return {"id": _error_id(), "code": status, "type": self.type, "message": self.message,
                "description": description, "status": status}


class InvalidPayload(ChatApiError):
    type = "InvalidPayload"


class Unauthorized(ChatApiError):
    type = "Unauthorized"


class Forbidden(ChatApiError):
    type = "Forbidden"


class NotFound(ChatApiError):
    type = "ResourceNotFound"


class MethodNotFound(ChatApiError):
    type = "MethodNotFound"


class AlreadyExists(ChatApiError):
    type = "AlreadyExists"


class PayloadTooLarge(ChatApiError):
    type = "PayloadTooLarge"


class UnsupportedMediaType(ChatApiError):
    type = "UnsupportedMediaType"


def _error_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    return f"err_{stamp}x{secrets.token_hex(4).upper()}"
