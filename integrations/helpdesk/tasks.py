"""Celery tasks of the help desk: forwarding a handed-off conversation to the desk (Celery's
retries with backoff and jitter; a 429's Retry-After honoured) and handing one back to the
bot when the desk resolves it."""
from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

# The channels' retry policy and queue (docs/channels.md, "Outbound"): a desk is called
# like a channel's API.
from integrations.messaging.tasks import (BACKOFF_MAX_SECONDS, BACKOFF_SECONDS, MAX_RETRIES,
                                         RETRY_AFTER_MAX_SECONDS, queue_option)

from . import services
from .chatwoot import Unavailable

logger = logging.getLogger(__name__)


@shared_task(name="helpdesk.forward", bind=True, autoretry_for=(Unavailable,), max_retries=MAX_RETRIES,
             retry_backoff=BACKOFF_SECONDS, retry_backoff_max=BACKOFF_MAX_SECONDS, retry_jitter=True)
def forward(self, conversation_pk) -> int:
    try:
        return services.forward(conversation_pk)
    except Unavailable as exc:
        if exc.retry_after is not None:
            raise self.retry(exc=exc, countdown=min(exc.retry_after, RETRY_AFTER_MAX_SECONDS)) from None
        raise  # autoretry_for: the backoff above


@shared_task(name="helpdesk.close", bind=True, autoretry_for=(Unavailable,), max_retries=MAX_RETRIES,
             retry_backoff=BACKOFF_SECONDS, retry_backoff_max=BACKOFF_MAX_SECONDS, retry_jitter=True)
def close(self, conversation_pk) -> bool:
    return services.close(conversation_pk)


@shared_task(name="helpdesk.hand_back")
def hand_back(conversation_pk) -> int:
    return len(services.hand_back(conversation_pk))


def schedule_forward(conversation_pk) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        services.run_on_thread(_at_once(services.forward, "forwarded"), conversation_pk, "helpdesk-forward")
        return
    forward.apply_async((conversation_pk,), **queue_option())


def schedule_close(conversation_pk) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        services.run_on_thread(_at_once(services.close, "resolved"), conversation_pk, "helpdesk-close")
        return
    close.apply_async((conversation_pk,), **queue_option())


def schedule_hand_back(conversation_pk) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        services.run_on_thread(services.hand_back, conversation_pk, "helpdesk-hand-back")
        return
    hand_back.apply_async((conversation_pk,), **queue_option())


def _at_once(work, what: str):
    """Without a worker: as eager Celery does, the retries run at once, without their wait
    (eager retries raise instead of retrying once propagation is on: settings.py); a desk
    still down after them is tried again at the conversation's next message."""
    def run(conversation_pk) -> None:
        for attempt in range(MAX_RETRIES + 1):
            try:
                work(conversation_pk)
                return
            except Unavailable as exc:
                if attempt == MAX_RETRIES:
                    logger.warning("help desk: conversation %s not %s after %s attempts: %s", conversation_pk,
                                   what, attempt + 1, exc)
    return run
