"""Celery tasks of the messaging channels: stored updates made events and their turns run
(inbound.py), and the replies of one conversation to its channel, with Celery's retries
(backoff with jitter; a 429's Retry-After honoured)."""
from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections

from . import inbound, sending
from .kinds import SendFailed

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
# About 2, 4, 8, 16, 32 s, each drawn at random below that (jitter), at most 5 min.
BACKOFF_SECONDS = 2
BACKOFF_MAX_SECONDS = 300
# A channel's Retry-After (429) is honoured up to this.
RETRY_AFTER_MAX_SECONDS = 600


@shared_task(name="messaging.ingest")
def ingest_updates(update_ids) -> int:
    """The stored updates as their conversations' events, then the turns (inbound.py)."""
    return inbound.ingest_and_process(update_ids)


@shared_task(name="messaging.sweep_inbound")
def sweep_inbound() -> int:
    """Updates stored whose ingestion was never queued or was lost (inbound.sweep)."""
    return inbound.sweep()


@shared_task(name="messaging.deliver", bind=True, autoretry_for=(SendFailed,), max_retries=MAX_RETRIES,
             retry_backoff=BACKOFF_SECONDS, retry_backoff_max=BACKOFF_MAX_SECONDS, retry_jitter=True)
def deliver(self, conversation_pk) -> int:
    retries = self.request.retries or 0
    try:
        return sending.deliver_pending(conversation_pk, attempts=retries + 1, last_attempt=retries >= MAX_RETRIES)
    except SendFailed as exc:
        if exc.retry_after is not None:
            raise self.retry(exc=exc, countdown=min(exc.retry_after, RETRY_AFTER_MAX_SECONDS)) from None
        raise  # autoretry_for: the backoff above


def schedule_delivery(conversation_pk) -> None:
    """Queue the conversation's delivery. Without a worker (eager tasks, the embedded
    default) it runs on a thread, so the turn that made the replies never waits on the
    channel."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_deliver_now, args=(conversation_pk,), daemon=True, name="messaging-send").start()
        return
    deliver.apply_async((conversation_pk,), **queue_option())


def queue_option() -> dict:
    queue = getattr(settings, "FLOWSTUDIO_CHANNELS_CELERY_QUEUE", "")
    return {"queue": queue} if queue else {}


def _deliver_now(conversation_pk) -> None:
    # Eager Celery runs a retry again at once, without its countdown, and with eager
    # propagation on (settings.py) a second retry surfaces as an exception: without a worker
    # a reply the channel cannot take now is tried a few times in a row, then once more as
    # the last attempt, which records it (DeliveryFailure) and lets the replies behind it go.
    try:
        result = deliver.apply(args=(conversation_pk,), throw=False)
        failed = result.failed()
    except Exception:
        failed = True
    try:
        if failed:
            sending.deliver_pending(conversation_pk, attempts=MAX_RETRIES + 1, last_attempt=True)
    except Exception:
        logger.exception("replies of conversation %s not delivered without a worker", conversation_pk)
    finally:
        close_old_connections()


@shared_task(name="messaging.fetch_media", bind=True, autoretry_for=(SendFailed,), max_retries=MAX_RETRIES,
             retry_backoff=BACKOFF_SECONDS, retry_backoff_max=BACKOFF_MAX_SECONDS, retry_jitter=True)
def fetch_media(self, message_pk) -> bool:
    from . import media

    return media.fetch(message_pk) is not None


def schedule_fetch_media(message_pk) -> None:
    """Queue a user medium's download; without a worker, on a thread (never on the
    acknowledgement's way)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_fetch_now, args=(message_pk,), daemon=True, name="messaging-media").start()
        return
    fetch_media.apply_async((message_pk,), **queue_option())


def _fetch_now(message_pk) -> None:
    from . import media

    try:
        for attempt in range(MAX_RETRIES + 1):  # the retries at once, as eager Celery runs them
            try:
                media.fetch(message_pk)
                return
            except SendFailed as exc:
                if attempt == MAX_RETRIES:
                    logger.warning("medium of message %s not downloaded after %s attempts: %s", message_pk,
                                   attempt + 1, exc)
    except Exception:
        logger.exception("medium of message %s not downloaded without a worker", message_pk)
    finally:
        close_old_connections()
