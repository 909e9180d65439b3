"""The one way a channel kind calls its channel's API: JSON over the outbound guard
(runtime/outbound.py), the answer sorted into sent, retried or refused."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from runtime import outbound

from . import SendFailed, SendRejected

TOTAL_SECONDS = 15.0
MAX_ANSWER_BYTES = 256 * 1024
# Retried: no answer, 5xx, 408 and 429. Another 4xx refuses this message; asking again
# would get the same answer.
RETRIED_4XX = {408, 429}
# A Retry-After above this is cut to it (the task's own cap applies on top).
RETRY_AFTER_MAX_SECONDS = 600.0


def post_json(url: str, payload: dict, *, headers: dict | None = None, body: bytes | None = None,
              shown_url: str | None = None, retried=None) -> tuple[int, dict]:
    """POST `payload` (or the exact `body`); (status, answer JSON or {}) when it is a success.
    `shown_url` is the URL as errors may name it (Telegram's holds the bot token)."""
    content = body if body is not None else json.dumps(payload, separators=(",", ":")).encode()
    return call_api("POST", url, headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
                    content=content, shown_url=shown_url, retried=retried)


def post_form(url: str, fields: list[tuple[str, str]], *, headers: dict | None = None,
              shown_url: str | None = None, retried=None) -> tuple[int, dict]:
    """POST an HTML form (Twilio's REST API takes those; a field may repeat, as MediaUrl does)."""
    return call_api("POST", url, headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
                    content=urlencode(fields).encode(), shown_url=shown_url, retried=retried)


def get_json(url: str, *, headers: dict | None = None, shown_url: str | None = None) -> tuple[int, dict]:
    return call_api("GET", url, headers=headers or {}, content=None, shown_url=shown_url)


def call_api(method: str, url: str, *, headers: dict, content: bytes | None, shown_url: str | None = None,
             retried=None) -> tuple[int, dict]:
    """One request through the outbound guard, sorted into a success, SendFailed (retried)
    or SendRejected. `retried(status, answer)` says a 4xx answer is worth retrying anyway
    (the Graph API reports its rate limits as 400s with an error code)."""
    shown = shown_url or url
    try:
        reply = outbound.request(method, url, headers=headers, content=content, max_bytes=MAX_ANSWER_BYTES,
                                 total_seconds=TOTAL_SECONDS)
    except outbound.OutboundRefused as exc:
        raise SendRejected(f"{shown} refused by the outbound guard: {exc}") from None
    except outbound.OutboundFailed as exc:
        raise SendFailed(str(exc).replace(url, shown)) from None
    try:
        answer = json.loads(reply.body) if reply.body else {}
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if reply.status < 400:
        return reply.status, answer
    message = f"{shown} answered {reply.status}: {error_detail(answer, reply.body)}".rstrip(": ")
    if reply.status >= 500 or reply.status in RETRIED_4XX or (retried is not None and retried(reply.status, answer)):
        raise SendFailed(message, status=reply.status, retry_after=retry_after(reply, answer))
    raise SendRejected(message, status=reply.status)


def error_detail(answer: dict, body: bytes) -> str:
    """The channel's own words for an error: Telegram's `description`, Slack's `error`, the
    Graph API's `error.message` (with its code), Twilio's `message` (with its code)."""
    error = answer.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        return f"{error.get('message', '')}" + (f" (code {code})" if code is not None else "")
    if answer.get("description") or error:
        return str(answer.get("description") or error)
    if answer.get("message"):
        code = answer.get("code")
        return f"{answer['message']}" + (f" (code {code})" if code is not None else "")
    return body[:200].decode("utf-8", "replace")


def retry_after(reply, answer: dict) -> float | None:
    """Seconds from a Retry-After header, or Telegram's `parameters.retry_after`."""
    value = reply.headers.get("retry-after")
    if value is None:
        value = (answer.get("parameters") or {}).get("retry_after") if isinstance(answer.get("parameters"), dict) else None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_SECONDS)
