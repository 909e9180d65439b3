"""The outgoing webhook: each signal is POSTed as JSON to the bot's webhook URL, signed
with the webhook secret so the receiver can tell it came from this studio.

    POST <webhook URL>
    Content-Type: application/json
    X-Chat-Webhook-Timestamp: 1767268800
    X-Chat-Webhook-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

    {"type": "message_created", "data": {...}}

Receivers recompute the HMAC over the raw body and compare in constant time, and refuse
timestamps older than a few minutes (replays). The secret itself never travels.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 5.0
USER_AGENT = "Flowstudio-ChatAPI-Webhook/1"


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
    """Worth retrying: the receiver was unreachable or answered with an error."""


def post(url: str, secret: str, signal: dict) -> int:
    body = json.dumps(signal, separators=(",", ":")).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Chat-Webhook-Timestamp": str(timestamp),
        "X-Chat-Webhook-Signature": sign(secret, timestamp, body),
    })
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"{url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookFailed(f"{url} is unreachable: {exc}") from None
