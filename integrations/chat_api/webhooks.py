"""The outgoing webhook: each signal is POSTed as JSON to the bot's webhook URL, signed
with the webhook secret so the receiver can tell it came from this studio.

    POST <webhook URL>
    Content-Type: application/json
    X-Chat-Webhook-Delivery: <uuid, the same on every retry of one signal>
    X-Chat-Webhook-Timestamp: 1767268800
    X-Chat-Webhook-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

    {"type": "message_created", "data": {...}}

Receivers recompute the HMAC over the raw body and compare in constant time, refuse
timestamps older than a few minutes (replays), and skip a delivery id they have seen (a
retry after an answer that got lost). The secret itself never travels.

The request goes through the outbound guard (runtime/outbound.py): a URL pointing into the
server's own network is refused when saved and again when sent.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

from runtime import outbound

USER_AGENT = "Flowstudio-ChatAPI-Webhook/1"
# A receiver has this long to answer; what it answers is read up to 64 KB and ignored.
TOTAL_SECONDS = 10.0
MAX_ANSWER_BYTES = 64 * 1024
# Retried: no answer, 5xx, 408 Request Timeout and 429 Too Many Requests. Other 4xx mean
# the receiver refuses this delivery, and asking again would get the same answer.
RETRIED_4XX = {408, 429}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance_seconds: int = 300) -> bool:
    """What a receiver does (used by the tests and shown in docs/chat-api.md)."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - stamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature or "")


class WebhookFailed(Exception):
    """Worth retrying: the receiver was unreachable or answered 5xx, 408 or 429."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class WebhookRejected(Exception):
    """Not retried: the receiver answered another 4xx, or the URL is refused by the guard."""


def post(url: str, secret: str, signal: dict, *, delivery_id: str) -> int:
    body = json.dumps(signal, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Chat-Webhook-Delivery": delivery_id,
        "X-Chat-Webhook-Timestamp": str(timestamp),
        "X-Chat-Webhook-Signature": sign(secret, timestamp, body),
    }
    try:
        reply = outbound.request("POST", url, headers=headers, content=body, max_bytes=MAX_ANSWER_BYTES,
                                 total_seconds=TOTAL_SECONDS)
    except outbound.OutboundRefused as exc:
        raise WebhookRejected(f"webhook URL refused: {exc}") from None
    except outbound.OutboundFailed as exc:
        raise WebhookFailed(str(exc)) from None
    if reply.status < 400:
        return reply.status
    if reply.status >= 500 or reply.status in RETRIED_4XX:
        raise WebhookFailed(f"{url} answered {reply.status}", _retry_after(reply.headers.get("retry-after")))
    raise WebhookRejected(f"{url} answered {reply.status}")


def _retry_after(value: str | None) -> float | None:
    # Seconds only: an HTTP date is rare from webhook receivers, and then the backoff applies.
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
