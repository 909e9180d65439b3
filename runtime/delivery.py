"""Live delivery: after a transaction commits, tell every subscriber (Chat API listeners,
webhooks, the webchat and emulator websockets) which messages a conversation gained.

The turn service calls `publish` from `transaction.on_commit`, so subscribers only ever see
committed rows, in seq order per conversation. A subscriber that fails is logged and skipped:
delivery is best effort, the stored transcript is the truth and clients resume from it by seq.

Messages of type "event" (`Message.is_event`) are custom events, not things to show: the
user's own (Chat API createEvent, the webchat page's sendEvent) and those a Send Event card
emitted. Deleted messages go to the separate `subscribe_deletions` subscribers.
"""
from __future__ import annotations

import logging
from typing import Callable

logger = logging.getLogger(__name__)

Subscriber = Callable[["object", list], None]
_subscribers: list[Subscriber] = []
_deletion_subscribers: list[Subscriber] = []


def subscribe(callback: Subscriber) -> Subscriber:
    """Register `callback(conversation, messages)`; idempotent, so AppConfig.ready() may call it."""
    if callback not in _subscribers:
        _subscribers.append(callback)
    return callback


def unsubscribe(callback: Subscriber) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


def subscribe_deletions(callback: Subscriber) -> Subscriber:
    """Register `callback(conversation, messages)` for messages deleted (after commit; the
    instances keep their `pk`, `seq` and fields)."""
    if callback not in _deletion_subscribers:
        _deletion_subscribers.append(callback)
    return callback


def unsubscribe_deletions(callback: Subscriber) -> None:
    if callback in _deletion_subscribers:
        _deletion_subscribers.remove(callback)


def publish(conversation, messages: list) -> None:
    _notify(_subscribers, conversation, messages)


def publish_deleted(conversation, messages: list) -> None:
    _notify(_deletion_subscribers, conversation, messages)


def _notify(subscribers: list[Subscriber], conversation, messages: list) -> None:
    if not messages:
        return
    for callback in list(subscribers):
        try:
            callback(conversation, messages)
        except Exception:
            logger.exception("delivery subscriber %r failed for conversation %s",
                             getattr(callback, "__qualname__", callback), conversation.pk)
