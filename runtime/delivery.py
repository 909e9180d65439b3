"""Live delivery: after a transaction commits, tell every subscriber (Chat API listeners,
webhooks, the webchat and emulator websockets) which messages a conversation gained.

The turn service calls `publish` from `transaction.on_commit`, so subscribers only ever see
committed rows, in seq order per conversation. A subscriber that fails is logged and skipped:
delivery is best effort, the stored transcript is the truth and clients resume from it by seq.
"""
from __future__ import annotations

import logging
from typing import Callable

logger = logging.getLogger(__name__)

Subscriber = Callable[["object", list], None]
_subscribers: list[Subscriber] = []


def subscribe(callback: Subscriber) -> Subscriber:
    """Register `callback(conversation, messages)`; idempotent, so AppConfig.ready() may call it."""
    if callback not in _subscribers:
        _subscribers.append(callback)
    return callback


def unsubscribe(callback: Subscriber) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


def publish(conversation, messages: list) -> None:
    if not messages:
        return
    for callback in list(_subscribers):
        try:
            callback(conversation, messages)
        except Exception:
            logger.exception("delivery subscriber %r failed for conversation %s",
                             getattr(callback, "__qualname__", callback), conversation.pk)
