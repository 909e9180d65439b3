"""Celery task of the Chat API: webhook delivery with retries, off the turn's path."""
from __future__ import annotations

import logging
import threading
import uuid

from celery import shared_task
from django.conf import settings

from . import conf, services, webhooks

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
# Celery's exponential backoff: about 2, 4, 8, 16, 32 s, each drawn at random below that
# (jitter, so receivers that come back are not hit by every retry at once), at most 5 min.
BACKOFF_SECONDS = 2
BACKOFF_MAX_SECONDS = 300
# A receiver's Retry-After (429) is honoured up to this.
RETRY_AFTER_MAX_SECONDS = 600


@shared_task(name="chat_api.deliver_webhook", bind=True, autoretry_for=(webhooks.WebhookFailed,),
             max_retries=MAX_RETRIES, retry_backoff=BACKOFF_SECONDS, retry_backoff_max=BACKOFF_MAX_SECONDS,
             retry_jitter=True)
def deliver_webhook(self, bot_id: str, signal: dict, delivery_id: str | None = None) -> None:
    # Read now, not when enqueued: a URL or secret changed meanwhile applies to retries.
    api = services.api_for_bot(bot_id)
    if api is None or not api.webhook_url:
        return
    try:
        webhooks.post(api.webhook_url, api.webhook_secret, signal, delivery_id=delivery_id or self.request.id)
    except webhooks.WebhookRejected as exc:
        logger.warning("webhook of bot %s not delivered (not retried): %s", bot_id, exc)
    except webhooks.WebhookFailed as exc:
        if exc.retry_after is not None:
            raise self.retry(exc=exc, countdown=min(exc.retry_after, RETRY_AFTER_MAX_SECONDS)) from None
        raise  # autoretry_for: the backoff above


def send_to_webhook(signals: list[dict], *, bot_id: str) -> None:
    """Queue one delivery per signal, each with its delivery id. With eager tasks (the
    embedded default, no worker) they run on a thread so the caller never waits for the
    receiver."""
    deliveries = [(signal, str(uuid.uuid4())) for signal in signals]
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_deliver_now, args=(bot_id, deliveries), daemon=True).start()
        return
    for signal, delivery_id in deliveries:
        deliver_webhook.apply_async((bot_id, signal, delivery_id), **queue_option())


def queue_option() -> dict:
    queue = conf.get("CHAT_API_CELERY_QUEUE")
    return {"queue": queue} if queue else {}


def _deliver_now(bot_id: str, deliveries: list[tuple[dict, str]]) -> None:
    # Eager Celery runs a retry again at once, without the countdown, and with eager
    # propagation on (settings.py) a second retry surfaces as an exception: without a worker
    # a failing delivery is tried twice, then logged (docs/chat-api.md, "Webhook").
    for signal, delivery_id in deliveries:
        try:
            result = deliver_webhook.apply(args=(bot_id, signal, delivery_id), throw=False)
        except Exception as exc:
            logger.warning("webhook of bot %s not delivered without a worker: %s", bot_id, exc)
            continue
        if result.failed():
            logger.warning("webhook of bot %s not delivered without a worker: %s", bot_id, result.result)
