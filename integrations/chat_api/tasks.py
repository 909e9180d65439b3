"""Celery task of the Chat API: webhook delivery with retries, off the turn's path."""
from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.conf import settings

from . import conf, services, webhooks

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


@shared_task(name="chat_api.deliver_webhook", bind=True, max_retries=MAX_RETRIES)
def deliver_webhook(self, bot_id: str, signal: dict) -> None:
    # Read now, not when enqueued: a URL or secret changed meanwhile applies to retries.
    api = services.api_for_bot(bot_id)
    if api is None or not api.webhook_url:
        return
    try:
        webhooks.post(api.webhook_url, api.webhook_secret, signal)
    except webhooks.WebhookFailed as exc:
        if self.request.retries >= MAX_RETRIES:
            logger.warning("webhook of bot %s gave up after %s retries: %s", bot_id, MAX_RETRIES, exc)
            return
        # 2, 4, 8, 16, 32 seconds
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1), **queue_option())


def send_to_webhook(signals: list[dict], *, bot_id: str) -> None:
    """Queue one delivery per signal. With eager tasks (the embedded default, no worker)
    they run on a thread so the caller never waits for the receiver."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_deliver_now, args=(bot_id, signals), daemon=True).start()
        return
    for signal in signals:
        deliver_webhook.apply_async((bot_id, signal), **queue_option())


def queue_option() -> dict:
    queue = conf.get("CHAT_API_CELERY_QUEUE")
    return {"queue": queue} if queue else {}


def _deliver_now(bot_id: str, signals: list[dict]) -> None:
    for signal in signals:
        try:
            deliver_webhook.apply(args=(bot_id, signal))
        except Exception:
            logger.exception("webhook delivery of bot %s failed", bot_id)
