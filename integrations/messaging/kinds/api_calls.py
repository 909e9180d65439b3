"""The one way a channel kind calls its channel's API: JSON over the outbound guard
(runtime/outbound.py), the answer sorted into sent, retried or refused."""
from __future__ import annotations

import json

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
              shown_url: str | None = None) -> tuple[int, dict]:
    """POST `payload` (or the exact `body`); (status, answer JSON or {}) when it is a success.
    `shown_url` is the URL as errors may name it (Telegram's holds the bot token)."""
    shown = shown_url or url
    content = body if body is not None else json.dumps(payload, separators=(",", ":")).encode()
    try:
        reply = outbound.request("POST", url, headers={"Content-Type": "application/json; charset=utf-8",
                                                       **(headers or {})},
                                 content=content, max_bytes=MAX_ANSWER_BYTES, total_seconds=TOTAL_SECONDS)
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
    detail = answer.get("description") or answer.get("error") or reply.body[:200].decode("utf-8", "replace")
    message = f"{shown} answered {reply.status}: {detail}".rstrip(": ")
    if reply.status >= 500 or reply.status in RETRIED_4XX:
        raise SendFailed(message, status=reply.status, retry_after=retry_after(reply, answer))
    raise SendRejected(message, status=reply.status)


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
